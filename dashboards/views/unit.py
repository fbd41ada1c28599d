"""Unit profile: one unit's score explained down to the raw data, its trend, survey and flags."""

import polars as pl
import streamlit as st
from ui import charts
from ui.context import q
from ui.i18n import t, value_label
from ui.page import start
from ui.tables import show

ctx = start("unit_title")
choices: pl.DataFrame = q("unit_choices", ctx.run_id)
names = dict(
    zip(choices["unit_id"], choices["unit_name"].fill_null(choices["unit_id"]), strict=True)
)
ids = list(names)
if st.session_state.get("profile_unit") not in ids:
    wanted = st.query_params.get("unit")
    st.session_state["profile_unit"] = wanted if wanted in ids else ids[0]
unit = st.selectbox(
    t("pick_unit"), ids, format_func=lambda u: f"{names[u]} ({u})", key="profile_unit"
)

s = q("unit_summary", ctx.run_id, unit, lang=ctx.lang)
m = st.columns(4)
d = ctx.decimals  # the scheme's scale.decimals: 7.4 on a 1-decimal scale, not 7.40
m[0].metric(t("m_score"), f"{s['score']:.{d}f}" if s["score"] is not None else "—")
m[1].metric(t("m_rank"), t("m_rank_value", rank=s["rank"], n=s["units_scored"]))
m[2].metric(t("m_grade"), s["grade_name"] or "—")
m[3].metric(t("m_coverage"), f"{s['coverage']:.0%}" if s["coverage"] is not None else "—")
veto = t("veto_applied", veto=s["veto"]) if s["veto"] else ""
st.caption(
    t(
        "adjustments",
        base=f"{s['base_score'] or 0:.{d}f}",
        bonus=f"{s['bonus'] or 0:.{d}f}",
        deduction=f"{s['deduction'] or 0:.{d}f}",
        veto=veto,
    )
)

rows: pl.DataFrame = q("unit_indicators", ctx.run_id, unit, lang=ctx.lang)
st.subheader(t("explain"))
show(
    rows,
    {
        "dimension_name": "c_dimension",
        "indicator_name": "c_indicator",
        "evidence": "c_evidence",
        "raw_value": "c_raw_value",
        "rule": "c_rule",
        "score": "c_ind_score",
        "declared_weight": "c_declared_weight",
        "weight": "c_weight",
        "contribution": "c_contribution",
        "imputed": "c_imputed",
    },
    coded={"evidence": "", "rule": "rule"},
    height=600,
    decimals={"score": 1, "contribution": d + 2},  # as the report cards: contributions add up
    percent=("declared_weight", "weight"),
)
evidence = {e: value_label(e) for e in rows["evidence"].unique().to_list()}
left, right = st.columns(2)
with left:
    st.subheader(t("contrib_chart"))
    st.plotly_chart(charts.contributions(rows, evidence), width="stretch")
with right:
    st.subheader(t("trend"))
    trend: pl.DataFrame = q("unit_trend", ctx.run_id, unit)
    if trend.height < 2:
        st.info(t("trend_single"))
    if trend.height:
        st.plotly_chart(charts.trend(trend), width="stretch")

st.subheader(t("satisfaction"))
sat: pl.DataFrame = q("unit_satisfaction", ctx.run_id, unit, lang=ctx.lang)
if sat.is_empty():
    st.info(t("no_survey"))
else:
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.satisfaction_ci(sat), width="stretch")
    with right:
        sat = sat.with_columns(
            pl.format("{}–{}", pl.col("ci_low").round(1), pl.col("ci_high").round(1)).alias("ci")
        )
        show(
            sat,
            {
                "indicator_name": "c_indicator",
                "index_value": "c_index",
                "ci": "c_ci",
                "effective_n": "c_effective_n",
                "responses": "c_responses",
                "valid": "c_valid",
                "small_sample": "c_small_sample",
            },
            decimals={"index_value": 1, "effective_n": 1},
        )
        excl: pl.DataFrame = q("survey_exclusions", ctx.run_id, unit)
        st.markdown(f"**{t('exclusions')}**")
        show(excl, {"reason": "c_reason", "responses": "c_count"}, coded=("reason",))

st.subheader(t("flags_title"))
flags: pl.DataFrame = q("unit_flags", ctx.run_id, unit, lang=ctx.lang)
if flags.is_empty():
    st.success(t("no_flags"))
for r in flags.to_dicts():  # a few per unit: the evidence is a sentence, shown in full
    st.markdown(f"- **{value_label(r['flag'])}**：{r['evidence'] or ''}" if ctx.lang == "zh"
                else f"- **{value_label(r['flag'])}**: {r['evidence'] or ''}")
