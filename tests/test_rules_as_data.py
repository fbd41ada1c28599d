"""Rules as data (scoring/rules.py): the parameter table joined to the values with a CASE over the
rule kinds gives, bit for bit, the scores of the reference form (a CASE over the indicators with
their parameters as SQL literals), for random schemes mixing every rule type and option."""

from __future__ import annotations

import struct

import duckdb
import hypothesis.strategies as st
import pytest
from helpers.scoring import add_targets, add_units, add_values, dimension, indicator, make_scheme
from hypothesis import HealthCheck, given, settings

from evaluator.scoring import score_run
from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.rules import INDICATOR_SCORES, literal_diff, rule_table, score_indicators
from evaluator.store import connect

# numbers whose SQL literals take every path: DECIMAL of several scales, DOUBLE (exponent),
# zero of both signs, values past 2**53 once scaled
NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 100.0, 0.1, 0.3, 1e-05, 2.5e-07, 12345.678,
                     0.30000000000000004, 1e15, 3.0000000000000004]),
    st.floats(-1000, 1000, allow_nan=False),
)
DUCK = duckdb.connect()  # a bare engine: only literals are evaluated
WITHIN = st.sampled_from(["all", "peer_group"])


@st.composite
def rules(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["min_max", "goalposts", "target", "bands", "percentile",
                                 "zscore", "fraction_of_max", "reference_unit", "efficacy",
                                 "deduction", "pass_fail", "direct"]))
    if kind == "min_max":
        rule = {"type": kind, "within": draw(WITHIN)}
        if draw(st.booleans()):
            rule["range"] = draw(st.sampled_from([[0, 100], [10, 90], [0.5, 99.7]]))
        return rule
    if kind == "goalposts":
        lo = draw(NUMBERS)
        return {"type": kind, "lower": lo, "upper": lo + draw(st.sampled_from([0.2, 1, 7.3])),
                "clamp": draw(st.booleans())}
    if kind == "target":
        return {"type": kind, **({"target": draw(NUMBERS)} if draw(st.booleans()) else {})}
    if kind == "bands":
        bands = draw(st.lists(st.fixed_dictionaries({
            "threshold": NUMBERS, "score": st.sampled_from([0, 33.3, 50, 66.7, 100])}),
            min_size=1, max_size=4))
        return {"type": kind, "bands": bands, "otherwise": draw(st.sampled_from([0, 10.5]))}
    if kind == "percentile":
        return {"type": kind, "within": draw(WITHIN),
                "ties": draw(st.sampled_from(["average", "min", "max"]))}
    if kind == "zscore":
        return {"type": kind, "within": draw(WITHIN), "center": draw(NUMBERS),
                "spread": draw(st.sampled_from([15, 0.3, 2.5])), "clamp": draw(st.booleans())}
    if kind == "fraction_of_max":
        return {"type": kind, "within": draw(WITHIN)}
    if kind == "reference_unit":
        return {"type": kind, "unit": "u01", "clamp": draw(st.booleans())}
    if kind == "efficacy":
        rule = {"type": kind, "floor": draw(st.sampled_from([0, 20]))}
        for k in ("good", "bad"):
            if draw(st.booleans()):
                rule[k] = draw(NUMBERS)
        return rule
    if kind == "deduction":
        return {"type": kind, "points": draw(st.sampled_from([1, 2.5, 0.3])),
                "floor": draw(st.sampled_from([0, 40]))}
    if kind == "pass_fail":
        return {"type": kind, "threshold": draw(NUMBERS),
                "fail_score": draw(st.sampled_from([0, 40.5]))}
    return {"type": "direct"}


def _bits(rows: list[tuple]) -> list[tuple]:
    return [(u, i, None if s is None else struct.pack("<d", s)) for u, i, s in rows]


def _scores(con) -> list[tuple]:
    return _bits(con.execute(f"SELECT unit_id, indicator_id, score FROM {INDICATOR_SCORES} "
                             "ORDER BY unit_id, indicator_id").fetchall())


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(st.tuples(rules(), st.sampled_from(["higher", "lower"])), min_size=1,
                   max_size=24),
    values=st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.0, 5.0]),
                              st.floats(-50, 500, allow_nan=False)), min_size=5, max_size=9),
)
def test_rules_as_data_score_bit_for_bit_as_the_literal_form(specs, values) -> None:
    con = connect(":memory:")
    try:
        units = [(f"u{k:02d}", "a" if k % 2 else "b") for k in range(1, len(values) + 1)]
        add_units(con, units)
        add_values(con, "x", {u: v for (u, _), v in zip(units, values, strict=True)})
        add_targets(con, "x", {u: abs(v) - 3 for (u, _), v in zip(units, values, strict=True)})
        inds = [indicator(f"i{k}", measure="x", rule=rule, direction=direction)
                for k, (rule, direction) in enumerate(specs)]
        loaded = make_scheme([dimension("d", inds)])
        score_run(con, loaded, "2026", publish_snapshot=False)
        as_data = _scores(con)
        score_indicators(DuckDBEngine(con), loaded.scheme, as_data=False)
        assert _scores(con) == as_data
    finally:
        con.close()


@given(a=NUMBERS, b=NUMBERS)
@settings(max_examples=200, deadline=None)
def test_literal_diff_is_what_duckdb_computes_from_the_literals(a: float, b: float) -> None:
    from evaluator.scoring.engine import lit

    sql = f"SELECT CAST(({lit(a).sql('duckdb')}) - ({lit(b).sql('duckdb')}) AS DOUBLE)"
    got = DUCK.execute(sql).fetchall()[0][0]
    assert struct.pack("<d", literal_diff(a, b)) == struct.pack("<d", got)


def test_the_rule_table_has_one_row_per_indicator_and_few_kinds() -> None:
    inds = [indicator(f"g{k}", measure="x", rule={"type": "goalposts", "lower": k, "upper": k + 1})
            for k in range(500)]
    inds += [indicator(f"b{k}", measure="x", rule={"type": "bands", "bands": [
        {"threshold": k, "score": 100}, {"threshold": k / 2, "score": 50}]}) for k in range(500)]
    frame, kinds = rule_table(make_scheme([dimension("d", inds)]).scheme.indicators())
    assert frame.height == 1000
    assert sorted(kinds) == ["bands:higher:2", "goalposts:higher:True"]
    assert frame.filter(frame["indicator_id"] == "g7")["span"].to_list() == [1.0]
    # the best band first, as the literal CASE tries them
    assert frame.filter(frame["indicator_id"] == "b4")[["b0_s", "b1_s"]].row(0) == (100.0, 50.0)


@pytest.mark.parametrize("a,b", [(0.3, 0.1), (1e-05, 0.1), (-0.0, 0.0), (12345.678, 0.001)])
def test_literal_diff_examples(a: float, b: float) -> None:
    from decimal import Decimal

    want = (a - b) if "e" in repr(a) + repr(b) else float(Decimal(repr(a)) - Decimal(repr(b)))
    assert literal_diff(a, b) == want
