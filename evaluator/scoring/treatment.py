"""Outlier treatment and log-like transforms that depend on the data: COINr's default
treatment (`outliers`), COINr's shifted log (`shifted_log`, its `log_CT`) and Box-Cox.

COINr's `Treat()` default, per indicator over the units scored: if |skew| < skew_max or
kurtosis < kurtosis_max (sample skewness and excess kurtosis, e1071 type 2), nothing is done.
Otherwise the most extreme value on the side of the skew (high when skew ≥ 0) is set to the
next one in, and again, until the indicator passes or `winmax` points are changed; if it still
fails, the winsorising is undone and the shifted log ln(x − min + 0.01·(max − min)) applied to
the untreated values instead. The loop runs over winsorising steps (at most `winmax`), each one
set-based SQL over every indicator; the points treated are stored per indicator (`REFS`) and
flagged per unit. Runs after `values.build_values`, and only for schemes that use these.
"""

from __future__ import annotations

import math

import polars as pl

from evaluator.scheme.models import Indicator, Scheme
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.values import REFS, VALUES

STATE = "_sc_treat_state"


def box_cox_value(x: float, lam: float) -> float:
    """(x^λ − 1)/λ, ln x for λ = 0; NaN for x ≤ 0 (a parameter that cannot be transformed)."""
    if x <= 0:
        return math.nan
    return math.log(x) if lam == 0 else (x ** lam - 1) / lam


def treated_indicators(scheme: Scheme) -> list[Indicator]:
    return [i for i in scheme.indicators() if i.transform is not None and (
        i.transform.outliers or i.transform.shifted_log or i.transform.box_cox is not None)]


def _meta(inds: list[Indicator]) -> pl.DataFrame:
    rows = []
    for i in inds:
        t = i.transform
        assert t is not None
        rows.append({"indicator_id": i.id,
                     "kind": "outliers" if t.outliers else "shifted_log" if t.shifted_log
                     else "box_cox",
                     "winmax": t.winmax, "skew_max": t.skew_max, "kurt_max": t.kurtosis_max,
                     "lam": t.box_cox})
    return pl.DataFrame(rows, schema={"indicator_id": pl.String, "kind": pl.String,
                                      "winmax": pl.Int64, "skew_max": pl.Float64,
                                      "kurt_max": pl.Float64, "lam": pl.Float64})


def _moments(state: str) -> str:
    """Per indicator: n, sample skewness and excess kurtosis (e1071 type 2, as COINr) of x,
    and whether it passes (NULL moments — under 4 values, or all equal — pass: COINr leaves
    such an indicator untreated)."""
    return f"""
        WITH m AS (SELECT indicator_id, COUNT(x) AS n, AVG(x) AS mu FROM {state}
                   WHERE x IS NOT NULL GROUP BY indicator_id),
        d AS (SELECT s.indicator_id, MAX(m.n) AS n,
                     SUM((s.x - m.mu) * (s.x - m.mu)) AS s2,
                     SUM((s.x - m.mu) * (s.x - m.mu) * (s.x - m.mu)) AS s3,
                     SUM((s.x - m.mu) * (s.x - m.mu) * (s.x - m.mu) * (s.x - m.mu)) AS s4
              FROM {state} s JOIN m ON m.indicator_id = s.indicator_id
              WHERE s.x IS NOT NULL GROUP BY s.indicator_id),
        k AS (SELECT indicator_id, n,
                     CASE WHEN n >= 3 AND s2 > 0 THEN SQRT(n) * s3 / POWER(s2, 1.5)
                          * SQRT(n * (n - 1.0)) / (n - 2.0) END AS skew,
                     CASE WHEN n >= 4 AND s2 > 0 THEN ((n + 1.0) * (n * s4 / (s2 * s2) - 3.0)
                          + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)) END AS kurt
              FROM d)
        SELECT k.*, t.winmax, t.kind,
               COALESCE(ABS(k.skew) < t.skew_max OR k.kurt < t.kurt_max, TRUE) AS pass
        FROM k JOIN _sc_treat_meta t ON t.indicator_id = k.indicator_id
    """


