"""The data quality page: batches, coverage, missing pairs."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.labels import _in_scheme_order, _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_office, require_run

# --------------------------------------------------------------------------- data quality


def batches(con: Con, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    require_office(viewer)
    return _df(
        con,
        """
        SELECT batch_id, kind, file_name, status, row_count, reason, loaded_by, loaded_at, forced
        FROM load_batches ORDER BY batch_id DESC
        """,
    )


def data_coverage(con: Con, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Before any run: per period and measure (or survey question), how many loaded units have a
    value and how many do not. Units are the current units; a run's scheme narrows this later."""
    require_office(viewer)
    return _df(
        con,
        """
        WITH u AS (SELECT count(*) AS n FROM current_units),
        got AS (
            SELECT period, 'outcome' AS source, measure AS item, count(DISTINCT unit_id) AS units
            FROM current_outcomes GROUP BY ALL
            UNION ALL
            SELECT period, 'survey', question, count(DISTINCT unit_id)
            FROM current_survey_responses GROUP BY ALL)
        SELECT period, source, item, units AS units_with_data,
               greatest((SELECT n FROM u) - units, 0) AS units_without
        FROM got ORDER BY period DESC, units_without DESC, source, item
        """,
    )


def missing_pairs(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Unit × indicator pairs of the run without a raw value (imputed or left out)."""
    require_run(con, viewer, run_id)
    require_office(viewer)
    df = _df(
        con,
        """
        WITH pairs AS (
            SELECT s.unit_id, s.unit_name, w.node_id AS indicator_id
            FROM run_scores s
            JOIN run_weights w ON w.run_id = s.run_id AND w.node_kind = 'indicator'
            WHERE s.run_id = ?)
        SELECT p.unit_id, p.unit_name, p.indicator_id,
               CASE WHEN i.unit_id IS NULL THEN 'absent'
                    WHEN coalesce(i.imputed, false) THEN 'imputed'
                    ELSE 'no_value' END AS status,
               i.missing_policy
        FROM pairs p LEFT JOIN run_indicator_scores i
          ON i.run_id = ? AND i.unit_id = p.unit_id AND i.indicator_id = p.indicator_id
        WHERE i.unit_id IS NULL OR i.raw_value IS NULL OR coalesce(i.imputed, false)
        ORDER BY p.indicator_id, p.unit_id
        """,
        [run_id, run_id],
    )
    return _with_names(df, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)


def satisfaction_indicators(
    con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    require_run(con, viewer, run_id)
    df = _df(
        con,
        "SELECT DISTINCT indicator_id FROM run_survey_quality WHERE run_id = ? ORDER BY 1",
        [run_id],
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    return _in_scheme_order(df, labels, "indicator_id")


@dataclass(frozen=True)
class Funnel:
    """Satisfaction index against effective sample size, with control limits around the centre."""

    points: pl.DataFrame  # unit_id, unit_name, effective_n, raw_index, outside_95, outside_998
    limits: pl.DataFrame  # n, lo95, hi95, lo998, hi998
    centre: float
    sd: float


def funnel(
    con: Con, run_id: str, indicator_id: str, steps: int = 60, *, viewer: Viewer = OFFICE
) -> Funnel | None:
    """Funnel plot data: limits centre ± z·sd/√n with z = 1.96 (95%) and 3.09 (99.8%).

    The centre is the n-weighted mean of the units' unshrunk indices; sd is the median per-unit
    respondent-level spread recovered from the stored standard errors (se·√n).
    """
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    points = _df(
        con,
        """
        SELECT q.unit_id, s.unit_name, q.effective_n, q.raw_index, q.se
        FROM run_survey_quality q JOIN run_scores s ON s.run_id = q.run_id AND s.unit_id = q.unit_id
        WHERE q.run_id = ? AND q.indicator_id = ? AND q.effective_n > 0 AND q.raw_index IS NOT NULL
        """,
        [run_id, indicator_id],
    )
    if points.is_empty():
        return None
    stats = points.select(
        ((pl.col("raw_index") * pl.col("effective_n")).sum() / pl.col("effective_n").sum()).alias("c"),
        (pl.col("se") * pl.col("effective_n").sqrt()).median().alias("sd"),
    ).row(0)
    centre, sd = float(stats[0]), float(stats[1] or 0.0)
    n_max = float(points["effective_n"].max())  # type: ignore[arg-type]
    n_min = max(1.0, float(points["effective_n"].min()) * 0.8)  # type: ignore[arg-type]
    grid = pl.DataFrame({"n": pl.linear_space(n_min, n_max * 1.05, steps, eager=True)})
    half = pl.lit(sd) / pl.col("n").sqrt()
    limits = grid.with_columns(
        (centre - 1.96 * half).alias("lo95"),
        (centre + 1.96 * half).alias("hi95"),
        (centre - 3.09 * half).alias("lo998"),
        (centre + 3.09 * half).alias("hi998"),
    )
    pt_half = pl.lit(sd) / pl.col("effective_n").sqrt()
    points = points.with_columns(
        ((pl.col("raw_index") - centre).abs() > 1.96 * pt_half).alias("outside_95"),
        ((pl.col("raw_index") - centre).abs() > 3.09 * pt_half).alias("outside_998"),
    )
    return Funnel(points=points, limits=limits, centre=centre, sd=sd)
