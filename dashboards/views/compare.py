"""Compare units: 2–6 units side by side, by dimension and indicator, with a plain summary."""

import polars as pl
import streamlit as st
from ui import charts
from ui.context import read
from ui.i18n import t
from ui.page import start
from ui.state import prepare, remember, remembered, widget_key
from ui.text import compare_sentences

from evaluator import readmodel as rm

ctx = start("compare_title", roles=("office", "leadership"))
choices: pl.DataFrame = read(rm.unit_choices, ctx.viewer, ctx.run_id)
names = dict(
    zip(choices["unit_id"], choices["unit_name"].fill_null(choices["unit_id"]), strict=True)
)
ids = list(names)
# The picked units outlive page changes, language switches and run changes (those of them the
# other run scored stay); the top three only when nothing was picked yet.
before = remembered("cmp_units")
if isinstance(before, list):
    remember("cmp_units", [u for u in before if u in names])
widget = prepare("cmp_units", ids[:3], lambda v: isinstance(v, list))
if before is None:
    remember("cmp_units", st.session_state[widget_key("cmp_units")])
picked = st.multiselect(
    t("pick_units"),
    ids,
    format_func=lambda u: f"{names[u]} ({u})",
    max_selections=6,
    placeholder=t("choose"),
    select_all=False,
    **widget,
)
if len(picked) < 2:
    st.info(t("pick_more"))
    st.stop()

dims: pl.DataFrame = read(rm.dimension_scores, ctx.viewer, ctx.run_id, picked, lang=ctx.lang)
inds: pl.DataFrame = read(rm.indicator_comparison, ctx.viewer, ctx.run_id, picked, lang=ctx.lang)
colours = charts.unit_colours(picked)  # the same unit in the same colour in both charts
order = {u: n for n, u in enumerate(picked)}
left, right = st.columns([1, 1])
with left:
    st.subheader(t("radar"))
    st.plotly_chart(
        charts.radar(
            dims.sort(pl.col("unit_id").replace_strict(order), "node_order"), colours
        ),
        width="stretch",
    )
with right:
    st.subheader(t("summary"))
    summary = read(rm.compare_summary, ctx.viewer, ctx.run_id, picked, lang=ctx.lang)
    for line in compare_sentences(summary, picked):
        st.markdown("- " + line)
st.subheader(t("ind_bars"))
by_unit = inds.sort(pl.col("unit_id").replace_strict(order), maintain_order=True)
st.plotly_chart(charts.indicator_bars(by_unit, colours), width="stretch")
withheld = inds.filter(pl.col("suppressed"))  # small survey cells: no bar, no radar point
if withheld.height:
    st.caption(t("suppressed_note", n=withheld.height, min=withheld["min_responses"][0]))
