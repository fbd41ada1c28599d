"""The data quality page: batches, coverage, missing pairs."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.readmodel._base import INDICATOR_LINES, Con, _df
from evaluator.readmodel.labels import _in_scheme_order, _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_office, require_run
from evaluator.scoring.funnels import funnel_rows, limit_lines

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
    # Two small sets instead of every unit × indicator pair (2.4 M at province) joined to the
    # lines: the lines without a value or imputed, and the missing pairs of the units short of
    # lines (found first by a count, so the pair check reads only their lines).
    ind = """SELECT node_id AS indicator_id FROM run_weights
             WHERE run_id = $run AND node_kind = 'indicator'"""
    # The count keeps to the tree's indicators; filtering 2.4 M lines by them cost more than
    # the count, so only when the run has lines of other indicators (runs this version makes
    # have none).
    others = _df(con, f"SELECT count(*) AS n FROM run_indicator_weights WHERE run_id = $run "
                      f"AND indicator_id NOT IN ({ind})", {"run": run_id})["n"][0]
    in_tree = f"AND indicator_id IN ({ind})" if others else ""
    short = _df(
        con,
        f"""
        SELECT s.unit_id FROM run_scores s
        LEFT JOIN (SELECT unit_id, count(*) AS n FROM {INDICATOR_LINES}
                   WHERE run_id = $run {in_tree} GROUP BY unit_id) h
          ON h.unit_id = s.unit_id
        WHERE s.run_id = $run AND coalesce(h.n, 0) < (SELECT count(*) FROM ({ind}))
        """,
        {"run": run_id},
    )["unit_id"].to_list()
    df = _df(
        con,
        f"""
        WITH absent AS (
            SELECT s.unit_id, s.unit_name, w.indicator_id, 'absent' AS status,
                   NULL::VARCHAR AS missing_policy
            FROM run_scores s CROSS JOIN ({ind}) w
            WHERE s.run_id = $run AND list_contains($short, s.unit_id)
              AND NOT EXISTS (
                  SELECT 1 FROM {INDICATOR_LINES} l
                  WHERE l.run_id = $run AND list_contains($short, l.unit_id)
                    AND l.unit_id = s.unit_id AND l.indicator_id = w.indicator_id)),
        gaps AS (
            SELECT l.unit_id, s.unit_name, l.indicator_id,
                   CASE WHEN coalesce(l.imputed, false) THEN 'imputed' ELSE 'no_value' END AS status,
                   l.missing_policy
            FROM {INDICATOR_LINES} l
            JOIN run_scores s ON s.run_id = $run AND s.unit_id = l.unit_id
            WHERE l.run_id = $run AND (l.raw_value IS NULL OR coalesce(l.imputed, false))
              AND l.indicator_id IN ({ind}))
        SELECT * FROM absent UNION ALL SELECT * FROM gaps
        ORDER BY indicator_id, unit_id
        """,
        {"run": run_id, "short": short},
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
    """A funnel plot as stored with the run: each unit's value against its sample size, the
    limits around the centre, and whether they were widened for overdispersion."""

    points: pl.DataFrame  # unit_id, unit_name, n, value, z, z_adjusted, outside_95, outside_998
    limits: pl.DataFrame  # n, lo95, hi95, lo998, hi998 (applied), lo998_raw, hi998_raw
    centre: float
    sd: float  # spread: se(n) = sd / √n
    phi: float | None  # winsorised mean squared z (None: too few z-scores)
    tau2: float  # between-unit variance added to every unit's (0: not overdispersed)
    overdispersed: bool


_FUNNEL_POINTS = """
    SELECT f.unit_id, s.unit_name, f.n, f.value, f.centre, f.spread, f.z, f.z_adjusted, f.phi,
           f.tau2, f.overdispersed, f.outside_95, f.outside_998
    FROM ({source}) f JOIN run_scores s ON s.run_id = f.run_id AND s.unit_id = f.unit_id
    WHERE f.run_id = ? AND f.funnel = ? AND f.indicator_id IS NOT DISTINCT FROM ?
    ORDER BY f.unit_id
"""


def _funnel_source(con: Con, run_id: str) -> str:
    """The stored rows; for a run stored before funnels were (no rows), the same query the run
    uses, so an old run reads exactly as a new one would."""
    stored = _df(con, "SELECT count(*) AS n FROM run_funnels WHERE run_id = ?", [run_id])
    return "SELECT * FROM run_funnels" if stored["n"][0] else funnel_rows(run_id).sql("duckdb")


def _funnel(con: Con, run_id: str, funnel: str, indicator_id: str | None, steps: int) -> Funnel | None:
    points = _df(con, _FUNNEL_POINTS.format(source=_funnel_source(con, run_id)),
                 [run_id, funnel, indicator_id])
    if points.is_empty():
        return None
    first = points.row(0, named=True)
    n_min = max(1.0, float(points["n"].min()) * 0.8)  # type: ignore[arg-type]
    n_max = float(points["n"].max()) * 1.05  # type: ignore[arg-type]
    limits = limit_lines(first["centre"], first["spread"], first["tau2"], n_min, n_max, steps,
                         funnel=funnel)
    return Funnel(points=points.drop("centre", "spread", "phi", "tau2", "overdispersed"),
                  limits=limits, centre=first["centre"], sd=first["spread"], phi=first["phi"],
                  tau2=first["tau2"], overdispersed=bool(first["overdispersed"]))


def funnel(
    con: Con, run_id: str, indicator_id: str, steps: int = 60, *, viewer: Viewer = OFFICE
) -> Funnel | None:
    """The unshrunk satisfaction index of `indicator_id` against Kish effective n: limits
    centre ± z·√(sd²/n + τ²), z = 1.96 (95%) and 3.09 (99.8%), τ² > 0 only when the units are
    overdispersed (Spiegelhalter 2005; docs/fairness.md)."""
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    return _funnel(con, run_id, "satisfaction", indicator_id, steps)


def excluded_share_funnel(
    con: Con, run_id: str, steps: int = 60, *, viewer: Viewer = OFFICE
) -> Funnel | None:
    """Each unit's share of survey responses dropped as speeders, straight-liners or duplicates,
    against its responses: how far out a unit flagged for survey stuffing is."""
    require_run(con, viewer, run_id)
    require_office(viewer)
    return _funnel(con, run_id, "excluded_share", None, steps)
