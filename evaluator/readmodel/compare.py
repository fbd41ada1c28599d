"""The compare page: units side by side."""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import INDICATOR_LINES, Con, _df
from evaluator.readmodel.disclosure import (
    dimension_floor,
    floor_for,
    hidden_dimensions,
    small_line,
    survey_join,
)
from evaluator.readmodel.labels import _in_scheme_order, _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run, require_units

# --------------------------------------------------------------------------- compare


def unit_choices(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The units the viewer may open on this run (a unit user: its own only)."""
    require_run(con, viewer, run_id)
    own = viewer.unit_id if viewer.role == "unit" else None
    return _df(
        con,
        "SELECT unit_id, unit_name, peer_group, rank FROM run_scores WHERE run_id = ? "
        "AND (? IS NULL OR unit_id = ?) ORDER BY rank NULLS LAST, unit_id",
        [run_id, own, own],
    )


def dimension_scores(
    con: Con, run_id: str, unit_ids: list[str], lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """Top-level dimension scores (0–100) of the chosen units, in scheme order."""
    require_run(con, viewer, run_id)
    require_units(viewer, unit_ids)
    hidden = hidden_dimensions(dimension_floor(con, run_id, viewer), "$run")
    df = _df(
        con,
        f"""
        SELECT d.unit_id, s.unit_name, d.dimension_id,
               CASE WHEN h.unit_id IS NULL THEN d.score END AS score, d.weight,
               CASE WHEN h.unit_id IS NULL THEN d.contribution END AS contribution,
               h.unit_id IS NOT NULL AS suppressed
        FROM run_dimension_scores d
        JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        LEFT JOIN {hidden} h ON h.unit_id = d.unit_id AND h.dimension_id = d.dimension_id
        WHERE d.run_id = $run AND d.parent_id IS NULL AND list_contains($units, d.unit_id)
        """,
        {"run": run_id, "units": unit_ids},
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "dimension_id", "dimension_name", lang)
    return _in_scheme_order(df, labels, "dimension_id", "unit_id", keep=True)


def indicator_comparison(
    con: Con,
    run_id: str,
    unit_ids: list[str],
    lang: str = "zh",
    *,
    viewer: Viewer = OFFICE,
) -> pl.DataFrame:
    """Indicator scores of the chosen units beside the median score of each unit's peer group.

    Small satisfaction cells are blanked for non-office roles (`suppressed`, threshold in
    `min_responses`) and left out of the peer medians they would otherwise move."""
    require_run(con, viewer, run_id)
    require_units(viewer, unit_ids)
    floor = floor_for(con, run_id, viewer)
    small = small_line(floor, "i")
    # The chosen units' lines, and the peer medians from a lean scan (indicator, peer group,
    # score) of only their peer groups' lines: the survey join only when a cell can be small.
    # Lines without local weights and contributions (INDICATOR_LINES): 1.2 → 0.5 s at province.
    peer_small = small if dimension_floor(con, run_id, viewer) > 0 else "FALSE"
    peer_join = survey_join("i") if peer_small != "FALSE" else ""
    df = _df(
        con,
        f"""
        WITH chosen AS (
            SELECT i.unit_id, s.unit_name, s.peer_group, i.indicator_id, i.dimension_id,
                   i.evidence, i.raw_value, i.score, i.weight, {small} AS suppressed
            FROM {INDICATOR_LINES} i {survey_join("i")}
            JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
            WHERE i.run_id = $run AND list_contains($units, i.unit_id)),
        members AS (  -- the units of the chosen units' peer groups, before the lines' join
            SELECT s.unit_id, s.peer_group FROM run_scores s
            WHERE s.run_id = $run AND EXISTS (
                SELECT 1 FROM run_scores c WHERE c.run_id = $run AND list_contains($units, c.unit_id)
                AND c.peer_group IS NOT DISTINCT FROM s.peer_group)),
        peer AS (
            SELECT i.indicator_id, s.peer_group,
                   median(i.score) FILTER (WHERE NOT {peer_small}) AS peer_median
            FROM {INDICATOR_LINES} i {peer_join}
            JOIN members s ON s.unit_id = i.unit_id
            WHERE i.run_id = $run
            GROUP BY ALL)
        SELECT l.unit_id, l.unit_name, l.peer_group, l.indicator_id, l.dimension_id, l.evidence,
               CASE WHEN NOT l.suppressed THEN l.raw_value END AS raw_value,
               CASE WHEN NOT l.suppressed THEN l.score END AS score, p.peer_median, l.weight,
               l.suppressed, {floor} AS min_responses
        FROM chosen l
        LEFT JOIN peer p ON p.indicator_id = l.indicator_id
             AND p.peer_group IS NOT DISTINCT FROM l.peer_group
        """,
        {"run": run_id, "units": unit_ids},
    )
    labels = scheme_labels(con, run_id)
    df = _with_names(df, labels, "indicator_id", "indicator_name", lang)
    return _in_scheme_order(df, labels, "indicator_id", "unit_id", keep=True)


def compare_summary(
    con: Con, run_id: str, unit_ids: list[str], lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """Per chosen unit, each top-level dimension's gap to the mean of the chosen units.

    The dashboard turns the largest positive and negative gaps into a plain-language sentence.
    """
    require_run(con, viewer, run_id)
    require_units(viewer, unit_ids)
    dims = dimension_scores(con, run_id, unit_ids, lang, viewer=viewer)
    if dims.is_empty():
        return dims
    return dims.with_columns(
        (pl.col("score") - pl.col("score").mean().over("dimension_id")).alias("gap"),
        (pl.col("score") == pl.col("score").max().over("dimension_id")).alias("is_best"),
    ).sort("unit_id", "gap", descending=[False, True])
