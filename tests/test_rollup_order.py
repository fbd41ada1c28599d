"""The roll-ups rely on DuckDB folding an ordered SUM of doubles left to right with plain
addition (no Kahan, no pairwise sum): that is what the Spark engine replays, bit for bit."""

from __future__ import annotations

import functools
import operator

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
rows = st.lists(st.tuples(st.integers(0, 30), finite), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(rows=rows, extreme=st.booleans())
def test_ordered_sum_is_a_left_fold(rows: list[tuple[int, float]], extreme: bool) -> None:
    if extreme:  # cancellation: what compensated or pairwise sums would change
        rows = [*rows, (31, 1e16), (32, 1.0), (33, -1e16), (34, 0.1), (35, 0.2)]
    con = duckdb.connect()
    frame = pl.DataFrame(rows, schema={"k": pl.Int64, "v": pl.Float64}, orient="row")
    con.register("t", frame.reverse())  # arrival order must not matter
    got = con.execute("SELECT SUM(v ORDER BY k, v) FROM t").fetchone()
    assert got is not None
    expected = functools.reduce(operator.add, (v for _, v in sorted(rows)), 0.0)
    assert got[0] == expected or (got[0] != got[0] and expected != expected)
