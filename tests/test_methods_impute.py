"""Imputation: the mean or median of the unit's group (`impute_by`: peer group, parent unit,
unit type) and the unit's own value of the year before — hand-worked, a property, and the
validation errors."""

from __future__ import annotations

import statistics

import pytest
from helpers.scoring import _batch, add_values, approx, col, dimension, indicator, make_scheme, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evaluator.scheme.models import Indicator
from evaluator.store import connect


def add_units(con, rows: list[tuple[str, str | None, str | None]]) -> None:
    """Units as (unit_id, peer_group, parent_id)."""
    b = _batch(con, "units")
    con.executemany("INSERT INTO units (batch_id, unit_id, name, unit_type, peer_group, "
                    "parent_id) VALUES (?, ?, ?, 'township', ?, ?)",
                    [[b, u, u, g, p] for u, g, p in rows])


UNITS = [("u01", "a", "p1"), ("u02", "a", "p1"), ("u03", "b", "p2"), ("u04", "a", "p2"),
         ("u05", "c", None)]
X = {"u01": 10.0, "u02": 30.0, "u03": 50.0}


def with_y(**kw):
    """x (the indicator imputed) beside y, which every unit has: only a unit with own data on
    a dimension is imputed there."""
    return make_scheme([dimension("d", [indicator("x", rule={"type": "direct"}, **kw),
                                        indicator("y")])])


def imputed(con, **kw) -> tuple[list[float | None], list[float | None], list[str | None], str]:
    add_units(con, UNITS)
    add_values(con, "x", X)
    add_values(con, "y", {u: 1.0 for u, _, _ in UNITS})
    run_id, _, inds = run(con, with_y(**kw))
    where = {"indicator_id": "x"}
    return (col(inds, "raw_value", where), col(inds, "transformed_value", where),
            col(inds, "flags", where), run_id)


def test_group_mean_by_peer_group(con) -> None:
    _, values, flags, run_id = imputed(con, missing="group_mean")
    # u04 (group a): mean(10, 30) = 20; u05 (group c, no data): the mean of all, 30
    assert approx(values, [10.0, 30.0, 50.0, 20.0, 30.0])
    assert flags[3] == "imputed_group_mean"  # as peer_median: imputed, not missing
    refs = dict(con.execute("SELECT peer_group, value FROM run_reference_values "
                            "WHERE run_id = ? AND name = 'impute_group_mean'", [run_id]
                            ).fetchall())
    assert refs == {"a": 20.0, "b": 50.0, None: 30.0}


def test_group_median_by_parent_unit(con) -> None:
    _, values, _, _ = imputed(con, missing="group_median", impute_by="parent_id")
    # u04's parent p2 holds u03 (50); u05 has no parent: the median of all, 30
    assert approx(values, [10.0, 30.0, 50.0, 50.0, 30.0])


def test_group_mean_by_unit_type_is_the_mean_of_all(con) -> None:
    _, values, _, _ = imputed(con, missing="group_mean", impute_by="unit_type")
    assert approx(values, [10.0, 30.0, 50.0, 30.0, 30.0])


def test_previous_period(con) -> None:
    add_values(con, "x", {"u04": 7.0, "u01": 99.0}, period="2025")
    add_values(con, "x", {"u05": 1.0}, period="2024")  # two years back: not carried over
    _, values, flags, _ = imputed(con, missing="previous_period")
    assert approx(values, [10.0, 30.0, 50.0, 7.0, None])
    assert flags[3] == "imputed_previous_period"
    assert flags[4] == "missing"


def test_previous_period_sub_annual_and_denominated(con) -> None:
    add_values(con, "x", {"u04": 4.0}, period="2025Q1")
    add_values(con, "x", {"u04": 8.0}, period="2025Q3")
    add_values(con, "pop", {"u04": 2.0}, period="2025")
    add_values(con, "pop", dict.fromkeys(X, 1.0))
    _, values, _, _ = imputed(con, missing="previous_period",
                              source={"rollup": "sum", "per": "pop", "factor": 10})
    assert approx(values, [100.0, 300.0, 500.0, 60.0, None])  # (4 + 8) / 2 × 10


@pytest.mark.parametrize(("fields", "message"), [
    ({"impute_by": "parent_id"}, "`impute_by` is read only by"),
    ({"missing": "previous_period", "source": {"questions": ["q"], "scale": {"min": 1,
                                                                             "max": 5}}},
     "needs a measure source"),
    ({"missing": "group_mean", "impute_by": "region"}, "impute_by"),
])
def test_bad_imputation_is_refused(fields: dict, message: str) -> None:
    doc = {"id": "x", "name": {"zh": "x", "en": "x"}, "evidence": "outcome",
           "source": {"measure": "x"}, "rule": {"type": "direct"}, **fields}
    with pytest.raises(ValidationError, match=message):
        Indicator.model_validate(doc)


FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                          st.none() | st.integers(-100, 100).map(float)), min_size=2,
                max_size=8).filter(lambda r: any(v is not None for _, v in r)),
       st.sampled_from(["group_mean", "group_median"]))
def test_a_missing_value_gets_its_groups_statistic(rows, policy: str) -> None:
    con = connect(":memory:")
    try:
        ids = [f"u{i:02d}" for i in range(len(rows))]
        add_units(con, [(u, g, None) for u, (g, _) in zip(ids, rows, strict=True)])
        add_values(con, "x", {u: v for u, (_, v) in zip(ids, rows, strict=True)
                              if v is not None})
        add_values(con, "y", dict.fromkeys(ids, 1.0))
        _, _, inds = run(con, with_y(missing=policy))
        stat = statistics.mean if policy == "group_mean" else statistics.median
        present = [v for _, v in rows if v is not None]
        got_x = col(inds, "transformed_value", {"indicator_id": "x"})
        for (g, v), got in zip(rows, got_x, strict=True):
            group = [w for h, w in rows if h == g and w is not None]
            expected = v if v is not None else stat(group or present)
            assert got == pytest.approx(expected)
    finally:
        con.close()
