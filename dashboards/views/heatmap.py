"""Heat map: every unit × its dimension (or indicator) scores, each cell in its grade band's colour.

The scorecard offices print: the same filters and sort as the league table (kept across pages),
the peer group beside each unit, the bands named above the table. A row opens the unit profile.
"""

import polars as pl
import streamlit as st
import ui.heat_table as heat_html
from ui.context import read
from ui.filters import selection
from ui.heat_table import heat_table
from ui.i18n import t, value_label
from ui.page import start
from ui.state import prepare, to_url
from ui.tables import header, localise, xlsx_button

from evaluator import readmodel as rm
from evaluator.grades_palette import colour_of

PROFILE = "views/unit.py"

ctx = start("heatmap_title", roles=("office", "leadership"))
st.caption(t("heatmap_intro"))
levels = {"dimension": t("heatmap_dimensions"), "indicator": t("heatmap_indicators")}
widget = prepare("hm_level", "dimension", lambda v: v in levels, param="level")
st.radio(t("heatmap_level"), list(levels), format_func=levels.__getitem__, horizontal=True, **widget)
level = str(st.session_state[widget["key"]])
to_url("level", None if level == "dimension" else level)

dims: pl.DataFrame = read(rm.top_dimensions, ctx.viewer, ctx.run_id, lang=ctx.lang)
cells: pl.DataFrame = read(rm.heatmap_columns, ctx.viewer, ctx.run_id, lang=ctx.lang, level=level)
extra = (
    dict(zip(cells["column"], cells["name"], strict=True)) if level == "indicator" else {}
)
sel = selection(ctx, dims, extra)
heat: rm.Heatmap = read(
    rm.heatmap,
    ctx.viewer,
    ctx.run_id,
    lang=ctx.lang,
    level=level,
    unit_types=sel.unit_types,
    peer_groups=sel.peer_groups,
    search=sel.search,
    grades=sel.grades,
    flags=sel.flags,
    parents=sel.parents,
    sort=sel.sort,
)
codes: list[str] = read(rm.grade_codes, ctx.viewer, ctx.run_id)
table = heat.table

if heat.bands.is_empty():
    st.info(t("heatmap_no_bands"))
else:  # the legend: each band's colour, name and floor on the 0–100 scale of the cells
    bands = heat.bands.to_dicts()
    chips = [
        f'<span style="background:{colour_of(b["grade"], codes, light=True)};padding:2px 8px;'
        f'border-radius:4px;margin-right:6px">{b["grade_name"]} '
        + (f"≥ {b['floor']:g}" if b["floor"] is not None else f"< {bands[n - 1]['floor']:g}")
        + "</span>"
        for n, b in enumerate(bands)
    ]
    st.markdown(t("heatmap_bands") + " " + "".join(chips), unsafe_allow_html=True)

st.caption(t("rows_shown", n=table.height, total=ctx.info.units) + " · " + t("heatmap_print"))
full = table  # every filtered row: the XLSX download has them all
size = heat_html.PAGE_ROWS
if table.height > size:  # in pages: one HTML table of 20,000 units is ~1.4 s of st.html alone
    starts = list(range(0, table.height, size))
    spans = {s0: t("heatmap_page", first=s0 + 1, last=min(s0 + size, table.height),
                   total=table.height) for s0 in starts}
    page = prepare("hm_page", 0, lambda v: v in spans)
    first = st.selectbox(t("heatmap_rows"), starts, format_func=spans.__getitem__, **page)
    table = table.slice(int(first or 0), size)
if heat.suppressed:  # blank cells: small survey cells withheld from this (non-office) reader
    st.caption(t("suppressed_note", n=heat.suppressed, min=heat.min_responses))
cell_names = dict(zip(heat.columns["column"], heat.columns["name"], strict=True))
palette = {c: colour_of(c, codes, light=True) for c in codes}
colours = table.select(
    "unit_id",
    pl.col("grade").replace_strict(palette, default="#ffffff").alias("bg__grade_name"),
    *[
        pl.col(c.replace(rm.CELL, "band__", 1)).replace_strict(palette, default="#ffffff")
        .alias(f"bg__{c}")
        for c in cell_names
    ],
)
columns = {"rank": "c_rank", "unit_name": "c_unit_name", "unit_id": "c_unit_id",
           "peer_group": "c_peer_group", "score": "c_score", "grade_name": "c_grade"}
peers = {p: value_label(p, "peer_group") for p in table["peer_group"].drop_nulls().unique()}
printed = pl.concat(
    [table.with_columns(pl.col("peer_group").replace_strict(peers, default=None)),
     colours.drop("unit_id")],
    how="horizontal",
)
if table.is_empty():
    st.caption(t("no_rows"))
else:
    st.html(heat_table(
        printed,
        {c: header(k) for c, k in {**columns, **cell_names}.items()},
        {c: f"bg__{c}" for c in ["grade_name", *cell_names]},
        {"score": ctx.decimals} | dict.fromkeys(cell_names, 1),
    ))
    xlsx_button(localise(full, {**columns, **cell_names}, coded={"peer_group": "peer_group"}),
                "heatmap")
    names = {"": t("pick_indicator_none")} | {  # made now: AppTest formats outside the run
        u: f"{n or u} ({u})" for u, n in zip(table["unit_id"], table["unit_name"], strict=True)
    }
    pick = st.selectbox(t("heatmap_open"), list(names), key="hm_open", format_func=names.__getitem__)
    if pick:  # the heat map's drill-down: that unit's profile
        st.switch_page(PROFILE, query_params={"unit": pick})
if level == "indicator":
    st.caption(t("heatmap_indicator_note"))
