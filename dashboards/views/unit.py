"""Unit profile: one unit's score explained down to the raw data, its trend, survey and flags."""

import polars as pl
import streamlit as st
from ui import charts
from ui.auth import current_user
from ui.context import db_path, read, source
from ui.downloads import card_downloads
from ui.drill import drill_indicator
from ui.i18n import t, value_label
from ui.page import start
from ui.state import prepare, remember, to_url
from ui.tables import show

from evaluator import readmodel as rm
from evaluator.appeals import FRAME_SCHEMA, AppealError
from evaluator.appstore import AppStoreError

ctx = start("unit_title")
user = current_user()
choices: pl.DataFrame = read(rm.unit_choices, ctx.viewer, ctx.run_id)
names = dict(
    zip(choices["unit_id"], choices["unit_name"].fill_null(choices["unit_id"]), strict=True)
)
ids = list(names)
if ctx.viewer.role == "unit" and not ids:  # the read layer lists a unit only its own profile
    st.warning(t("unit_not_in_run", unit=ctx.viewer.unit_id or "—"))
    st.stop()
# `?unit=ID` (a link from the overview, a shared address) names the unit when it is new to this
# session; afterwards the picker wins, and the address follows it.
wanted = st.query_params.get("unit")
if wanted in ids and wanted != st.session_state.get("profile_unit_url"):
    st.session_state["profile_unit"] = wanted
if st.session_state.get("profile_unit") not in ids:
    st.session_state["profile_unit"] = ids[0]
unit = st.selectbox(
    t("pick_unit"),
    ids,
    format_func=lambda u: f"{names[u]} ({u})",
    key="profile_unit",
    disabled=len(ids) == 1,
)
st.session_state["profile_unit_url"] = unit
to_url("unit", unit)

s = read(rm.unit_summary, ctx.viewer, ctx.run_id, unit, lang=ctx.lang)
if s is None:  # the unit is not in this run (another scheme's units, a stale address)
    st.info(t("no_rows"))
    st.stop()
m = st.columns(4)
d = ctx.decimals  # the scheme's scale.decimals: 7.4 on a 1-decimal scale, not 7.40
m[0].metric(t("m_score"), f"{s['score']:.{d}f}" if s["score"] is not None else "—")
m[1].metric(t("m_rank"), t("m_rank_value", rank=s["rank"], n=s["units_scored"]))
m[2].metric(t("m_grade"), s["grade_name"] or "—")
m[3].metric(t("m_coverage"), f"{s['coverage']:.0%}" if s["coverage"] is not None else "—")
veto = t("veto_applied", veto=s["veto_name"]) if s["veto"] else ""
st.caption(
    t(
        "adjustments",
        base=f"{s['base_score'] or 0:.{d}f}",
        bonus=f"{s['bonus'] or 0:.{d}f}",
        deduction=f"{s['deduction'] or 0:.{d}f}",
        veto=veto,
    )
)

card_downloads(ctx, unit)

rows: pl.DataFrame = read(rm.unit_indicators, ctx.viewer, ctx.run_id, unit, lang=ctx.lang)
st.subheader(t("explain"))
# drill-down: a dimension narrows the table to its indicators; an indicator (a row, or the
# picker below) opens its raw values and, for the office, its funnel. Both kept in the address.
dims = dict(zip(rows["dimension_id"], rows["dimension_name"], strict=False))
all_dims = {"": t("all_dimensions")} | dims
widget = prepare("unit_dim", "", lambda v: v in all_dims, param="dim")
st.selectbox(t("pick_dimension"), list(all_dims), format_func=all_dims.__getitem__, **widget)
dim = str(st.session_state[widget["key"]])
to_url("dim", dim or None)
shown_rows = rows.filter(pl.col("dimension_id") == dim) if dim else rows
withheld = shown_rows.filter(pl.col("suppressed"))  # small survey cells: blank, reason beside
if withheld.height:
    st.caption(t("suppressed_note", n=withheld.height, min=withheld["min_responses"][0]))
