"""The compare page: units side by side."""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import Con, _df
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
    df = _df(
        con,
        """
        SELECT d.unit_id, s.unit_name, d.dimension_id, d.score, d.weight, d.contribution
        FROM run_dimension_scores d
        JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        WHERE d.run_id = ? AND d.parent_id IS NULL AND list_contains(?, d.unit_id)
        """,
        [run_id, unit_ids],
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
    """Indicator scores of the chosen units beside the median score of each unit's peer group."""
    require_run(con, viewer, run_id)
    require_units(viewer, unit_ids)
    df = _df(
        con,
        """
        WITH peer AS (
            SELECT i.indicator_id, s.peer_group, median(i.score) AS peer_median
            FROM run_indicator_scores i
            JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
            WHERE i.run_id = ? GROUP BY ALL)
        SELECT i.unit_id, s.unit_name, s.peer_group, i.indicator_id, i.dimension_id, i.evidence,
               i.raw_value, i.score, p.peer_median, i.weight
        FROM run_indicator_scores i
        JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
        LEFT JOIN peer p ON p.indicator_id = i.indicator_id
             AND p.peer_group IS NOT DISTINCT FROM s.peer_group
        WHERE i.run_id = ? AND list_contains(?, i.unit_id)
        """,
        [run_id, run_id, unit_ids],
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
    dims = dimension_scores(con, run_id, unit_ids, lang)
    if dims.is_empty():
        return dims
    return dims.with_columns(
        (pl.col("score") - pl.col("score").mean().over("dimension_id")).alias("gap"),
        (pl.col("score") == pl.col("score").max().over("dimension_id")).alias("is_best"),
    ).sort("unit_id", "gap", descending=[False, True])
