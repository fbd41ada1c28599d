"""The heat map: units × dimensions (or indicators), each cell in the score band of its grade.

A scheme's grades are bands of the total score (`min_score` on its scale); a dimension or
indicator score is on 0–100, so each band's floor is placed at the same share of the scale
(90 of 0–100 stays 90; 9 of 0–10 becomes 90). A cell is in the first band (best first) whose
floor it reaches; the last band catches the rest. Schemes graded by quota alone have no floors:
the heat map then has no bands and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.readmodel._base import INDICATOR_LINES, Con, _df
from evaluator.readmodel.disclosure import dimension_floor, floor_for, indicator_cells, top_dimension_cells
from evaluator.readmodel.labels import _in_scheme_order, _with_names, scheme_labels
from evaluator.readmodel.overview import DIM, league_table, top_dimensions
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_run

LEVELS = ("dimension", "indicator")
CELL = "cell__"  # prefix of a heat-map cell column (`cell__<dimension or indicator id>`)
ROW_COLUMNS = ("rank", "unit_id", "unit_name", "peer_group", "unit_type", "score", "grade",
               "grade_name", "grade_order", "prev_rank", "rank_change", "score_change")


@dataclass(frozen=True)
class Heatmap:
    table: pl.DataFrame  # ROW_COLUMNS + one `cell__<id>` score per column + `band__<id>` grade code
    columns: pl.DataFrame  # column, node_id, name, dimension_name (indicators), in scheme order
    bands: pl.DataFrame  # grade, grade_name, floor (0–100), grade_order; empty without floors
    suppressed: int = 0  # cells left blank: small survey cells (non-office viewers)
    min_responses: int = 0  # the threshold they fell below (0: the office, nothing withheld)


def score_bands(con: Con, run_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The run's grade bands as floors on the 0–100 score scale of dimensions and indicators."""
    require_run(con, viewer, run_id)
    labels = scheme_labels(con, run_id)
    scheme = labels.scheme
    schema = {"grade": pl.String, "grade_name": pl.String, "floor": pl.Float64, "grade_order": pl.Int64}
    if scheme is None or all(g.min_score is None for g in scheme.grades[:-1]) or len(scheme.grades) < 2:
        return pl.DataFrame(schema=schema)
    lo, hi = float(scheme.scale.min), float(scheme.scale.max)
    rows = [
        {
            "grade": g.code,
            "grade_name": getattr(g.name, "zh" if lang == "zh" else "en"),
            # rounded: 55 on 0–100 must stay 55, not 55.00000000000001 (a cell at 55 is in)
            "floor": None if g.min_score is None else round((g.min_score - lo) * 100.0 / (hi - lo), 9),
            "grade_order": n,
        }
        for n, g in enumerate(scheme.grades)
    ]
    return pl.DataFrame(rows, schema=schema)


def band_of(score: pl.Expr, bands: pl.DataFrame) -> pl.Expr:
    """The grade code of the first band (best first) whose floor `score` reaches; the last band
    (or a band without floor) catches the rest; null stays null."""
    rows = bands.sort("grade_order").to_dicts()
    if not rows:
        return pl.lit(None, dtype=pl.String)
    out: pl.Expr = pl.lit(rows[-1]["grade"])
    for r in reversed(rows[:-1]):
        if r["floor"] is not None:
            out = pl.when(score >= r["floor"]).then(pl.lit(r["grade"])).otherwise(out)
    return pl.when(score.is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(out)


def heatmap(
    con: Con,
    run_id: str,
    lang: str = "zh",
    level: str = "dimension",
    unit_types: list[str] | None = None,
    peer_groups: list[str] | None = None,
    search: str | None = None,
    grades: list[str] | None = None,
    flags: list[str] | None = None,
    parents: list[str] | None = None,
    sort: str | None = None,
    *,
    viewer: Viewer = OFFICE,
) -> Heatmap:
    """The league table's units (same filters) × top-level dimensions or every indicator.

    `sort` is any table column (a `cell__<id>`, score, rank, rank_change…); scores high first,
    rank and names low first. Cross-unit detail: refused to a unit viewer.
    """
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    if level not in LEVELS:
        raise ValueError(f"unknown heat-map level {level!r}: use one of {', '.join(LEVELS)}")
    rows = league_table(
        con, run_id, lang, unit_types, peer_groups, search, grades, flags, parents, viewer=viewer,
        dimensions=False,
    ).select(ROW_COLUMNS)
    columns = heatmap_columns(con, run_id, lang, level, viewer=viewer)
    floor = floor_for(con, run_id, viewer)  # small survey cells are blank for non-office roles
    query = (top_dimension_cells(dimension_floor(con, run_id, viewer)) if level == "dimension"
             else indicator_cells(floor))
    cells = _df(con, query, {"run": run_id})
    bands = score_bands(con, run_id, lang, viewer=viewer)
    table = rows
    if cells.height:
        wide = cells.with_columns(pl.format(CELL + "{}", "node_id").alias("node_id")).pivot(
            "node_id", index="unit_id", values="score"
        )
        present = [c for c in columns["column"].to_list() if c in wide.columns]
        table = rows.join(wide.select("unit_id", *present), on="unit_id", how="left", maintain_order="left")
        table = table.with_columns(
            band_of(pl.col(c), bands).alias(c.replace(CELL, "band__", 1)) for c in present
        )
        columns = columns.filter(pl.col("column").is_in(present))
        withheld = cells.filter(pl.col("suppressed") & pl.col("unit_id").is_in(rows["unit_id"]
                                                                             .implode())).height
    else:
        withheld = 0
    if sort and sort.startswith(DIM):  # the league table's dimension sort, on the same scores
        sort = CELL + sort[len(DIM):]
    return Heatmap(table=_sort(table, sort), columns=columns, bands=bands, suppressed=withheld,
                   min_responses=floor)


def heatmap_columns(
    con: Con, run_id: str, lang: str = "zh", level: str = "dimension", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The heat map's cell columns in scheme order: column, node_id, name, dimension_name (the
    indicator's dimension; null for dimensions)."""
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    if level == "dimension":
        nodes = top_dimensions(con, run_id, lang, viewer=viewer).rename(
            {"dimension_id": "node_id", "dimension_name": "name"}
        ).with_columns(pl.lit(None, dtype=pl.String).alias("dimension_name"))
    else:
        labels = scheme_labels(con, run_id)
        found = _df(
            con,
            f"SELECT DISTINCT indicator_id AS node_id, dimension_id FROM {INDICATOR_LINES} "
            "WHERE run_id = ?",
            [run_id],
        )
        found = _with_names(found, labels, "node_id", "name", lang)
        found = _with_names(found, labels, "dimension_id", "dimension_name", lang)
        nodes = _in_scheme_order(found, labels, "node_id").select("node_id", "name", "dimension_name")
    return nodes.with_columns(pl.format(CELL + "{}", "node_id").alias("column")).select(
        "column", "node_id", "name", "dimension_name"
    )


def _sort(df: pl.DataFrame, sort: str | None) -> pl.DataFrame:
    if not sort or sort not in df.columns or sort == "rank":
        return df
    text = df.schema[sort] == pl.String
    return df.sort([sort, "rank", "unit_id"], descending=[not text, False, False], nulls_last=True)

