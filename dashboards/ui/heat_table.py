"""The heat map as a plain HTML table: every cell in its band's colour, made by polars expressions.

Not st.dataframe: colouring a grid goes through pandas' Styler, which takes over a second for
2,000 units however few columns are coloured; an HTML table is built in milliseconds, prints
on paper as it looks on screen (header repeated on each page, the sidebar left out), and its
colours are in the markup.
"""

from __future__ import annotations

import html

import polars as pl

# Rows drawn at once. The table of 20,000 units is ~8 MB of HTML, which st.html alone takes
# ~1.4 s to pass on (and a browser longer to lay out); above this the heat map is paged.
PAGE_ROWS = 2000

PRINT_CSS = """
<style>
.heat { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
.heat-wrap { overflow-x: auto; }
.heat th, .heat td { border: 1px solid #ddd; padding: 2px 6px; }
.heat td { white-space: nowrap; }
.heat th { min-width: 3.5em; vertical-align: bottom; }
.heat th { background: #f4f4f4; position: sticky; top: 0; text-align: left; }
.heat td.n { text-align: right; font-variant-numeric: tabular-nums; }
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stElementToolbar"], .stMultiSelect, .stSelectbox, .stRadio, .stTextInput,
  .stDownloadButton { display: none !important; }
  .heat { font-size: 8pt; }
  .heat-wrap { overflow: visible; }
  .heat thead { display: table-header-group; }
  .heat tr { page-break-inside: avoid; }
}
</style>
"""


def _escaped(col: pl.Expr) -> pl.Expr:
    return (
        col.cast(pl.String).fill_null("")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
    )


def fixed(col: pl.Expr, decimals: int) -> pl.Expr:
    """A number with exactly `decimals` decimals (70.5 → "70.50"), "—" when null."""
    scaled = (col * 10**decimals).round(0).cast(pl.Int64)
    whole = (scaled.abs() // 10**decimals).cast(pl.String)
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = (
        pl.concat_str([sign, whole, pl.lit("."),
                       (scaled.abs() % 10**decimals).cast(pl.String).str.zfill(decimals)])
        if decimals > 0 else pl.concat_str([sign, whole])
    )
    return pl.when(col.is_null()).then(pl.lit("—")).otherwise(text)


def heat_table(
    df: pl.DataFrame,
    headers: dict[str, str],
    backgrounds: dict[str, str],
    decimals: dict[str, int],
) -> str:
    """`df`'s `headers` columns (id → shown header) as an HTML table. `backgrounds` maps a
    column to the column holding each row's CSS colour; a column in `decimals` is a
    right-aligned number with that many decimals."""
    cells = []
    for col in headers:
        number = col in decimals
        text = fixed(pl.col(col), decimals[col]) if number else _escaped(pl.col(col))
        klass = ' class="n"' if number else ""
        style = (
            pl.format(' style="background:{}"', pl.col(backgrounds[col]))
            if col in backgrounds else pl.lit("")
        )
        cells.append(pl.format("<td{}{}>{}</td>", pl.lit(klass), style, text))
    body = df.select(pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")]).str.join(""))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers.values())
    rows = body.item() if df.height else ""
    return (f'{PRINT_CSS}<div class="heat-wrap"><table class="heat"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")
