"""Data quality: what was loaded, what is missing, which survey answers were dropped, the funnel."""

import polars as pl
import streamlit as st
from ui import charts
from ui.auth import current_viewer
from ui.context import read
from ui.i18n import t, value_label
from ui.page import start_without_run
from ui.state import prepare
from ui.tables import show

from evaluator import readmodel as rm

ctx = start_without_run("quality_title", roles=("office",))  # batches are worth seeing before a run
viewer = current_viewer()
batches: pl.DataFrame = read(rm.batches, viewer)
accepted = batches.filter(pl.col("status") == "accepted").height
st.metric(t("m_batches"), f"{accepted} / {batches.height - accepted}")
st.subheader(t("batches"))
show(
    batches,
    {
        "batch_id": "c_batch",
        "kind": "c_kind",
        "file_name": "c_file",
        "status": "c_status",
        "row_count": "c_rows",
        "reason": "c_reason",
        "loaded_at": "c_loaded_at",
    },
    coded={"status": "", "kind": "kind"},
    height=320,
    wide=("reason",),
)

if ctx is None:  # loaded but not scored: what the data covers, per measure and question
    st.subheader(t("coverage_title"))
    st.caption(t("coverage_note"))
    show(
        read(rm.data_coverage, viewer),
        {
            "period": "c_period",
            "source": "c_source_kind",
            "item": "c_item",
            "units_with_data": "c_with_data",
            "units_without": "c_without_data",
        },
        coded={"source": "source"},
        height=420,
    )
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader(t("missing"))
    missing: pl.DataFrame = read(rm.missing_pairs, viewer, ctx.run_id, lang=ctx.lang)
    if missing.is_empty():
        st.success(t("no_missing"))
    else:
        st.caption(t("missing_count", n=missing.height))
        show(
            missing,
            {
                "unit_name": "c_unit_name",
                "unit_id": "c_unit_id",
                "indicator_name": "c_indicator",
                "status": "c_missing_status",
                "missing_policy": "c_policy",
            },
            coded={"status": "", "missing_policy": "policy"},
            height=420,
        )
with right:
    st.subheader(t("survey_exclusions"))
    excl: pl.DataFrame = read(rm.survey_exclusions, viewer, ctx.run_id)
    if excl.is_empty() or excl["responses"].sum() == 0:
        st.info(t("no_funnel") if excl.is_empty() else t("no_movers"))
    else:
        st.plotly_chart(
            charts.simple_bar(
                [value_label(r) for r in excl["reason"].to_list()],
                excl["responses"].to_list(),
                t("h_exclusion"),
            ),
            width="stretch",
        )



def _dispersion_note(f: rm.Funnel) -> str:
    phi = "—" if f.phi is None else f"{f.phi:.2f}"
    if f.overdispersed:
        return t("funnel_corrected", phi=phi, tau2=f"{f.tau2:.3g}")
    return t("funnel_plain", phi=phi)


st.subheader(t("funnel"))
sat: pl.DataFrame = read(rm.satisfaction_indicators, viewer, ctx.run_id, lang=ctx.lang)
if sat.is_empty():
    st.info(t("no_funnel"))
else:
    labels = dict(zip(sat["indicator_id"], sat["indicator_name"], strict=True))
    # seeded through ui.state like every remembered choice: a plain keyed selectbox kept the
    # indicator's name in the language it was first drawn in after a language switch
    widget = prepare("funnel_ind", next(iter(labels)), lambda v: v in labels)
    st.selectbox(t("funnel_indicator"), list(labels), format_func=labels.__getitem__, **widget)
    ind = str(st.session_state[widget["key"]])
    f = read(rm.funnel, viewer, ctx.run_id, ind)
    if f is None:
        st.info(t("no_funnel"))
    else:
        st.caption(t("funnel_note"))
        st.caption(_dispersion_note(f))
        st.plotly_chart(
            charts.funnel(f.points, f.limits, f.centre, corrected=f.overdispersed), width="stretch"
        )
        st.write(t("funnel_outside", n=int(f.points["outside_998"].sum()), total=f.points.height))

st.subheader(t("excl_funnel"))
ex = read(rm.excluded_share_funnel, viewer, ctx.run_id)
if ex is None:
    st.info(t("no_funnel"))
else:
    st.caption(t("excl_funnel_note"))
    st.caption(_dispersion_note(ex))
    st.plotly_chart(
        charts.funnel(
            ex.points,
            ex.limits,
            ex.centre,
            corrected=ex.overdispersed,
            x_title=t("responses_axis"),
            y_title=t("excl_share_axis"),
            hover=t("h_excl_point"),
            limit_hover=t("h_limit_responses"),
            percent=True,
        ),
        width="stretch",
    )
    st.write(t("funnel_outside", n=int(ex.points["outside_998"].sum()), total=ex.points.height))
