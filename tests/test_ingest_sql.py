"""The checks and typing of ingest run as SQL over a staged table (evaluator/ingest/validate.py):
numbers are read as polars read them (the earlier implementation, kept here as the reference),
periods by the documented rule, and a load leaves neither staging tables nor a changed memory
limit behind, accepted or rejected."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.ingest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.ingest import IngestRejected, ingest_file
from evaluator.ingest.kinds import get_kind
from evaluator.ingest.validate import PERIOD_RE, typed
from evaluator.store import connect

NUMBER = get_kind("outcomes").column("value")
SAMPLES = ["1", "-3", "1.5", ".5", "5.", "+3", "1e5", "1E5", "1e308", "1e309", "inf", "-inf",
           "NaN", "nan", "0x10", "1_000", "1,234", "12 分", "１２", "١٢", "0101", "e5", "1e",
           "--1", "1.2.3", "INFINITY", "+nan", "1.5e-400", "-0", "0b1", "1d", "1f"]


CON = duckdb.connect()


def _sql_numbers(values: list[str]) -> list[float | None]:
    CON.register("v", pl.DataFrame({"x": values}, schema={"x": pl.String}).to_arrow())
    try:
        return [r[0] for r in CON.execute(f"SELECT {typed(NUMBER, 'x')} FROM v").fetchall()]
    finally:
        CON.unregister("v")


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and a != a and b != b)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.sampled_from(SAMPLES),
                          st.text(alphabet="0123456789+-.eE_ infa", max_size=8)), min_size=1))
def test_numbers_are_read_as_polars_reads_them(values: list[str]) -> None:
    texts = [v.strip() or None for v in values]  # the staged cell: trimmed, empty → NULL
    reference = pl.Series(texts, dtype=pl.String).cast(pl.Float64, strict=False).to_list()
    got = _sql_numbers([t for t in texts if t is not None])
    it = iter(got)
    for ref, text in zip(reference, texts, strict=True):
        if text is not None:
            mine = next(it)
            assert _same(mine, ref), (text, mine, ref)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="0123456789Q-", max_size=8))
def test_period_rule_is_the_same_in_sql_and_python(text: str) -> None:
    import re

    got = CON.execute("SELECT regexp_matches(?, ?)", [text, PERIOD_RE]).fetchall()[0][0]
    assert got == bool(re.search(PERIOD_RE, text))


def _leftovers(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]


def test_a_load_leaves_no_staging_table_and_the_memory_limit_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    con = connect(db)
    con.execute("SET memory_limit = '3GiB'")  # a limit the connection set for itself
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()
    ingest_file(con, "units", DATA / "units.csv", db_path=db)
    bad = tmp_path / "o.csv"
    bad.write_text("unit_id,period,measure,value\n0101,2026,a,x\n0101,2026,a,1\n")
    with pytest.raises(IngestRejected) as info:
        ingest_file(con, "outcomes", bad, db_path=db, rejects=tmp_path)
    reasons = [(p.row, p.column, p.reason.split(" /")[0]) for p in info.value.reasons]
    assert (2, "value", "not a number") in reasons
    assert _leftovers(con) == []
    assert con.execute("SELECT current_setting('memory_limit')").fetchall() == before
    assert con.execute("SELECT count(*) FROM outcomes").fetchall() == [(0,)]
    con.close()


def test_duplicate_keys_are_found_among_the_rows_that_pass_the_row_checks(
        tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    con = connect(db)
    ingest_file(con, "units", DATA / "units.csv", db_path=db)
    path = tmp_path / "o.csv"
    # rows 2 and 4 share a key; row 3 has the same key but a bad value, so it is not counted
    path.write_text("unit_id,period,measure,value\n0101,2026,a,1\n0101,2026,a,zz\n"
                    "0101,2026.0,a,2\n")
    with pytest.raises(IngestRejected) as info:
        ingest_file(con, "outcomes", path, db_path=db, rejects=tmp_path)
    got = sorted((p.row, p.column, p.reason.split(" /")[0]) for p in info.value.reasons)
    assert got == [(3, "value", "not a number"),
                   (4, "unit_id+period+measure",
                    "duplicate key (unit_id, period, measure): same as row 2")]
    con.close()
