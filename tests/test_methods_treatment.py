"""Treatment: COINr's default outlier treatment (winsorise up to `winmax` points until
|skew| < 2 or kurtosis < 3.5, else its shifted log), the shifted log itself and Box-Cox —
hand-worked, against a Python port of COINr's R code on random data, validation."""

from __future__ import annotations

import math

import pytest
from helpers.methods import refusal, scheme_text
from helpers.scoring import add_units, add_values, approx, col, dimension, indicator, make_scheme, one, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evaluator.scheme.models import Transform
from evaluator.store import connect

# ------------------------------------------------------- COINr's R code, line for line

def _deviations(x: list[float], least: int) -> tuple[int, list[float], float] | None:
    """n, the deviations from the mean and their sum of squares; None for fewer than `least`
    values or no spread (then `passing` treats nothing)."""
    n = len(x)
    if n < least:
        return None
    m = sum(x) / n
    d = [v - m for v in x]
    s2 = sum(v * v for v in d)
    return None if s2 == 0 else (n, d, s2)


def skew(x: list[float]) -> float | None:
    """e1071::skewness(type = 2)."""
    if (dev := _deviations(x, 3)) is None:
        return None
    n, d, s2 = dev
    y = math.sqrt(n) * sum(v ** 3 for v in d) / s2 ** 1.5
    return y * math.sqrt(n * (n - 1)) / (n - 2)


def kurt(x: list[float]) -> float | None:
    """e1071::kurtosis(type = 2), the excess kurtosis."""
    if (dev := _deviations(x, 4)) is None:
        return None
    n, d, s2 = dev
    r = n * sum(v ** 4 for v in d) / s2 ** 2
    return ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))


def passing(x: list[float]) -> bool:
    sk, kt = skew(x), kurt(x)
    return True if sk is None or kt is None else abs(sk) < 2 or kt < 3.5


def coinr_treat(x: list[float], winmax: int = 5) -> tuple[list[float], int, bool]:
    """Treat.numeric(f1 = winsorise, f2 = log_CT): (values, points winsorised, logged)."""
    if passing(x):
        return x, 0, False
    y, imax, imin, nwin = list(x), [], [], 0
    while not passing(y) and nwin < winmax:
        if skew(y) >= 0:
            top = max(y)
            imax = [i for i, v in enumerate(y) if v == top]
            rest = [v for i, v in enumerate(y) if i not in imax]
            for i in imax:
                y[i] = max(rest)
        else:
            low = min(y)
            imin = [i for i, v in enumerate(y) if v == low]
            rest = [v for i, v in enumerate(y) if i not in imin]
            for i in imin:
                y[i] = min(rest)
        nwin = len(imax) + len(imin)
    if passing(y):
        return y, sum(a != b for a, b in zip(x, y, strict=True)), False
    lo, hi = min(x), max(x)
    return [math.log(v - lo + 0.01 * (hi - lo)) for v in x], 0, True


# ----------------------------------------------------------------------------- by hand

def treated(con, values: list[float], transform: dict) -> tuple[list, list, dict]:
    add_units(con, len(values))
    add_values(con, "x", {f"u{i:02d}": v for i, v in enumerate(values, start=1)})
    run_id, _, inds = run(con, one({"type": "min_max"}, transform=transform))
    refs = dict(con.execute("SELECT name, value FROM run_reference_values WHERE run_id = ? "
                            "AND name LIKE 'outlier%'", [run_id]).fetchall())
    return col(inds, "transformed_value"), col(inds, "flags"), refs


def test_one_outlier_is_winsorised_to_the_next_value(con) -> None:
    xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100.0]
    assert not passing(xs) and passing([*xs[:-1], 9.0])
    values, flags, refs = treated(con, xs, {"outliers": True})
    assert approx(values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9.0])
    assert flags[-1] == "winsorised_high" and flags[0] is None
    assert refs == {"outlier_points_winsorised": 1.0, "outlier_log": 0.0}


def test_too_many_outliers_fall_back_to_the_shifted_log(con) -> None:
    xs = [1.0] * 20 + [100.0, 200.0]
    expected, nwin, logged = coinr_treat(xs, winmax=1)
    assert logged and nwin == 0
    values, flags, refs = treated(con, xs, {"outliers": True, "winmax": 1})
    assert approx(values, expected, tol=1e-12)
    assert values[0] == pytest.approx(math.log(0.01 * 199))  # ln(x − min + 0.01·(max − min))
    assert set(flags) == {"outlier_log"} and refs["outlier_log"] == 1.0


def test_shifted_log(con) -> None:
    values, _, _ = treated(con, [2.0, 4.0, 12.0], {"shifted_log": True})
    assert approx(values, [math.log(0.1), math.log(2.1), math.log(10.1)])


