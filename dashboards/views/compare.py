"""Compare units: 2–6 units side by side, by dimension and indicator, with a plain summary."""

import polars as pl
import streamlit as st
from ui import charts
from ui.context import q
from ui.i18n import t
from ui.page import start
from ui.text import compare_sentences

ctx = start("compare_title")
choices: pl.DataFrame = q("unit_choices", ctx.run_id)
names = dict(
    zip(choices["unit_id"], choices["unit_name"].fill_null(choices["unit_id"]), strict=True)
)
ids = list(names)
if st.session_state.get("cmp_run") != ctx.run_id:  # new run: default to the top three
    st.session_state["cmp_run"] = ctx.run_id
    st.session_state["cmp_units"] = ids[:3]
picked = st.multiselect(
    t("pick_units"),
    ids,
    format_func=lambda u: f"{names[u]} ({u})",
    max_selections=6,
    key="cmp_units",
    placeholder=t("choose"),
)
if len(picked) < 2:
    st.info(t("pick_more"))
    st.stop()

dims: pl.DataFrame = q("dimension_scores", ctx.run_id, picked, lang=ctx.lang)
inds: pl.DataFrame = q("indicator_comparison", ctx.run_id, picked, lang=ctx.lang)
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
    for line in compare_sentences(q("compare_summary", ctx.run_id, picked, lang=ctx.lang), picked):
        st.markdown("- " + line)
st.subheader(t("ind_bars"))
by_unit = inds.sort(pl.col("unit_id").replace_strict(order), maintain_order=True)
st.plotly_chart(charts.indicator_bars(by_unit, colours), width="stretch")
