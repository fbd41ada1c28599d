"""Denomination: `source: {measure, per, factor}` scores measure / per × factor (per capita,
per 10k residents) — hand-worked, a property, and the validation errors at their YAML line."""

from __future__ import annotations

import pytest
from helpers.methods import refusal, scheme_text
from helpers.scoring import add_units, add_values, approx, col, one, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from evaluator.store import connect


def test_rate_per_10k_by_hand(con) -> None:
    add_units(con, 4)
    add_values(con, "x", {"u01": 30, "u02": 12, "u03": 5, "u04": 7})
    add_values(con, "pop", {"u01": 20000, "u02": 0})  # u03 has no population, u04 sub-annual
    add_values(con, "pop", {"u04": 1000}, period="2026Q1")
    add_values(con, "pop", {"u04": 3000}, period="2026Q3")
    _, _, inds = run(con, one({"type": "direct"}, source={"per": "pop", "factor": 10000}))
    # u01: 30 / 20000 × 10000 = 15; u02: base 0 → missing; u03: no base → missing;
    # u04: 7 / mean(1000, 3000) × 10000 = 35
    assert approx(col(inds, "raw_value"), [15.0, None, None, 35.0])
    assert approx(col(inds, "score"), [15.0, None, None, 35.0])
    assert "missing" in col(inds, "flags")[1]


def test_an_annual_denominator_wins_over_sub_annual_ones(con) -> None:
    add_units(con, 1)
    add_values(con, "x", {"u01": 50})
    add_values(con, "n", {"u01": 200})
    add_values(con, "n", {"u01": 1}, period="2026-03")
    _, _, inds = run(con, one({"type": "direct"}, source={"per": "n", "factor": 100}))
    assert approx(col(inds, "raw_value"), [25.0])


FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])
positive = st.floats(min_value=0.5, max_value=1e4)


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(positive, positive), min_size=2, max_size=6), positive,
       st.sampled_from([1.0, 1000.0, 1e5]))
def test_scaling_numerator_and_denominator_together_changes_nothing(
        rows: list[tuple[float, float]], k: float, factor: float) -> None:
    scores = []
    for scale in (1.0, k):
        con = connect(":memory:")
        try:
            add_units(con, len(rows))
            ids = [f"u{i:02d}" for i in range(1, len(rows) + 1)]
            add_values(con, "x", {u: a * scale for u, (a, _) in zip(ids, rows, strict=True)})
            add_values(con, "pop", {u: b * scale for u, (_, b) in zip(ids, rows, strict=True)})
            _, _, inds = run(con, one({"type": "min_max"},
                                      source={"per": "pop", "factor": factor}))
            raw = col(inds, "raw_value")
            assert approx(raw, [a / b * factor for a, b in rows], tol=1e-9 * max(raw))
            scores.append(col(inds, "score"))
        finally:
            con.close()
    assert approx(scores[0], scores[1], tol=1e-6)


@pytest.mark.parametrize(("source", "message"), [
    ("{measure: crimes, factor: 1000}", "add `per: <denominator measure>`"),
    ("{measure: crimes, per: crimes}", "`per` must name another measure"),
    ("{measure: crimes, per: pop, factor: 0}", "factor: must be more than 0 (got 0)"),
])
def test_bad_denomination_is_refused_at_its_line(source: str, message: str) -> None:
    error = refusal(scheme_text(source=source))
    assert "s.yaml:12 dimensions[0].indicators[0].source" in error
    assert message in error
