"""Sensitivity: how firm each rank is under resampling and weight uncertainty (when computed)."""

import json

import polars as pl
import streamlit as st
from ui import charts
from ui.context import read
from ui.i18n import t
from ui.page import start
from ui.tables import show

from evaluator import readmodel as rm

ctx = start("sens_title", roles=("office", "leadership"))
ranges: pl.DataFrame = read(rm.rank_ranges, ctx.viewer, ctx.run_id)
if ranges.is_empty():
    st.info(t("sens_none", period=ctx.info.period))
    st.stop()

league: pl.DataFrame = read(rm.league_table, ctx.viewer, ctx.run_id, lang=ctx.lang)
with_grades = ranges.join(
    league.select("unit_id", "grade", "grade_name", "grade_order"), on="unit_id", how="left"
)
st.write(
    t(
        "sens_summary",
        median=ranges["rank_spread"].median() or 0,
        firm=ranges.filter(pl.col("rank_spread") <= 2).height,
    )
)
st.subheader(t("sens_chart"))
st.plotly_chart(
    charts.rank_intervals(with_grades, read(rm.grade_codes, ctx.viewer, ctx.run_id)), width="stretch"
)
table = ranges.with_columns(
    pl.format("{}–{}", "rank_low", "rank_high").alias("rank_interval"),
    pl.format(
        "{}–{}",
        pl.col("score_low").round(ctx.decimals).cast(pl.String),
        pl.col("score_high").round(ctx.decimals).cast(pl.String),
    ).alias("score_interval"),
)
show(
    table,
    {
        "rank": "c_rank",
        "rank_interval": "c_rank_interval",
        "unit_name": "c_unit_name",
        "score": "c_score",
        "score_interval": "c_score_interval",
        "rank_spread": "c_spread",
    },
    decimals={"score": ctx.decimals},
    every_row=True,  # the bottom of the ranking as visible as its top
)
if ctx.info.parameters:
    with st.expander(t("sens_params")):
        st.code(json.dumps(ctx.info.parameters, ensure_ascii=False, indent=2), language="json")
