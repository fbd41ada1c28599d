"""The overview page: league table, grade distribution, movers."""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.labels import _grade_names, _with_grade, _with_names, _with_veto_names, scheme_labels
from evaluator.readmodel.runs import previous_run_id
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_run

# --------------------------------------------------------------------------- overview


def filter_options(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> dict[str, list[str]]:
    require_run(con, viewer, run_id)
    df = _df(con, "SELECT DISTINCT unit_type, peer_group FROM run_scores WHERE run_id = ?", [run_id])
    return {
        "unit_type": sorted(v for v in df["unit_type"].unique().to_list() if v is not None),
        "peer_group": sorted(v for v in df["peer_group"].unique().to_list() if v is not None),
    }


def league_table(
    con: Con,
    run_id: str,
    lang: str = "zh",
    unit_types: list[str] | None = None,
    peer_groups: list[str] | None = None,
    search: str | None = None,
    *,
    viewer: Viewer = OFFICE,
) -> pl.DataFrame:
    """Scores, ranks (with interval when computed), grades and flags, best first."""
    require_run(con, viewer, run_id)
    unit_view = viewer.role == "unit"  # the published table only: no other unit's flags or intervals
    columns = (
        "s.rank, s.unit_id, s.unit_name, s.score, s.grade"
        if unit_view
        else """s.rank, s.unit_id, s.unit_name, s.unit_type, s.peer_group, s.score,
               i.rank_low, i.rank_high, i.score_low, i.score_high, i.tier, s.grade,
               s.grade_reason,
               s.peer_rank, s.veto, s.coverage,
               (SELECT string_agg(DISTINCT f.flag, ', ' ORDER BY f.flag) FROM run_flags f
                WHERE f.run_id = s.run_id AND f.unit_id = s.unit_id) AS flags"""
    )
    df = _df(
        con,
        f"""
        SELECT {columns}
        FROM run_scores s JOIN run_intervals i ON i.run_id = s.run_id AND i.unit_id = s.unit_id
        WHERE s.run_id = ?
          AND (? IS NULL OR list_contains(?, s.unit_type))
          AND (? IS NULL OR list_contains(?, s.peer_group))
          AND (? IS NULL OR contains(lower(coalesce(s.unit_name, '') || ' ' || s.unit_id),
                                          lower(?)))
        ORDER BY s.rank NULLS LAST, s.score DESC, s.unit_id
        """,
        [
            run_id,
            unit_types or None,
            unit_types or None,
            peer_groups or None,
            peer_groups or None,
            search or None,
            search or None,
        ],
    )
    labels = scheme_labels(con, run_id)
    out = _with_grade(df, labels, lang)
    return out.select(UNIT_LEAGUE_COLUMNS) if unit_view else _with_veto_names(out, labels, lang)


# What a unit sees of the league table: each unit's rank, score, grade (and its tier name).
UNIT_LEAGUE_COLUMNS = ("rank", "unit_id", "unit_name", "score", "grade", "grade_name", "grade_order")


def grade_distribution(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Units per grade, in the scheme's grade order (best first), zero counts included."""
    require_run(con, viewer, run_id)
    labels = scheme_labels(con, run_id)
    counts = _df(
        con,
        "SELECT grade, count(*) AS units FROM run_scores WHERE run_id = ? GROUP BY grade",
        [run_id],
    )
    out = _grade_names(labels, lang).join(counts, on="grade", how="full", coalesce=True).with_columns(
        pl.col("units").fill_null(0),
        pl.col("grade_name").fill_null(pl.col("grade")),
        pl.col("grade_order").fill_null(99),
    )
    return out.sort("grade_order")


def movers(
    con: Con,
    run_id: str,
    previous: str | None = None,
    lang: str = "zh",
    top: int = 5,
    *,
    viewer: Viewer = OFFICE,
) -> pl.DataFrame:
    """Largest rises and falls against the previous period's run, with the indicators behind them.

    `drivers` lists the (at most two) indicators whose contribution moved most in the direction
    of the unit's change. Empty when there is no earlier run.
    """
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    previous = previous or previous_run_id(con, run_id, viewer=viewer)
    if previous is None:
        return pl.DataFrame()
    require_run(con, viewer, previous)
    change = _df(
        con,
        """
        SELECT c.unit_id, c.unit_name, c.score, p.score AS prev_score, c.score - p.score AS change,
               c.rank, p.rank AS prev_rank, p.rank - c.rank AS rank_change
        FROM run_scores c JOIN run_scores p ON p.unit_id = c.unit_id AND p.run_id = ?
        WHERE c.run_id = ? AND c.score IS NOT NULL AND p.score IS NOT NULL
        """,
        [previous, run_id],
    )
    if change.is_empty():
        return change
    ranked = pl.concat(
        [
            change.sort("change", descending=True).head(top).with_columns(pl.lit("up").alias("direction")),
            change.sort("change").head(top).with_columns(pl.lit("down").alias("direction")),
        ]
    ).filter(
        ((pl.col("direction") == "up") & (pl.col("change") > 0))
        | ((pl.col("direction") == "down") & (pl.col("change") < 0))
    )
    deltas = _df(
        con,
        """
        SELECT coalesce(c.unit_id, p.unit_id) AS unit_id,
               coalesce(c.indicator_id, p.indicator_id) AS indicator_id,
               coalesce(c.contribution, 0) - coalesce(p.contribution, 0) AS delta
        FROM (SELECT * FROM run_indicator_scores WHERE run_id = ?) c
        FULL JOIN (SELECT * FROM run_indicator_scores WHERE run_id = ?) p
          ON p.unit_id = c.unit_id AND p.indicator_id = c.indicator_id
        """,
        [run_id, previous],
    )
    deltas = _with_names(deltas, scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)
    drivers = (
        ranked.select("unit_id", "change")
        .join(deltas, on="unit_id")
        .filter(pl.col("delta") * pl.col("change").sign() > 0)
        .sort(pl.col("delta").abs(), descending=True)
        .group_by("unit_id", maintain_order=True)
        .head(2)
        .group_by("unit_id", maintain_order=True)
        .agg(
            pl.format(
                "{} ({}{})",
                pl.col("indicator_name"),
                pl.when(pl.col("delta") > 0).then(pl.lit("+")).otherwise(pl.lit("")),
                pl.col("delta").round(1),
            )
            .str.join("; ")
            .alias("drivers")
        )
    )
    return ranked.join(drivers, on="unit_id", how="left").with_columns(pl.col("drivers").fill_null(""))