@pytest.mark.parametrize(("lam", "f"), [(0.5, lambda x: (x ** 0.5 - 1) / 0.5),
                                        (0, math.log), (-1, lambda x: (x ** -1 - 1) / -1)])
def test_box_cox(con, lam: float, f) -> None:
    values, flags, _ = treated(con, [1.0, 4.0, 9.0, 0.0], {"box_cox": lam})
    assert approx(values[:3], [f(1.0), f(4.0), f(9.0)])
    assert values[3] is None and "transform_of_nonpositive" in flags[3]


def test_box_cox_parameters_go_on_the_transformed_scale(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 4.0, "u02": 16.0})
    _, _, inds = run(con, one({"type": "goalposts", "lower": 1, "upper": 16},
                              transform={"box_cox": 0.5}))
    # (√x − 1)/0.5 on 1 → 0, 4 → 2, 16 → 6: (2 − 0)/(6 − 0)
    assert approx(col(inds, "score"), [100 / 3, 100.0])


FAST = settings(max_examples=15, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.slow
@FAST
@given(st.lists(st.integers(0, 30).map(float), min_size=4, max_size=12),
       st.lists(st.integers(100, 5000).map(float), min_size=0, max_size=4),
       st.booleans(), st.integers(1, 6))
def test_the_treatment_is_coinrs(body: list[float], tail: list[float], low: bool,
                                 winmax: int) -> None:
    xs = [-v for v in body + tail] if low else body + tail
    expected, nwin, logged = coinr_treat(xs, winmax)
    con = connect(":memory:")
    try:
        values, _, refs = treated(con, xs, {"outliers": True, "winmax": winmax})
    finally:
        con.close()
    assert approx(values, expected, tol=1e-9)
    assert refs == {"outlier_points_winsorised": float(nwin), "outlier_log": float(logged)}


@pytest.mark.slow
@FAST
@given(st.lists(st.floats(0.01, 1000), min_size=2, max_size=8),
       st.one_of(st.just(0.0), st.floats(-2, 2).filter(lambda v: abs(v) > 0.01)))
def test_box_cox_and_shifted_log_are_their_formulas(xs: list[float], lam: float) -> None:
    con = connect(":memory:")
    try:
        add_units(con, len(xs))
        add_values(con, "x", {f"u{i:02d}": v for i, v in enumerate(xs, start=1)})
        _, _, inds = run(con, make_scheme([dimension("d", [
            indicator("bc", "x", {"type": "min_max"}, transform={"box_cox": lam}),
            indicator("sl", "x", {"type": "min_max"}, transform={"shifted_log": True})])]))
    finally:
        con.close()
    lo, hi = min(xs), max(xs)
    box_cox = [math.log(x) if lam == 0 else (x ** lam - 1) / lam for x in xs]
    shifted = [math.log(x - lo + 0.01 * (hi - lo)) if hi > lo else None for x in xs]
    bc, sl = (col(inds, "transformed_value", {"indicator_id": k}) for k in ("bc", "sl"))
    assert approx(bc, box_cox, tol=1e-9 * max(1.0, *map(abs, box_cox)))
    if hi > lo:
        assert approx(sl, shifted, tol=1e-9)  # type: ignore[arg-type]
    else:  # no spread: ln 0 for every unit, so none is scored (as COINr's log_CT gives -Inf)
        assert sl == [None] * len(xs)
        assert "transform_of_nonpositive" in col(inds, "flags", {"indicator_id": "sl"})[0]
    # both keep the units' order, so a min-max on either ranks them as on the raw values
    for k in (("bc", "sl") if hi > lo else ("bc",)):
        scores = col(inds, "score", {"indicator_id": k})
        assert all((a < b) <= (s <= t) for a, s in zip(xs, scores, strict=True)
                   for b, t in zip(xs, scores, strict=True))


@pytest.mark.parametrize(("fields", "message"), [
    ({"log": True, "box_cox": 0.5}, "choose one of log, box_cox"),
    ({"outliers": True, "winsorize": [0.05, 0.95]}, "remove winsorize"),
    ({"winmax": 3}, "read only with `outliers: true`"),
])
def test_bad_treatment_is_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Transform.model_validate(fields)


def test_raw_unit_parameters_with_a_data_shifted_transform_are_refused() -> None:
    error = refusal(scheme_text(transform="{shifted_log: true}",
                                rule="{type: goalposts, lower: 0, upper: 10}"))
    assert "s.yaml:14 dimensions[0].indicators[0].rule.lower" in error
    assert "use a rule relative to the units" in error
