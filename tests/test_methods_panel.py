"""Panel normalisation: `panel: [first, last]` takes a rule's reference values over every year
of the span, so a unit whose value did not change keeps its score from year to year."""

from __future__ import annotations

import math
import statistics

import pytest
from helpers.scoring import add_units, add_values, approx, col, dimension, indicator, make_scheme, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evaluator.scheme.models import MinMaxRule
from evaluator.store import connect

PANEL = [2025, 2026]


def panel_scheme():
    return make_scheme([dimension("d", [
        indicator("mm", "x", {"type": "min_max", "panel": PANEL}),
        indicator("mm_year", "x", {"type": "min_max"}),
        indicator("zs", "x", {"type": "zscore", "panel": PANEL}),
        indicator("fm", "x", {"type": "fraction_of_max", "panel": PANEL}),
        indicator("rate", "y", {"type": "min_max", "panel": PANEL},
                  source={"rollup": "sum", "per": "pop", "factor": 10}),
    ])])


def test_panel_by_hand(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 10, "u02": 20}, period="2025")
    add_values(con, "x", {"u01": 30, "u02": 40}, period="2026")
    add_values(con, "x", {"u01": 99}, period="2024")  # outside the panel: never read
    # y per pop × 10: 2025 u01 (1 + 3) / 2 × 10 = 20, u02 6/1 × 10 = 60; 2026: 40, 50
    add_values(con, "y", {"u01": 1}, period="2025Q1")
    add_values(con, "y", {"u01": 3}, period="2025Q2")
    add_values(con, "y", {"u02": 6}, period="2025")
    add_values(con, "y", {"u01": 8, "u02": 5}, period="2026")
    add_values(con, "pop", {"u01": 2, "u02": 1}, period="2025")
    add_values(con, "pop", {"u01": 2, "u02": 1}, period="2026")
    sd = statistics.stdev([10, 20, 30, 40])
    by_year = {}
    for year in ("2025", "2026"):
        _, _, inds = run(con, panel_scheme(), period=year)
        by_year[year] = {k: col(inds, "score", {"indicator_id": k})
                         for k in ("mm", "mm_year", "zs", "fm", "rate")}
    assert approx(by_year["2025"]["mm"], [0.0, 100 / 3])
    assert approx(by_year["2026"]["mm"], [200 / 3, 100.0])
    assert approx(by_year["2026"]["mm_year"], [0.0, 100.0])  # year by year: both years 0, 100
    assert approx(by_year["2026"]["zs"], [50 + 15 * 5 / sd, 50 + 15 * 15 / sd])
    assert approx(by_year["2025"]["fm"], [25.0, 50.0])
    # panel of rates 20, 60, 40, 50: min 20, max 60
    assert approx(by_year["2025"]["rate"], [0.0, 100.0])
    assert approx(by_year["2026"]["rate"], [50.0, 75.0])


def test_an_annual_value_wins_in_every_panel_year(con) -> None:
    """A year with both an annual value and sub-annual ones reads the annual value, in the
    panel's reference values as in the scored year (a quarterly 1,000 would move every score)."""
    add_units(con, 2)
    add_values(con, "x", {"u01": 10, "u02": 20}, period="2025")
    add_values(con, "x", {"u01": 1000}, period="2025Q3")
    add_values(con, "x", {"u01": 30, "u02": 40}, period="2026")
    add_values(con, "x", {"u02": -1000}, period="2026-05")
    for year, expected in (("2025", [0.0, 100 / 3]), ("2026", [200 / 3, 100.0])):
        _, _, inds = run(con, panel_scheme(), period=year)
        assert approx(col(inds, "score", {"indicator_id": "mm"}), expected), year


def test_a_year_outside_its_panel_is_clamped(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 10, "u02": 20}, period="2025")
    add_values(con, "x", {"u01": 0, "u02": 50}, period="2027")
    loaded = make_scheme([dimension("d", [
        indicator("x", rule={"type": "min_max", "panel": [2025, 2025], "range": [1, 100]})])])
    _, _, inds = run(con, loaded, period="2027")
    assert approx(col(inds, "score"), [1.0, 100.0])


@pytest.mark.parametrize(("rule", "message"), [
    ({"panel": [2026, 2020]}, "the first year must not be after the last"),
    ({"panel": [2020, 2026], "within": "peer_group"}, "remove `within: peer_group`"),
])
def test_bad_panel_is_refused(rule: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MinMaxRule.model_validate({"type": "min_max", **rule})


FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])
xs = st.lists(st.integers(-100, 100).map(float), min_size=2, max_size=5)


@pytest.mark.slow
@FAST
@given(xs, st.data())
def test_a_unit_that_did_not_change_keeps_its_panel_score(before: list[float],
                                                          data: st.DataObject) -> None:
    after = data.draw(st.lists(st.integers(-100, 100).map(float), min_size=len(before),
                               max_size=len(before)))
    after[0] = before[0]  # u00 did not change; the others did, anyhow
    con = connect(":memory:")
    try:
        ids = [f"u{i:02d}" for i in range(len(before))]
        add_units(con, [(u, None) for u in ids])
        add_values(con, "x", dict(zip(ids, before, strict=True)), period="2025")
        add_values(con, "x", dict(zip(ids, after, strict=True)), period="2026")
        loaded = make_scheme([dimension("d", [indicator("x", rule={
            "type": "min_max", "panel": PANEL})])])
        got = [col(run(con, loaded, period=y)[2], "score") for y in ("2025", "2026")]
        assert got[0][0] == pytest.approx(got[1][0])
        lo, hi = min(before + after), max(before + after)
        expected = 100.0 if lo == hi else 100 * (before[0] - lo) / (hi - lo)
        assert math.isclose(got[0][0], expected, abs_tol=1e-9)
    finally:
        con.close()
