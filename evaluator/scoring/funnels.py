"""Funnel plots with the overdispersion correction of Spiegelhalter (2005), as one SQL query.

Each funnel compares a per-unit value with a common centre, unit by unit, at the unit's sample
size n: limits centre ± z·√(se(n)² + τ²) with se(n) = spread/√n. Two funnels per run:
`satisfaction` (the unshrunk index of each satisfaction indicator against Kish effective n;
spread = median respondent-level SD) and `excluded_share` (the share of a unit's survey
responses the validity filters dropped, against its responses; spread = √(p̄(1 − p̄))).

Sampling error alone makes limits too narrow when units really differ. So: z-scores against the
sampling-only limits, winsorised at their 10th and 90th percentiles; φ = mean of their squares;
the data are overdispersed when k·φ exceeds the 95% point of χ² with k − 1 degrees of freedom
(k units; Wilson–Hilferty approximation); then τ² = (k·φ − (k − 1)) / (Σw − Σw²/Σw), w = 1/se²,
is added to every unit's variance (additive random effects). Otherwise τ² = 0 and the limits are
the sampling-only ones. Everything the pages and exports need is stored per unit in
`run_funnels`, so nothing is recomputed on reading.
"""

from __future__ import annotations

import polars as pl
from sqlglot import exp

from evaluator.scoring.engine import sql

Z95, Z998 = 1.959964, 3.090232  # two-sided 95% and 99.8% normal points
WINSOR = 0.10  # z-scores winsorised at their 10th and 90th percentiles (Spiegelhalter 2005)
MIN_UNITS = 8  # fewer units: no overdispersion estimate, sampling-only limits
CHI2_Z95 = 1.644854  # the one-sided 95% normal point behind the χ² test
# A share cannot leave [0, 1]: its limits stop there (the normal approximation would draw a
# lower limit below 0 % for small units), as NHS funnel plots of proportions do.
BOUNDS: dict[str, tuple[float, float]] = {"excluded_share": (0.0, 1.0)}

FUNNEL_COLUMNS: tuple[str, ...] = (
    "run_id", "funnel", "indicator_id", "unit_id", "n", "value", "centre", "spread", "z",
    "z_adjusted", "phi", "tau2", "overdispersed", "lo95", "hi95", "lo998", "hi998",
    "outside_95", "outside_998",
)

