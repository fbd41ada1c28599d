"""Plain-language sentences built from read-model rows (wording only, no computation)."""

from __future__ import annotations

import polars as pl

from ui.i18n import t


def _items(rows: pl.DataFrame) -> str:
    return t("list_sep").join(
        t("gap_item", dim=r["dimension_name"], gap=r["gap"]) for r in rows.to_dicts()
    )


def compare_sentences(summary: pl.DataFrame, order: list[str], margin: float = 1.0) -> list[str]:
    """One sentence per unit, in `order`: dimensions where it leads the selection's mean, and
    where it lags."""
    out = []
    for unit in order:
        part = summary.filter(pl.col("unit_id") == unit)
        if part.is_empty():
            continue
        name = part["unit_name"][0] or unit
        strong = part.filter(pl.col("gap") >= margin).sort("gap", descending=True).head(2)
        weak = part.filter(pl.col("gap") <= -margin).sort("gap").head(2)
        weak_part = t("summary_weak", weak=_items(weak)) if weak.height else ""
        if strong.height:
            out.append(t("summary_line", name=name, strong=_items(strong), weak_part=weak_part))
        else:
            out.append(t("summary_none", name=name, weak_part=weak_part))
    return out
