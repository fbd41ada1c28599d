"""Tables with headers and coded values in the reader's language."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.i18n import t, value_label


def localise(
    df: pl.DataFrame, columns: dict[str, str], coded: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Keep `columns` (id → label key) in that order, translate coded values, rename headers."""
    keep = [c for c in columns if c in df.columns]
    out = df.select(keep)
    for col in coded:
        if col in out.columns:
            out = out.with_columns(
                pl.col(col).map_elements(
                    lambda v: ", ".join(value_label(p.strip()) for p in str(v).split(",")),
                    return_dtype=pl.String,
                    skip_nulls=True,
                )
            )
    out = out.with_columns(pl.col(pl.String).fill_null(""), pl.col(pl.Float64).round(4))
    return out.rename({c: t(columns[c]) for c in keep})


def show(
    df: pl.DataFrame,
    columns: dict[str, str],
    coded: tuple[str, ...] = (),
    height: int | None = None,
) -> None:
    table = localise(df, columns, coded)
    if height is None:
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.dataframe(table, hide_index=True, width="stretch", height=height)
