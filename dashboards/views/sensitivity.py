"""Sensitivity: how firm each rank and grade is under resampling and under the weight choice.

Reads what `evaluator uncertainty` stored with the run (bootstrap intervals, tiers, grade
probabilities, weight Monte-Carlo, leave-one-out); a unit sees its own rows only.
"""

import polars as pl
import streamlit as st
from ui import charts
from ui.context import read
from ui.i18n import t
from ui.page import start
from ui.tables import show, xlsx_button

from evaluator import readmodel as rm

ctx = start("sens_title", roles=("office", "leadership", "unit"))
ranges: pl.DataFrame = read(rm.rank_ranges, ctx.viewer, ctx.run_id)
if ranges.is_empty():
    st.info(t("sens_none", period=ctx.info.period))
    st.stop()
settings = read(rm.uncertainty_settings, ctx.viewer, ctx.run_id)
if settings is None:
    st.caption(t("sens_ci_caption", run=ctx.run_id))
else:
    st.caption(t("sens_boot_caption", replicates=settings["replicates"], level=settings["level"],
                 seed=settings["seed"]))

league: pl.DataFrame = read(rm.league_table, ctx.viewer, ctx.run_id, lang=ctx.lang)
with_grades = ranges.join(
    league.select("unit_id", "grade", "grade_name", "grade_order"), on="unit_id", how="left"
)
if ctx.viewer.role == "unit":  # one row, its own: a sentence about "units" would mislead
    own = ranges.row(0, named=True)
    st.write(t("sens_own_summary", rank=own["rank"], low=own["rank_low"], high=own["rank_high"],
               width=own["rank_spread"]))
else:
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
columns = {
    "rank": "c_rank",
    "rank_interval": "c_rank_interval",
    "unit_name": "c_unit_name",
    "score": "c_score",
    "score_interval": "c_score_interval",
    "rank_spread": "c_spread",
}
if table["tier"].is_not_null().any():
    columns["tier"] = "c_tier"
if table["p_top10"].is_not_null().any():
    columns |= {"p_top10": "c_p_top10", "p_bottom10": "c_p_bottom10"}
show(table, columns, decimals={"score": ctx.decimals}, percent=("p_top10", "p_bottom10"),
     every_row=True)  # the bottom of the ranking as visible as its top

probs: pl.DataFrame = read(rm.grade_probabilities, ctx.viewer, ctx.run_id)
if not probs.is_empty():
    st.subheader(t("sens_grade_probs"))
    names = league.select("unit_id", "unit_name", "rank")
    order = read(rm.grade_codes, ctx.viewer, ctx.run_id)
    wide = probs.pivot(on="grade", index="unit_id", values="probability").fill_null(0.0)
    present = [g for g in order if g in wide.columns]
    wide = names.join(wide, on="unit_id", how="inner").sort("rank")
    grade_names = dict(zip(league["grade"].to_list(), league["grade_name"].to_list(), strict=True))
    shown_probs = wide.select("rank", "unit_name", *present).rename(
        {"rank": t("c_rank"), "unit_name": t("c_unit_name"),
         **{g: str(grade_names.get(g, g)) for g in present}})
    xlsx_button(shown_probs, "grade_probabilities")
    st.dataframe(
        shown_probs,
        column_config={str(grade_names.get(g, g)): st.column_config.ProgressColumn(
            min_value=0.0, max_value=1.0, format="percent") for g in present},
        hide_index=True, width="stretch")

weights: pl.DataFrame = read(rm.weight_sensitivity, ctx.viewer, ctx.run_id)
if settings is not None and not weights.is_empty():
    st.subheader(t("sens_weights"))
    method = settings["method"]
    st.caption(t(
        "sens_weights_caption", draws=settings["weight_draws"],
        range=method.get("weight_range", 0.0), firm=settings["summary"].get("firm_threshold", 0.9),
        kind=t("sens_kind_dirichlet" if method.get("weight_draws") == "dirichlet"
               else "sens_kind_uniform"),
        agg=t("sens_agg_varied" if method.get("vary_aggregation") else "sens_agg_fixed")))
    summary = settings["summary"]
    if ctx.viewer.role != "unit":
        st.write(t("sens_firm_summary", firm=summary.get("firm_units", 0),
                   dependent=summary.get("weight_dependent_units", 0)))
    shown = weights.join(league.select("unit_id", "grade_name"), on="unit_id", how="left")
    shown = shown.with_columns(
        pl.format("{}–{}", pl.col("rank_p05").round(0).cast(pl.Int64),
                  pl.col("rank_p95").round(0).cast(pl.Int64)).alias("rank_range"))
    show(shown, {"rank": "c_rank", "unit_name": "c_unit_name", "grade_name": "c_grade",
                 "rank_median": "c_rank_median", "rank_range": "c_rank_range",
                 "grade_stability": "c_grade_stability", "firm": "c_firm"},
         decimals={"rank_median": 1}, percent=("grade_stability",), every_row=True)
    loo: pl.DataFrame = read(rm.indicator_sensitivity, ctx.viewer, ctx.run_id, lang=ctx.lang)
    if not loo.is_empty():
        st.subheader(t("sens_loo"))
        st.caption(t("sens_loo_caption"))
        show(loo, {"indicator_name": "c_indicator", "effective_weight": "c_weight",
                   "mean_abs_rank_change": "c_mean_abs_rank_change",
                   "max_abs_rank_change": "c_max_abs_rank_change", "spearman": "c_spearman"},
             decimals={"mean_abs_rank_change": 2, "max_abs_rank_change": 0, "spearman": 3},
             percent=("effective_weight",))
if ctx.info.parameters or settings:
    with st.expander(t("sens_params")):
        st.json({"run": ctx.info.parameters, "uncertainty": settings and {
            k: v for k, v in settings.items() if k != "computed_at"}}, expanded=False)
