"""Scheme names and grades for a run, parsed once per stored scheme."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from evaluator.labels import Group, label
from evaluator.readmodel._base import GRADE_ORDER_DEFAULT, Con, _df, _lang_col, _one
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run
from evaluator.runs import stored_scheme
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.models import Scheme

# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class SchemeLabels:
    """Bilingual names of the run's dimensions, indicators and grades (from the run's scheme)."""

    nodes: pl.DataFrame  # node_id, kind, name_zh, name_en
    grades: pl.DataFrame  # code, name_zh, name_en, grade_order
    scheme: Scheme | None
    items: pl.DataFrame = field(default_factory=pl.DataFrame)  # item_id, kind (veto…), names

    def node_name(self, node_id: str, lang: str) -> str:
        hit = self.nodes.filter(pl.col("node_id") == node_id)
        return str(hit[_lang_col("name", lang)][0]) if hit.height else node_id


_PARSED: dict[str, LoadedScheme | None] = {}  # scheme_hash → parsed scheme (content-addressed)
_LABELS: dict[str, SchemeLabels] = {}  # scheme_hash → its labels
_KEEP = 64  # schemes kept per process: a handful of runs' schemes, a few MB at most


def _remember(cache: dict[str, Any], key: str, value: Any) -> Any:
    if len(cache) >= _KEEP:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def min_responses(con: Con, run_id: str) -> int:
    """The run's `disclosure.min_responses` (default 10 when its scheme cannot be read)."""
    loaded = _loaded_scheme(con, run_id)
    return loaded.scheme.disclosure.min_responses if loaded else 10


def _loaded_scheme(con: Con, run_id: str) -> LoadedScheme | None:
    """The run's own scheme (an unreadable one only costs the page its labels, never the page).

    Parsing the YAML is the slowest step of most page queries (~60 ms) and every page asks for
    it several times; a run's scheme text never changes, so it is parsed once per content hash.
    """
    row = _one(con, "SELECT scheme_hash, scheme_yaml FROM runs WHERE run_id = ?", [run_id])
    if not row or not row[1]:
        return None
    key = str(row[0] or hash(row[1]))
    if key in _PARSED:
        return _PARSED[key]
    parsed: LoadedScheme | None = _remember(_PARSED, key, stored_scheme(row[1], run_id))
    return parsed


def _scheme_key(con: Con, run_id: str) -> str | None:
    row = _one(con, "SELECT scheme_hash FROM runs WHERE run_id = ? AND scheme_yaml IS NOT NULL", [run_id])
    return str(row[0]) if row and row[0] else None


def scheme_labels(con: Con, run_id: str) -> SchemeLabels:
    key = _scheme_key(con, run_id)
    if key is not None and key in _LABELS:
        return _LABELS[key]
    labels = _build_labels(con, run_id)
    if key is not None and labels.scheme is not None:
        _remember(_LABELS, key, labels)
    return labels


def _build_labels(con: Con, run_id: str) -> SchemeLabels:
    loaded = _loaded_scheme(con, run_id)
    scheme = loaded.scheme if loaded else None
    node_rows: list[dict[str, str]] = []
    grade_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, str]] = []
    if scheme is not None:
        item_rows = [
            {"item_id": v.id, "kind": "veto", "name_zh": v.name.zh, "name_en": v.name.en}
            for v in scheme.vetoes
        ] + [
            {"item_id": a.id, "kind": a.kind, "name_zh": a.name.zh, "name_en": a.name.en}
            for a in scheme.adjustments
        ]
        node_rows += [
            {"node_id": d.id, "kind": "dimension", "name_zh": d.name.zh, "name_en": d.name.en}
            for d in scheme.all_dimensions()
        ]
        node_rows += [
            {"node_id": i.id, "kind": "indicator", "name_zh": i.name.zh, "name_en": i.name.en}
            for i in scheme.indicators()
        ]
        grade_rows = [
            {"code": g.code, "name_zh": g.name.zh, "name_en": g.name.en, "grade_order": n}
            for n, g in enumerate(scheme.grades)
        ]
    else:  # fall back to ids so pages still render
        node_rows = _df(
            con,
            "SELECT node_id, node_kind AS kind, node_id AS name_zh, node_id AS name_en "
            "FROM run_weights WHERE run_id = ?",
            [run_id],
        ).to_dicts()
        grade_rows = [
            {"code": c, "name_zh": c, "name_en": c, "grade_order": n}
            for n, c in enumerate(GRADE_ORDER_DEFAULT)
        ]
    schema_n = {"node_id": pl.String, "kind": pl.String, "name_zh": pl.String, "name_en": pl.String}
    schema_g = {
        "code": pl.String,
        "name_zh": pl.String,
        "name_en": pl.String,
        "grade_order": pl.Int64,
    }
    schema_i = {"item_id": pl.String, "kind": pl.String, "name_zh": pl.String, "name_en": pl.String}
    return SchemeLabels(
        nodes=pl.DataFrame(node_rows, schema=schema_n),
        grades=pl.DataFrame(grade_rows, schema=schema_g),
        scheme=scheme,
        items=pl.DataFrame(item_rows, schema=schema_i),
    )


