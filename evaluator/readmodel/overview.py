"""The overview page: league table, grade distribution, movers."""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.disclosure import (
    dimension_floor,
    floor_for,
    small_line,
    survey_join,
    top_dimension_cells,
)
from evaluator.readmodel.labels import (
    _grade_names,
    _in_scheme_order,
    _with_grade,
    _with_names,
    _with_tier_grade,
    _with_veto_names,
    scheme_labels,
)
from evaluator.readmodel.runs import previous_run_id
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_run

# --------------------------------------------------------------------------- overview


def filter_options(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> dict[str, list[str]]:
    """The values each league-table filter offers on this run (codes; the page names them).

    Grades and flags only for roles that see them per unit (not a unit viewer).
    """
    require_run(con, viewer, run_id)
    df = _df(
        con,
        """
        SELECT list_sort(list(DISTINCT s.unit_type) FILTER (s.unit_type IS NOT NULL)) AS unit_type,
               list_sort(list(DISTINCT s.peer_group) FILTER (s.peer_group IS NOT NULL)) AS peer_group,
               list_sort(list(DISTINCT u.parent_id) FILTER (u.parent_id IS NOT NULL)) AS parent_id,
               (SELECT list_sort(list(DISTINCT f.flag)) FROM run_flags f WHERE f.run_id = $run) AS flag
        FROM run_scores s LEFT JOIN current_units u ON u.unit_id = s.unit_id
        WHERE s.run_id = $run
        """,
        {"run": run_id},
    )
    out = {c: [str(v) for v in (df[c].to_list()[0] or [])] for c in df.columns}
    out["grade"] = [str(c) for c in scheme_labels(con, run_id).grades["code"].to_list()]
    if viewer.role == "unit":
        out["flag"] = []
    return out


def previous_period(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> str | None:
    """The period the league table's last-period columns compare with (None: no earlier run)."""
    previous = previous_run_id(con, run_id, viewer=viewer)
    if previous is None:
        return None
    return str(con.execute("SELECT period FROM runs WHERE run_id = ?", [previous]).fetchall()[0][0])


def parent_names(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> dict[str, str]:
    """Names of the parent units of the run's units (id → name; the id when unnamed)."""
    require_run(con, viewer, run_id)
    df = _df(
        con,
        """
        SELECT DISTINCT u.parent_id, coalesce(p.name, u.parent_id) AS name
        FROM run_scores s JOIN current_units u ON u.unit_id = s.unit_id
        LEFT JOIN current_units p ON p.unit_id = u.parent_id
        WHERE s.run_id = ? AND u.parent_id IS NOT NULL
        """,
        [run_id],
    )
    return dict(zip(df["parent_id"].to_list(), df["name"].to_list(), strict=True))


def top_dimensions(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The run's top-level dimensions (dimension_id, dimension_name) in scheme order."""
    require_run(con, viewer, run_id)
    labels = scheme_labels(con, run_id)
    dims = _df(
        con,
        "SELECT DISTINCT dimension_id FROM run_dimension_scores WHERE run_id = ? AND parent_id IS NULL",
        [run_id],
    )
    named = _with_names(dims, labels, "dimension_id", "dimension_name", lang)
    return _in_scheme_order(named, labels, "dimension_id")


DIM = "dim__"  # prefix of the league table's dimension-score columns (`dim__<dimension id>`)
SORTS = ("rank", "score", "score_change", "rank_change")  # besides `dim__<id>`: what a table sorts by


def league_table(
    con: Con,
    run_id: str,
    lang: str = "zh",
    unit_types: list[str] | None = None,
    peer_groups: list[str] | None = None,
    search: str | None = None,
    grades: list[str] | None = None,
    flags: list[str] | None = None,
    parents: list[str] | None = None,
    sort: str | None = None,
    *,
    viewer: Viewer = OFFICE,
    dimensions: bool = True,
) -> pl.DataFrame:
    """Scores, ranks (with interval when computed), grades, flags, last period's score and rank,
    and each top-level dimension's score (`dim__<id>`), best first or by `sort`.

    Filters combine with AND; within one filter any listed value matches (a unit matches `flags`
    when it has any of them). `parents` are the parent unit ids of the units' current record.
    `sort` is one of SORTS or `dim__<dimension id>`: scores and changes high first, rank low first.
    `dimensions=False` leaves out the `dim__` columns (the heat map reads its own cells).
    """
    require_run(con, viewer, run_id)
    unit_view = viewer.role == "unit"  # the published table only: no other unit's flags or intervals
    previous = previous_run_id(con, run_id, viewer=viewer)
    columns = (
        "s.rank, s.unit_id, s.unit_name, s.score, s.grade, i.tier, i.tier_grade"
        if unit_view
        else """s.rank, s.unit_id, s.unit_name, s.unit_type, s.peer_group, s.score,
               i.rank_low, i.rank_high, i.score_low, i.score_high, i.tier, i.tier_grade, s.grade,
               s.grade_reason,
               s.peer_rank, s.veto, s.coverage, u.parent_id, pu.name AS parent_name,
               p.score AS prev_score, p.rank AS prev_rank,
               s.score - p.score AS score_change, p.rank - s.rank AS rank_change,
               (SELECT string_agg(DISTINCT f.flag, ', ' ORDER BY f.flag) FROM run_flags f
                WHERE f.run_id = s.run_id AND f.unit_id = s.unit_id) AS flags"""
    )
    df = _df(
        con,
        f"""
        SELECT {columns}
        FROM run_scores s JOIN run_intervals i ON i.run_id = s.run_id AND i.unit_id = s.unit_id
        LEFT JOIN current_units u ON u.unit_id = s.unit_id
        LEFT JOIN current_units pu ON pu.unit_id = u.parent_id
        LEFT JOIN run_scores p ON p.run_id = $prev AND p.unit_id = s.unit_id
        WHERE s.run_id = $run
          AND ($types IS NULL OR list_contains($types, s.unit_type))
          AND ($peers IS NULL OR list_contains($peers, s.peer_group))
          AND ($grades IS NULL OR list_contains($grades, s.grade))
          AND ($parents IS NULL OR list_contains($parents, u.parent_id))
          AND ($flags IS NULL OR EXISTS (SELECT 1 FROM run_flags f WHERE f.run_id = s.run_id
                                         AND f.unit_id = s.unit_id AND list_contains($flags, f.flag)))
          AND ($search IS NULL OR contains(lower(coalesce(s.unit_name, '') || ' ' || s.unit_id),
                                           lower($search)))
        ORDER BY s.rank NULLS LAST, s.score DESC, s.unit_id
        """,
        {
            "run": run_id,
            "prev": previous,
            "types": unit_types or None,
            "peers": peer_groups or None,
            "grades": grades or None,
            "parents": parents or None,
            "flags": (flags or None) if not unit_view else None,
            "search": search or None,
        },
    )
    labels = scheme_labels(con, run_id)
    out = _with_tier_grade(_with_grade(df, labels, lang), labels, lang)
    if unit_view:
        return _sorted(out.select(UNIT_LEAGUE_COLUMNS), sort)
    if not dimensions:
        return _sorted(_with_veto_names(out, labels, lang), sort)
    dims = _df(  # a dimension resting on small survey cells only is blank for non-office roles
        con,
        f"SELECT unit_id, node_id AS dimension_id, score FROM "
        f"({top_dimension_cells(dimension_floor(con, run_id, viewer))})",
        {"run": run_id},
    )
    order = top_dimensions(con, run_id, lang, viewer=viewer)["dimension_id"].to_list()
    if dims.height:
        wide = dims.with_columns(pl.format(DIM + "{}", "dimension_id").alias("dimension_id")).pivot(
            "dimension_id", index="unit_id", values="score"
        )
        wide = wide.select("unit_id", *[DIM + d for d in order if DIM + d in wide.columns])
        out = out.join(wide, on="unit_id", how="left", maintain_order="left")
    return _sorted(_with_veto_names(out, labels, lang), sort)


def _sorted(df: pl.DataFrame, sort: str | None) -> pl.DataFrame:
    """Rows by `sort` (rank first when None or unknown), ties by rank then unit id."""
    if not sort or sort not in df.columns or sort == "rank":
        return df
    return df.sort(
        [sort, "rank", "unit_id"], descending=[sort != "rank", False, False], nulls_last=True
    )


# What a unit sees of the league table: each unit's rank, score, grade (and its tier and, when the
# scheme grades by tier, the tier's grade).
UNIT_LEAGUE_COLUMNS = ("rank", "unit_id", "unit_name", "score", "grade", "grade_name", "grade_order",
                       "tier", "tier_grade", "tier_grade_name")


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
    floor = floor_for(con, run_id, viewer)  # a small survey cell's contribution is not quoted
    lines = f"SELECT r.*, {small_line(floor)} AS small FROM run_indicator_scores r {survey_join()}"
    deltas = _df(
        con,
        f"""
        SELECT coalesce(c.unit_id, p.unit_id) AS unit_id,
               coalesce(c.indicator_id, p.indicator_id) AS indicator_id,
               coalesce(c.contribution, 0) - coalesce(p.contribution, 0) AS delta
        FROM ({lines} WHERE r.run_id = ?) c
        FULL JOIN ({lines} WHERE r.run_id = ?) p
          ON p.unit_id = c.unit_id AND p.indicator_id = c.indicator_id
        WHERE NOT coalesce(c.small, FALSE) AND NOT coalesce(p.small, FALSE)
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