picked_row = show(
    shown_rows.with_columns(
        pl.when(pl.col("suppressed")).then(pl.lit(t("suppressed_cell"))).alias("disclosure")
    ),
    {
        "dimension_name": "c_dimension",
        "indicator_name": "c_indicator",
        "evidence": "c_evidence",
        "raw_value": "c_raw_value",
        **({"disclosure": "c_disclosure"} if withheld.height else {}),  # beside the blank value
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
    select="unit_ind_pick",
    download=f"unit_{unit}_indicators",
)
ind_names = dict(zip(shown_rows["indicator_id"], shown_rows["indicator_name"], strict=True))
picked = picked_row.selection.rows if picked_row is not None else []
if picked:  # a row picks the indicator shown below
    remember("unit_ind", str(shown_rows["indicator_id"][picked[0]]))
ind_choices = {"": t("pick_indicator_none")} | ind_names
widget = prepare("unit_ind", "", lambda v: v in ind_choices, param="ind")
st.selectbox(t("pick_indicator"), list(ind_choices), format_func=ind_choices.__getitem__, **widget)
indicator = str(st.session_state[widget["key"]])
to_url("ind", indicator or None)
if indicator:
    drill_indicator(ctx, unit, indicator, ind_names[indicator])

# value-added and peer comparison beside the raw score, when the scheme declares `fairness`
# (docs/fairness.md); the raw score above stays the score of record
va: pl.DataFrame = read(rm.unit_value_added, ctx.viewer, ctx.run_id, unit, lang=ctx.lang)
if not va.is_empty():
    st.subheader(t("va_title"))
    covariates = read(rm.value_added_covariates, ctx.viewer, ctx.run_id)
    sep = "、" if ctx.lang == "zh" else ", "
    st.caption(
        t("va_note", covariates=sep.join(t(f"cov_{c}") for c in covariates))
        if covariates
        else t("va_peers_only")
    )
    show(
        va,
        {
            "indicator_name": "c_indicator",
            "observed": "c_va_observed",
            "expected": "c_va_expected",
            "value_added": "c_value_added",
            "peer": "c_peer",
            "peer_rank": "c_peer_rank",
            "peer_units": "c_peer_units",
            "peer_median": "c_peer_median",
        },
        coded={"peer": "peer_group"},
        decimals={"observed": d, "expected": d, "value_added": d, "peer_median": d},
    )


def _file(run_id: str, unit_id: str, filed_by: str) -> None:
    """Form callback: file the appeal against the snapshot (the run's lines) into the app store."""
    kind = st.session_state.get("appeal_kind")
    line_key = "appeal_indicator" if kind == "indicator" else "appeal_event"
    line = str(st.session_state.get(line_key) or "").strip()
    reason = str(st.session_state.get("appeal_reason") or "").strip()
    st.session_state.pop("appeal_msg", None)
    if not reason:
        st.session_state["appeal_msg"] = ("error", t("appeal_reason_needed"))
        return
    if not line:
        st.session_state["appeal_msg"] = ("error", t("appeal_line_needed"))
        return
    src, db = source(), db_path()
    if src is None or db is None:
        st.session_state["appeal_msg"] = ("error", t("appeal_no_store"))
        return
    try:
        appeal_id = rm.file_unit_appeal(
            db, src.snapshot, viewer=ctx.viewer, run_id=run_id, unit_id=unit_id, reason=reason,
            filed_by=filed_by, indicator_id=line if kind == "indicator" else None,
            event=None if kind == "indicator" else line,
        )
    except (AppealError, AppStoreError, rm.Forbidden) as exc:
        st.session_state["appeal_msg"] = ("error", str(exc))
        return
    st.session_state["appeal_reason"] = ""
    st.session_state["appeal_msg"] = ("success", t("appeal_filed", id=appeal_id))


def _appeals(run_id: str, unit_id: str) -> pl.DataFrame | None:
    """This unit's appeals on the run, read from the app store; None when it cannot be read."""
    db = db_path()
    if db is None:
        return pl.DataFrame(schema=FRAME_SCHEMA)
    return rm.unit_appeals(db, run_id, unit_id, viewer=ctx.viewer)


evidence = {e: value_label(e) for e in rows["evidence"].unique().to_list()}
left, right = st.columns(2)
with left:
    st.subheader(t("contrib_chart"))
    shown = rows.filter(~pl.col("suppressed"))  # a withheld line has no bar and no hover text
    st.plotly_chart(charts.contributions(shown, evidence, d), width="stretch")
    if withheld.height:
        sep = "、" if ctx.lang == "zh" else ", "
        st.caption(t("suppressed_chart", names=sep.join(withheld["indicator_name"].fill_null(""))))
with right:
    st.subheader(t("trend"))
    trend: pl.DataFrame = read(rm.unit_trend, ctx.viewer, ctx.run_id, unit)
    if trend.height < 2:
        st.info(t("trend_single"))
    if trend.height:
        grades = read(rm.grade_distribution, ctx.viewer, ctx.run_id, lang=ctx.lang)
        trend = trend.join(
            grades.select("grade", "grade_name"), on="grade", how="left", maintain_order="left"
        )
        st.plotly_chart(
            charts.trend(trend, read(rm.score_scale, ctx.viewer, ctx.run_id), d), width="stretch"
        )
        st.caption(t("trend_axis"))
        changes = trend.with_columns(pl.col("scheme_version").shift(1).alias("before")).filter(
            pl.col("version_changed"))
        for r in changes.to_dicts():
            st.caption(t("trend_version_note", period=r["period"], version=r["scheme_version"] or "—",
                         before=r["before"] or "—"))

st.subheader(t("satisfaction"))
sat: pl.DataFrame = read(rm.unit_satisfaction, ctx.viewer, ctx.run_id, unit, lang=ctx.lang)
if sat.is_empty():
    st.info(t("no_survey"))
else:
    hidden = sat.filter(pl.col("suppressed"))
    left, right = st.columns(2)
    with left:  # suppressed figures are null and left out of the chart and its hover texts
        if hidden.height < sat.height:
            st.plotly_chart(charts.satisfaction_ci(sat.filter(~pl.col("suppressed"))),
                            width="stretch")
        else:  # nothing to draw: say why rather than show empty axes
            st.info(t("suppressed_cell"))
    with right:
        sat = sat.with_columns(
            pl.when(pl.col("suppressed"))
            .then(pl.lit(t("suppressed_cell")))
            .otherwise(
                pl.format("{}–{}", pl.col("ci_low").round(1), pl.col("ci_high").round(1))
            )
            .alias("ci")
        )
        if hidden.height:
            st.caption(t("suppressed_note", n=hidden.height, min=hidden["min_responses"][0]))
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
        excl: pl.DataFrame = read(rm.survey_exclusions, ctx.viewer, ctx.run_id, unit)
        st.markdown(f"**{t('exclusions')}**")
        if excl.is_empty() and hidden.height:  # every cell small: the counts are withheld too
            st.caption(t("suppressed_cell"))
        else:
            show(excl, {"reason": "c_reason", "responses": "c_count"}, coded=("reason",))

st.subheader(t("flags_title"))
flags: pl.DataFrame = read(rm.unit_flags, ctx.viewer, ctx.run_id, unit, lang=ctx.lang)
if flags.is_empty():
    st.success(t("no_flags"))
for r in flags.to_dicts():  # a few per unit: the evidence is a sentence, shown in full
    st.markdown(f"- **{value_label(r['flag'])}**：{r['evidence'] or ''}" if ctx.lang == "zh"
                else f"- **{value_label(r['flag'])}**: {r['evidence'] or ''}")

st.subheader(t("appeals_title"))
if user is not None and user.role == "unit":
    kinds = {"indicator": t("appeal_kind_indicator"), "event": t("appeal_kind_event")}
    ind_names = dict(zip(rows["indicator_id"], rows["indicator_name"], strict=True))
    with st.form("appeal", clear_on_submit=False):
        st.radio(
            t("appeal_kind"),
            ["indicator", "event"],
            format_func=kinds.__getitem__,  # labels made now: AppTest formats outside the run
            key="appeal_kind",
            horizontal=True,
        )
        st.selectbox(
            t("appeal_indicator"),
            rows["indicator_id"].to_list(),
            format_func=lambda i: f"{ind_names.get(i) or i} ({i})",
            key="appeal_indicator",
        )
        st.text_input(t("appeal_event"), key="appeal_event", help=t("appeal_event_help"))
        st.text_area(t("appeal_reason"), key="appeal_reason")
        st.form_submit_button(
            t("appeal_submit"),
            type="primary",
            on_click=_file,
            args=(ctx.run_id, unit, user.name),
        )
    msg = st.session_state.pop("appeal_msg", None)
    if msg:
        (st.error if msg[0] == "error" else st.success)(msg[1])
elif user is None:
    st.caption(t("appeals_read_only"))
appeals = _appeals(ctx.run_id, unit)
if appeals is None:
    st.warning(t("appeal_no_store"))
else:
    statuses = {s: t(f"appeal_status_{s}") for s in ("open", "accepted", "rejected")}
    show(
        appeals.with_columns(pl.col("status").replace_strict(statuses, default=pl.col("status"))),
        {
            "appeal_id": "c_appeal_id",
            "item": "c_appeal_item",
            "reason": "c_appeal_reason",
            "status": "c_appeal_status",
            "filed_by": "c_filed_by",
            "filed_at": "c_filed_at",
            "resolution": "c_resolution",
            "resolved_at": "c_resolved_at",
        },
        wide=("reason", "resolution"),
    )
