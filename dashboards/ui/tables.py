"""Tables with headers and coded values in the reader's language."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import polars as pl
import streamlit as st

from ui.i18n import L, t, value_label

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
    return out.rename({c: header(columns[c]) for c in keep})


def header(key: str) -> str:
    """A column header: a page-text key, or a name already in the reader's language (a
    dimension's name from the scheme)."""
    return t(key) if key in L else key


ROW_PX = 35  # Streamlit's grid: one row (and the header) in pixels


def show(
    df: pl.DataFrame,
    columns: dict[str, str],
    coded: Coded = (),
    height: int | None = None,
    *,
    decimals: dict[str, int] | None = None,
    percent: tuple[str, ...] = (),
    wide: tuple[str, ...] = (),
    every_row: bool = False,
    tags: dict[str, dict[str, str]] | None = None,
    select: str | None = None,
    download: str | None = None,
) -> Any:
    """A translated table, as tall as its rows (at most `height` px, then it scrolls).

    `decimals` fixes the shown decimals per column (scores per the scheme's scale), `percent`
    shows fractions as percentages with one decimal, `wide` gives long text columns room.
    `every_row` draws every row without an inner scroll box (a league table's bottom is as
    visible as its top), `tags` draws a column's values as coloured labels (value shown → CSS
    colour: grades in the grade palette; a column config, so 2,000 rows cost nothing, where a
    pandas Styler over the table took seconds), and `select` (a widget key) lets the reader
    pick one row: the selection event is returned.
    Every table offers its rows as shown (headers and codes translated) as an XLSX download,
    named `download` (a file stem; the header ids when None), built only when clicked.
    """
    if df.is_empty():  # not an empty grid with Streamlit's own English "empty"
        st.caption(t("no_rows"))
        return None
    df = df.with_columns(pl.col(c) * 100 for c in percent if c in df.columns)
    table = localise(df, columns, coded)
    config: dict[str, Any] = {}
    for col, d in (decimals or {}).items():
        if col in columns and col in df.columns:
            config[header(columns[col])] = st.column_config.NumberColumn(format=f"%.{d}f")
    for col in percent:
        if col in columns and col in df.columns:
            config[header(columns[col])] = st.column_config.NumberColumn(format="%.1f%%")
    for col in wide:
        if col in columns and col in df.columns:
            config[header(columns[col])] = st.column_config.TextColumn(width="large")
    fit = ROW_PX * (table.height + 1) + 3
    shown = table
    for col in columns:  # Streamlit draws a missing number as "None" (English, in every page)
        if col in df.columns and df[col].dtype.is_numeric() and df[col].null_count():
            name = header(columns[col])
            places = 1 if col in percent else (decimals or {}).get(col)
            shown = shown.with_columns(_with_dash(pl.col(name), places, col in percent).alias(name))
            config[name] = st.column_config.TextColumn(alignment="right")
    for col, colours in (tags or {}).items():
        if col in columns and col in df.columns:
            name = header(columns[col])
            shown = shown.with_columns(  # a one-label list per cell (none for an empty cell)
                pl.when(pl.col(name) != "").then(pl.concat_list(name)).alias(name))
            config[name] = st.column_config.MultiselectColumn(
                options=list(colours), color=list(colours.values()))
    xlsx_button(table, download or "_".join(c for c in columns if c in df.columns)[:40])
    extra: dict[str, Any] = (
        {"on_select": "rerun", "selection_mode": "single-row", "key": select} if select else {}
    )
    return st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=fit if every_row else (
            min(height, fit) if height is not None else fit if table.height <= 12 else "auto"),
        column_config=config or None,
        **extra,
    )


def _with_dash(col: pl.Expr, decimals: int | None, percent: bool) -> pl.Expr:
    """A number column as the grid would show it (`decimals` fixed when given, a `%` sign for
    shares), with "—" for a missing value; a polars expression, no loop over rows."""
    text = col.cast(pl.String) if decimals is None else col.round(decimals).cast(pl.String)
    if decimals:  # 88.5 → "88.50": pad the fraction the cast shortened
        parts = col.round(decimals).cast(pl.String).str.split_exact(".", 1)
        text = pl.format("{}.{}", parts.struct.field("field_0"),
                         parts.struct.field("field_1").fill_null("").str.pad_end(decimals, "0"))
    elif decimals == 0:
        text = col.round(0).cast(pl.Int64).cast(pl.String)
    return (text + "%" if percent else text).fill_null("—")


def xlsx_bytes(table: pl.DataFrame, sheet: str = "rows") -> bytes:
    """`table` (already translated) as an XLSX workbook."""
    buf = io.BytesIO()
    table.write_excel(buf, worksheet=sheet[:31], autofit=True)
    return buf.getvalue()


def xlsx_button(table: pl.DataFrame, stem: str) -> None:
    """A small download button for `table`'s rows as shown; the workbook is made on click."""
    digest = hashlib.sha1(("|".join(table.columns) + stem).encode()).hexdigest()[:10]
    st.download_button(
        t("download_xlsx"),
        data=lambda: xlsx_bytes(table),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{digest}",
        icon=":material/download:",
        type="tertiary",
        on_click="ignore",
    )