def _with_veto_names(df: pl.DataFrame, labels: SchemeLabels, lang: str) -> pl.DataFrame:
    """`veto_name`: the run's veto ids (stored comma-separated) as the items' names in `lang`."""
    names = dict(zip(labels.items["item_id"], labels.items[_lang_col("name", lang)], strict=True))
    sep = "、" if lang == "zh" else ", "
    return df.with_columns(
        pl.col("veto")
        .str.split(",")
        .list.eval(pl.element().str.strip_chars().replace(names))
        .list.join(sep)
        .alias("veto_name")
    )


def _with_names(df: pl.DataFrame, labels: SchemeLabels, id_col: str, out_col: str, lang: str) -> pl.DataFrame:
    names = labels.nodes.select(
        pl.col("node_id").alias(id_col), pl.col(_lang_col("name", lang)).alias(out_col)
    ).unique(id_col)
    return df.join(names, on=id_col, how="left", maintain_order="left").with_columns(
        pl.col(out_col).fill_null(pl.col(id_col))
    )


def _in_scheme_order(
    df: pl.DataFrame, labels: SchemeLabels, id_col: str, *then: str, keep: bool = False
) -> pl.DataFrame:
    """Rows in the order the scheme declares `id_col` (unknown ids last), then by `then`;
    `keep` leaves the `node_order` column for pages that sort again."""
    order = labels.nodes.with_row_index("node_order").select(pl.col("node_id").alias(id_col), "node_order")
    out = df.join(order, on=id_col, how="left").sort("node_order", *then, nulls_last=True)
    return out if keep else out.drop("node_order")


def _grade_names(labels: SchemeLabels, lang: str) -> pl.DataFrame:
    """The run's grades as grade, grade_name (in `lang`), grade_order (0 is best)."""
    return labels.grades.select(
        pl.col("code").alias("grade"),
        pl.col(_lang_col("name", lang)).alias("grade_name"),
        "grade_order",
    )


def _with_grade(df: pl.DataFrame, labels: SchemeLabels, lang: str) -> pl.DataFrame:
    return df.join(_grade_names(labels, lang), on="grade", how="left").with_columns(
        pl.col("grade_name")
        .fill_null(pl.col("grade"))
        # no grade: the unit had no own data at all (see scoring/values.py MIN_COVERAGE)
        .fill_null(pl.lit(label(Group.value_status, "no_data", lang)))
    )


def _with_tier_grade(df: pl.DataFrame, labels: SchemeLabels, lang: str) -> pl.DataFrame:
    """`tier_grade` (a grade code, set when the scheme grades by tier) named as grades are."""
    names = _grade_names(labels, lang).select(
        pl.col("grade").alias("tier_grade"), pl.col("grade_name").alias("tier_grade_name")
    )
    return df.join(names, on="tier_grade", how="left", maintain_order="left").with_columns(
        pl.col("tier_grade_name").fill_null(pl.col("tier_grade"))
    )


def grade_codes(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> list[str]:
    """The run's grade codes, best first (the scheme's order: what grade colours follow)."""
    require_run(con, viewer, run_id)
    return [str(c) for c in scheme_labels(con, run_id).grades["code"].to_list()]


def score_scale(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> tuple[float, float]:
    """The run's score scale (min, max): 0–100 unless the scheme sets another."""
    require_run(con, viewer, run_id)
    scheme = scheme_labels(con, run_id).scheme
    return (float(scheme.scale.min), float(scheme.scale.max)) if scheme else (0.0, 100.0)


def score_decimals(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> int:
    """Decimals the run's scheme shows scores with (`scale.decimals`; 2 when unknown)."""
    require_run(con, viewer, run_id)
    scheme = scheme_labels(con, run_id).scheme
    return int(scheme.scale.decimals) if scheme is not None else 2
