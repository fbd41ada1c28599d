"""Tables with headers and coded values in the reader's language."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.i18n import t, value_label

Coded = tuple[str, ...] | dict[str, str]


def localise(df: pl.DataFrame, columns: dict[str, str], coded: Coded = ()) -> pl.DataFrame:
    """Keep `columns` (id → label key) in that order, translate coded values, rename headers.

    `coded` lists the columns holding codes (comma-separated lists allowed), or maps each to its
    code list (`{"rule": "rule"}`, see `value_label`).
    """
    keep = [c for c in columns if c in df.columns]
    out = df.select(keep)
    groups = coded if isinstance(coded, dict) else dict.fromkeys(coded, "")
    for col, group in groups.items():
        if col in out.columns:
            codes = out.select(pl.col(col).cast(pl.String).unique().drop_nulls())[col].to_list()
            names = {
                c: ", ".join(value_label(p.strip(), group) for p in c.split(",")) for c in codes
            }
            out = out.with_columns(pl.col(col).cast(pl.String).replace_strict(names, default=None))
    out = out.with_columns(pl.col(pl.String).fill_null(""), pl.col(pl.Float64).round(4))
    return out.rename({c: t(columns[c]) for c in keep})


def show(
    df: pl.DataFrame,
    columns: dict[str, str],
    coded: Coded = (),
    height: int | None = None,
) -> None:
    if df.is_empty():  # not an empty grid with Streamlit's own English "empty"
        st.caption(t("no_rows"))
        return
    table = localise(df, columns, coded)
    if height is None:
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.dataframe(table, hide_index=True, width="stretch", height=height)
