"""Scheme health: where the scheme itself is bureaucratic, and what the trace policy changed."""

import polars as pl
import streamlit as st
from ui import charts
from ui.context import q
from ui.i18n import t
from ui.page import start
from ui.tables import show

from evaluator.readmodel import SchemeHealth

ctx = start("scheme_title")
h: SchemeHealth = q("scheme_health", ctx.run_id, lang=ctx.lang)
m = st.columns(5)
m[0].metric(t("m_indicators"), h.indicator_count)
m[1].metric(
    t("m_trace_share"),
    f"{h.trace_share_declared:.0%} → {h.trace_share_effective:.0%}",
    help=t("m_trace_share_help"),
)
m[2].metric(
    t("m_burden"),
    t("m_burden_value", h=h.burden_hours_per_unit_year)
    if h.burden_hours_per_unit_year is not None
    else "—",
    help=t("m_burden_help"),
)
m[3].metric(
    t("m_reports"),
    h.reports_per_unit_year if h.reports_per_unit_year is not None else "—",
    help=t("m_reports_help"),
)
m[4].metric(t("m_lint"), f"{h.lint_errors} / {h.lint_warnings}", help=t("m_lint_help"))

st.subheader(t("lint_findings"))
findings: pl.DataFrame = q("lint_findings", ctx.run_id, lang=ctx.lang)
if findings.is_empty():
    st.success(t("no_findings"))
else:
    show(
        findings,
        {
            "severity": "c_severity",
            "rule_name": "c_lint_rule",
            "indicator_name": "c_indicator",
            "message": "c_message",
        },
        coded=("severity",),
        height=420,
        wide=("message",),
    )
    with st.expander(t("findings_full")):  # long findings in full, not cut at the cell edge
        for r in findings.to_dicts():
            st.markdown(f"- **{r['rule_name']}** ({r['indicator_name'] or '—'}): {r['message']}")

left, right = st.columns([3, 2])
with left:
    st.subheader(t("weights_chart"))
    st.plotly_chart(charts.weights(q("weights", ctx.run_id, lang=ctx.lang)), width="stretch")
with right:
    st.subheader(t("evidence_split"))
    show(
        h.evidence_shares,
        {"evidence": "c_evidence", "declared": "declared", "effective": "effective"},
        coded=("evidence",),
        percent=("declared", "effective"),
    )
    st.subheader(t("top_burdens"))
    show(
        h.top_burdens,
        {"indicator_name": "c_indicator", "hours": "c_hours"},
        decimals={"hours": 1},
    )
    st.subheader(t("duplicates"))
    if h.duplicate_requests.is_empty():
        st.success(t("no_duplicates"))
    else:
        show(h.duplicate_requests, {"source": "c_source", "indicator_names": "c_indicators"})

st.subheader(t("ranking_compare"))
ranks: pl.DataFrame = q("declared_vs_effective_ranking", ctx.run_id)
if ranks.is_empty():
    st.info(t("no_declared"))
else:
    st.caption(t("ranking_compare_note"))
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(charts.rank_scatter(ranks), width="stretch")
    with right:
        moved = ranks.sort(pl.col("rank_gain").abs(), descending=True).head(15)
        show(
            moved,
            {
                "unit_name": "c_unit_name",
                "rank_declared": "c_rank_declared",
                "rank": "c_rank",
                "rank_gain": "c_rank_gain",
            },
            height=420,
        )
