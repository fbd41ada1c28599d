"""Scheme health: where the scheme itself is bureaucratic, and what the trace policy changed."""

from pathlib import Path

import polars as pl
import streamlit as st
from ui import charts
from ui.context import read
from ui.i18n import t
from ui.page import start
from ui.tables import show

from evaluator import readmodel as rm
from evaluator.readmodel import SchemeHealth, SchemeOverlap
from evaluator.readmodel.scheme_health import RunWarnings, run_warnings

ctx = start("scheme_title", roles=("office",))
h: SchemeHealth = read(rm.scheme_health, ctx.viewer, ctx.run_id, lang=ctx.lang)
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
findings: pl.DataFrame = read(rm.lint_findings, ctx.viewer, ctx.run_id, lang=ctx.lang)
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

st.subheader(t("rw_title"))
rw: RunWarnings = read(run_warnings, ctx.viewer, ctx.run_id, lang=ctx.lang)
if rw.count == 0:
    st.success(t("rw_none"))
else:
    st.warning("\n".join(f"- {line}" for line in rw.summary))
    st.caption(t("rw_caption"))
    if len(rw.summary) < rw.count:
        with st.expander(t("rw_all", n=rw.count)):
            show(rw.all, {"warning_name": "c_warning", "message": "c_message"}, wide=("message",))

left, right = st.columns([3, 2])
with left:
    st.subheader(t("weights_chart"))
    st.plotly_chart(charts.weights(read(rm.weights, ctx.viewer, ctx.run_id, lang=ctx.lang)), width="stretch")
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
ranks: pl.DataFrame = read(rm.declared_vs_effective_ranking, ctx.viewer, ctx.run_id)
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

# one form for all (一表报送): overlap and burden across the schemes scored for this period
st.subheader(t("of_title"))
ov: SchemeOverlap = read(rm.scheme_overlap, ctx.viewer, ctx.run_id, lang=ctx.lang)
st.caption(
    t(
        "of_caption",
        schemes=t("list_sep").join(ov.schemes["scheme_name"].to_list()),
        registry="/".join(Path(ov.registry).parts[-2:]) if ov.registry else t("of_no_registry"),
    )
)
if ov.schemes.height < 2:
    st.info(t("of_single"))
for b in ov.burden.to_dicts():
    cols = st.columns(3)
    cols[0].metric(t("of_forms"), f"{b['before_forms']} → {b['after_forms']}")
    cols[1].metric(t("of_fields"), f"{b['before_fields']} → {b['after_fields']}")
    cols[2].metric(t("of_hours"), t("of_hours_value", before=b["before_hours"], after=b["after_hours"]))
    if b["units"]:
        saved = (b["before_hours"] - b["after_hours"]) * b["units"]
        several = f"{b['unit_type']}: " if ov.burden.height > 1 else ""  # name the type if several
        st.caption(several + t("of_saved", n=b["units"], h=saved))
st.markdown(f"**{t('of_measures')}**")
show(
    ov.measures,
    {
        "measure": "c_measure",
        "measure_name": "c_measure_name",
        "origin": "c_origin",
        "schemes": "c_schemes",
        "reports_before": "c_reports_before",
        "reports_after": "c_reports_after",
        "hours_before": "c_hours_before",
        "hours_after": "c_hours_after",
    },
    coded={"origin": "origin"},
    decimals={"hours_before": 1, "hours_after": 1},
    height=420,
)
with st.expander(t("of_repeated")):
    show(ov.repeated, {"source": "c_source", "indicator_ids": "c_indicators"}, wide=("indicator_ids",))
with st.expander(t("of_excess")):
    show(
        ov.excess,
        {
            "scheme_id": "c_scheme",
            "indicator_id": "c_indicator",
            "frequency": "c_frequency",
            "reports": "c_reports",
            "excess": "c_excess",
        },
        coded={"frequency": "freq"},
    )