_FUNNELS = """
WITH
sat AS (
    SELECT 'satisfaction' AS funnel, indicator_id, unit_id, CAST(effective_n AS DOUBLE) AS n,
           raw_index AS value, se * SQRT(effective_n) AS unit_sd
    FROM run_survey_quality
    WHERE run_id = :run_id AND effective_n > 0 AND raw_index IS NOT NULL
),
q AS (
    SELECT unit_id, responses,
           excluded_speeder + excluded_straightline + excluded_duplicate AS bad,
           ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY responses DESC, indicator_id) AS rn
    FROM run_survey_quality WHERE run_id = :run_id AND responses > 0
),
excl AS (
    SELECT 'excluded_share' AS funnel, CAST(NULL AS VARCHAR) AS indicator_id, unit_id,
           CAST(responses AS DOUBLE) AS n, bad * 1.0 / responses AS value,
           CAST(NULL AS DOUBLE) AS unit_sd
    FROM q WHERE rn = 1
),
pts AS (SELECT * FROM sat UNION ALL SELECT * FROM excl),
centre AS (
    SELECT funnel, indicator_id, SUM(value * n) / SUM(n) AS c, MEDIAN(unit_sd) AS med_sd
    FROM pts GROUP BY funnel, indicator_id
),
spread AS (
    SELECT funnel, indicator_id, c,
           NULLIF(CASE WHEN funnel = 'excluded_share' THEN SQRT(c * (1 - c)) ELSE med_sd END, 0)
               AS spread
    FROM centre
),
zs AS (
    SELECT p.funnel, p.indicator_id, p.unit_id, p.n, p.value, s.c, s.spread,
           s.spread / SQRT(p.n) AS se0, (p.value - s.c) / (s.spread / SQRT(p.n)) AS z
    FROM pts AS p JOIN spread AS s
      ON p.funnel = s.funnel AND COALESCE(p.indicator_id, '') = COALESCE(s.indicator_id, '')
),
wq AS (
    SELECT funnel, indicator_id, QUANTILE_CONT(z, :lo_q) AS zlo, QUANTILE_CONT(z, :hi_q) AS zhi
    FROM zs WHERE z IS NOT NULL GROUP BY funnel, indicator_id
),
disp AS (
    SELECT zs.funnel, zs.indicator_id, COUNT(*) AS k,
           AVG(POWER(LEAST(GREATEST(zs.z, wq.zlo), wq.zhi), 2)) AS phi,
           SUM(1 / (zs.se0 * zs.se0)) AS sw, SUM(1 / POWER(zs.se0, 4)) AS sw2
    FROM zs JOIN wq
      ON zs.funnel = wq.funnel AND COALESCE(zs.indicator_id, '') = COALESCE(wq.indicator_id, '')
    WHERE zs.z IS NOT NULL
    GROUP BY zs.funnel, zs.indicator_id
),
fit AS (
    SELECT funnel, indicator_id, phi,
           k >= :min_units AND k * phi > (k - 1) * POWER(1 - 2 / (9.0 * (k - 1))
               + :chi_z * SQRT(2 / (9.0 * (k - 1))), 3) AS overdispersed,
           GREATEST((k * phi - (k - 1)) / (sw - sw2 / sw), 0) AS tau2_est
    FROM disp
),
adj AS (
    SELECT zs.*, f.phi, COALESCE(f.overdispersed, FALSE) AS overdispersed,
           CASE WHEN f.overdispersed THEN f.tau2_est ELSE 0.0 END AS tau2
    FROM zs LEFT JOIN fit AS f
      ON zs.funnel = f.funnel AND COALESCE(zs.indicator_id, '') = COALESCE(f.indicator_id, '')
),
half AS (
    SELECT adj.*, SQRT(se0 * se0 + tau2) AS h,
           CASE WHEN funnel = 'excluded_share' THEN :share_lo END AS lo_bound,
           CASE WHEN funnel = 'excluded_share' THEN :share_hi END AS hi_bound
    FROM adj
)
SELECT CAST(:run_id AS VARCHAR) AS run_id, funnel, indicator_id, unit_id, n, value,
       c AS centre, spread, z, (value - c) / h AS z_adjusted, phi, tau2, overdispersed,
       GREATEST(c - :z95 * h, lo_bound) AS lo95, LEAST(c + :z95 * h, hi_bound) AS hi95,
       GREATEST(c - :z998 * h, lo_bound) AS lo998, LEAST(c + :z998 * h, hi_bound) AS hi998,
       ABS(value - c) > :z95 * h AS outside_95, ABS(value - c) > :z998 * h AS outside_998
FROM half WHERE h IS NOT NULL
"""


def funnel_rows(run_id: str) -> exp.Expression:
    """The run's `run_funnels` rows (`FUNNEL_COLUMNS`), one per funnel, indicator and unit, from
    `run_survey_quality` of `run_id`; any engine runs it."""
    share_lo, share_hi = BOUNDS["excluded_share"]
    return sql(_FUNNELS, run_id=run_id, lo_q=WINSOR, hi_q=1 - WINSOR, min_units=MIN_UNITS,
               chi_z=CHI2_Z95, z95=Z95, z998=Z998, share_lo=share_lo, share_hi=share_hi)


def limit_lines(centre: float, spread: float, tau2: float, n_min: float, n_max: float,
                steps: int = 60, funnel: str = "satisfaction") -> pl.DataFrame:
    """The funnel's limit lines over a grid of n: the applied ones (`lo95` … `hi998`, with τ²)
    and the sampling-only 99.8% ones (`lo998_raw`, `hi998_raw`) for comparison, within the
    funnel's `BOUNDS` as the stored limits are."""
    grid = pl.DataFrame({"n": pl.linear_space(n_min, n_max, steps, eager=True)})
    se2 = pl.lit(spread) ** 2 / pl.col("n")
    half, raw = (se2 + tau2).sqrt(), se2.sqrt()
    lo, hi = BOUNDS.get(funnel, (None, None))
    return grid.with_columns(
        (centre - z * h).clip(lower_bound=lo).alias(f"lo{name}")
        for z, h, name in ((Z95, half, "95"), (Z998, half, "998"), (Z998, raw, "998_raw"))
    ).with_columns(
        (centre + z * h).clip(upper_bound=hi).alias(f"hi{name}")
        for z, h, name in ((Z95, half, "95"), (Z998, half, "998"), (Z998, raw, "998_raw"))
    ).select("n", "lo95", "hi95", "lo998", "hi998", "lo998_raw", "hi998_raw")
