"""Panel normalisation: a rule's reference values (n, min, max, mean, sd) taken over several years.

Normalised year by year, a unit that did not change moves whenever the others do, so scores of
2020 and 2021 cannot be compared. With `panel: [first, last]` on a `min_max`, `zscore` or
`fraction_of_max` rule, the yardstick is every unit's value in every year of that span
together: the same for each year scored, so a change in score is a change in value. Each year's
value is built as the scored year's is (annual value, else the declared roll-up of the year's
sub-annual values; denominated by `per`; floor/cap, then the log), for the units scored now.
Winsorising and imputation are not applied to the panel: its bounds would depend on the year.
"""

from __future__ import annotations

import polars as pl

from evaluator.scheme.models import (
    FractionOfMaxRule,
    Indicator,
    MinMaxRule,
    MissingPolicy,
    Scheme,
    ZScoreRule,
)
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.values import (
    UNITS,
    _case,
    _period_key,
    annual_first,
    log_expr,
    transform_expr,
)

PANEL = "_sc_panel_stats"
PANEL_RULES = (MinMaxRule, ZScoreRule, FractionOfMaxRule)


def panel_indicators(scheme: Scheme) -> list[tuple[Indicator, tuple[int, int]]]:
    """Indicators whose rule declares a panel, with its first and last year."""
    out = []
    for ind in scheme.indicators():
        rule = ind.rule
        if isinstance(rule, PANEL_RULES) and rule.panel is not None:
            out.append((ind, rule.panel))
    return out


def outcome_years(scheme: Scheme, period: str) -> tuple[int, int]:
    """First and last year of outcomes a run of `period` reads: the year itself, every panel,
    and the year before for `missing: previous_period` (an engine that stages inputs per run
    needs them all)."""
    year = int(str(period)[:4])
    years = [year, *(y for _, span in panel_indicators(scheme) for y in span)]
    if any(i.missing is MissingPolicy.previous_period for i in scheme.indicators()):
        years.append(year - 1)
    return min(years), max(years)


def _meta(inds: list[tuple[Indicator, tuple[int, int]]]) -> pl.DataFrame:
    rows = []
    for ind, (first, last) in inds:
        src = ind.source
        rows.append({"indicator_id": ind.id, "measure": getattr(src, "measure", None),
                     "rollup": src.rollup.value if hasattr(src, "rollup") else None,
                     "per": getattr(src, "per", None), "per_factor": getattr(src, "factor", 1.0),
                     "y0": first, "y1": last})
    return pl.DataFrame(rows, schema={"indicator_id": pl.String, "measure": pl.String,
                                      "rollup": pl.String, "per": pl.String,
                                      "per_factor": pl.Float64, "y0": pl.Int64, "y1": pl.Int64})


def build_yearly_values(engine: Engine, spans: list[tuple[Indicator, tuple[int, int]]],
                        table: str) -> None:
    """`table` (unit_id, indicator_id, year, v0): each indicator's raw value in each year of its
    span, built as the scored year's (annual value, else the roll-up; divided by `per`)."""
    engine.register("_sc_yearly_meta", _meta(spans))
    create_temp(engine, table, sql(
        f"""
        WITH o AS (
            SELECT o.unit_id, m.indicator_id, m.rollup, o.value, o.year, o.measure,
                   CASE WHEN o.period = CAST(o.year AS VARCHAR) THEN 0 ELSE 1 END AS sub,
                   {_period_key()} AS period_key
            FROM current_outcomes o
            JOIN _sc_yearly_meta m ON (m.measure = o.measure OR m.per = o.measure)
                 AND o.year BETWEEN m.y0 AND m.y1
            JOIN {UNITS} u ON u.unit_id = o.unit_id),
        per_sub AS (  -- each kind (annual, sub-annual) rolled up on its own, as values.build_raw
            SELECT p.unit_id, p.indicator_id, p.year, p.measure, p.sub,
                   CASE WHEN p.measure <> MAX(m.measure) THEN
                            SUM(p.value ORDER BY p.period_key, p.value) / COUNT(p.value)
                        WHEN MAX(p.rollup) = 'sum' THEN SUM(p.value ORDER BY p.period_key, p.value)
                        WHEN MAX(p.rollup) = 'last' THEN ARG_MAX(p.value, p.period_key)
                        ELSE SUM(p.value ORDER BY p.period_key, p.value) / COUNT(p.value) END
                        AS v
            FROM o p JOIN _sc_yearly_meta m ON m.indicator_id = p.indicator_id
            GROUP BY p.unit_id, p.indicator_id, p.year, p.measure, p.sub),
        rolled AS (  -- the annual value wins
            SELECT unit_id, indicator_id, year, measure, {annual_first("v")} AS v
            FROM per_sub GROUP BY unit_id, indicator_id, year, measure)
        SELECT n.unit_id, n.indicator_id, n.year,
               CASE WHEN m.per IS NULL THEN n.v
                    ELSE n.v / NULLIF(d.v, 0) * m.per_factor END AS v0
        FROM rolled n JOIN _sc_yearly_meta m ON m.indicator_id = n.indicator_id
                                              AND n.measure = m.measure
        LEFT JOIN rolled d ON d.unit_id = n.unit_id AND d.indicator_id = n.indicator_id
                          AND d.year = n.year AND d.measure = m.per
        """
    ))


def build_panel_stats(engine: Engine, scheme: Scheme) -> bool:
    """`PANEL`: per panel indicator, the reference values over its years. False when the
    scheme has no panel rule (then nothing is built and the scoring trees are unchanged)."""
    inds = panel_indicators(scheme)
    if not inds:
        return False
    build_yearly_values(engine, inds, "_sc_panel_raw")
    x = sql("v0")
    ids = [i for i, _ in inds]
    clipped = _case(scheme, {i.id: transform_expr(i, x) for i in ids if i.transform}, x)
    logged = _case(scheme, {i.id: log_expr(i, sql("v1")) for i in ids
                            if i.transform is not None and i.transform.log}, sql("v1"))
    create_temp(engine, PANEL, sql(
        """
        SELECT indicator_id, COUNT(v) AS n, MIN(v) AS min, MAX(v) AS max, AVG(v) AS mean,
               STDDEV_SAMP(v) AS sd
        FROM (SELECT indicator_id, :logged AS v
              FROM (SELECT *, :clipped AS v1 FROM _sc_panel_raw))
        WHERE v IS NOT NULL GROUP BY indicator_id
        """,
        clipped=clipped, logged=logged,
    ))
    return True