def build_treatments(engine: Engine, scheme: Scheme) -> bool:
    """Replace `value` in `VALUES` for the treated indicators (their `winsorised` value is the
    input) and add the treatment's reference values to `REFS`. False when none is used."""
    inds = treated_indicators(scheme)
    if not inds:
        return False
    engine.register("_sc_treat_meta", _meta(inds))
    create_temp(engine, STATE, sql(
        f"""
        SELECT v.indicator_id, v.unit_id, v.winsorised AS x0, v.winsorised AS x,
               CAST(NULL AS VARCHAR) AS side
        FROM {VALUES} v JOIN _sc_treat_meta t ON t.indicator_id = v.indicator_id
        WHERE v.winsorised IS NOT NULL AND t.kind = 'outliers'
        """
    ))
    steps = max([i.transform.winmax for i in inds if i.transform and i.transform.outliers],
                default=0)
    for _ in range(steps):  # winsorising steps, not data rows: each is one set-based query
        create_temp(engine, "_sc_treat_k", sql(_moments(STATE)))
        create_temp(engine, "_sc_treat_next", sql(
            f"""
            WITH changed AS (SELECT indicator_id, COUNT(*) AS nwin FROM {STATE}
                             WHERE side IS NOT NULL GROUP BY indicator_id),
            act AS (SELECT k.indicator_id, k.skew >= 0 AS high FROM _sc_treat_k k
                    LEFT JOIN changed c ON c.indicator_id = k.indicator_id
                    WHERE NOT k.pass AND COALESCE(c.nwin, 0) < k.winmax),
            ends AS (SELECT s.indicator_id, MAX(s.x) AS mx, MIN(s.x) AS mn FROM {STATE} s
                     GROUP BY s.indicator_id),
            inner_ AS (SELECT s.indicator_id,
                              MAX(CASE WHEN s.x < e.mx THEN s.x END) AS below_max,
                              MIN(CASE WHEN s.x > e.mn THEN s.x END) AS above_min
                       FROM {STATE} s JOIN ends e ON e.indicator_id = s.indicator_id
                       GROUP BY s.indicator_id)
            SELECT s.indicator_id, s.unit_id, s.x0,
                   CASE WHEN a.high AND s.x = e.mx AND i.below_max IS NOT NULL THEN i.below_max
                        WHEN NOT a.high AND s.x = e.mn AND i.above_min IS NOT NULL
                             THEN i.above_min
                        ELSE s.x END AS x,
                   CASE WHEN a.high AND s.x = e.mx AND i.below_max IS NOT NULL THEN 'high'
                        WHEN NOT a.high AND s.x = e.mn AND i.above_min IS NOT NULL THEN 'low'
                        ELSE s.side END AS side
            FROM {STATE} s
            JOIN ends e ON e.indicator_id = s.indicator_id
            JOIN inner_ i ON i.indicator_id = s.indicator_id
            LEFT JOIN act a ON a.indicator_id = s.indicator_id
            """
        ))
        create_temp(engine, STATE, sql("SELECT * FROM _sc_treat_next"))
    create_temp(engine, "_sc_treat_k", sql(_moments(STATE)))
    create_temp(engine, "_sc_treat_range", sql(
        f"""
        SELECT v.indicator_id, MIN(v.winsorised) AS mn, MAX(v.winsorised) AS mx
        FROM {VALUES} v JOIN _sc_treat_meta t ON t.indicator_id = v.indicator_id
        WHERE v.winsorised IS NOT NULL GROUP BY v.indicator_id
        """
    ))
    create_temp(engine, "_sc_values_untreated", sql(f"SELECT * FROM {VALUES}"))
    shifted = "LN(v.winsorised - r.mn + 0.01 * (r.mx - r.mn))"
    create_temp(engine, VALUES, sql(
        f"""
        SELECT unit_id, pg, indicator_id, dimension_id, evidence, missing_policy, measure,
               raw_value, imputed_value, imputed, covered, unit_target, winsorised, value,
               CASE WHEN NOT treated THEN value_flag
                    WHEN winsorised IS NOT NULL AND value IS NULL
                         THEN 'transform_of_nonpositive'
                    ELSE treat_flag END AS value_flag, unit_ix, node_ix
        FROM (
            SELECT v.unit_id, v.pg, v.indicator_id, v.dimension_id, v.evidence,
                   v.missing_policy, v.measure, v.raw_value, v.imputed_value, v.imputed,
                   v.covered, v.unit_target, v.winsorised, v.value_flag, v.unit_ix, v.node_ix,
                   t.indicator_id IS NOT NULL AS treated,
                   CASE WHEN t.indicator_id IS NULL THEN v.value
                        WHEN t.kind = 'box_cox' THEN
                             CASE WHEN v.winsorised > 0 THEN
                                  CASE WHEN t.lam = 0 THEN LN(v.winsorised)
                                       ELSE (POWER(v.winsorised, t.lam) - 1.0) / t.lam END END
                        WHEN t.kind = 'shifted_log' OR NOT COALESCE(k.pass, TRUE) THEN
                             CASE WHEN r.mx > r.mn THEN {shifted} END
                        ELSE COALESCE(s.x, v.winsorised) END AS value,
                   CASE WHEN t.kind = 'outliers' AND NOT COALESCE(k.pass, TRUE)
                             THEN 'outlier_log'
                        WHEN s.side = 'high' THEN 'winsorised_high'
                        WHEN s.side = 'low' THEN 'winsorised_low' END AS treat_flag
            FROM _sc_values_untreated v
            LEFT JOIN _sc_treat_meta t ON t.indicator_id = v.indicator_id
            LEFT JOIN _sc_treat_range r ON r.indicator_id = v.indicator_id
            LEFT JOIN _sc_treat_k k ON k.indicator_id = v.indicator_id
            LEFT JOIN {STATE} s ON s.indicator_id = v.indicator_id AND s.unit_id = v.unit_id)
        """
    ))
    engine.append_temp(REFS, sql(
        f"""
        SELECT t.indicator_id, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
               'outlier_points_winsorised',
               CAST(CASE WHEN COALESCE(k.pass, TRUE) THEN COALESCE(c.nwin, 0) ELSE 0 END
                    AS DOUBLE)
        FROM _sc_treat_meta t LEFT JOIN _sc_treat_k k ON k.indicator_id = t.indicator_id
        LEFT JOIN (SELECT indicator_id, COUNT(*) AS nwin FROM {STATE}
                   WHERE side IS NOT NULL GROUP BY indicator_id) c
               ON c.indicator_id = t.indicator_id
        WHERE t.kind = 'outliers'
        UNION ALL
        SELECT t.indicator_id, NULL, NULL, 'outlier_log',
               CASE WHEN COALESCE(k.pass, TRUE) THEN 0.0 ELSE 1.0 END
        FROM _sc_treat_meta t LEFT JOIN _sc_treat_k k ON k.indicator_id = t.indicator_id
        WHERE t.kind = 'outliers'
        """
    ))
    return True
