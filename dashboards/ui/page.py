"""The frame every page shares: title, run picker, and the helpful pages for an empty database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import streamlit as st

from evaluator import readmodel as rm
from evaluator.publishing import PublishError, set_published
from evaluator.snapshot import SnapshotError, publish_snapshot
from ui.auth import account_sidebar, current_user, current_viewer, signed_in_user, signin_page
from ui.context import db_path, expected_snapshot, no_auth, read, source
from ui.i18n import counted, lang, language_switch, t
from ui.state import forget, prepare, remember, remembered, to_url, widget_key


@dataclass(frozen=True)
class Ctx:
    run_id: str
    info: rm.RunInfo
    lang: str
    viewer: rm.Viewer = rm.OFFICE  # who is looking: every read is filtered for them
    decimals: int = 2  # the scheme's scale.decimals: how scores are shown


EVERYONE = rm.ROLES


def _empty_state(state: rm.DbState | None, stop: bool = True) -> None:
    if state is None:
        st.header(t("no_db_title"))
        st.markdown(t("no_db_body", path=expected_snapshot()))
    elif not state.has_schema:
        st.header(t("no_db_title"))
        st.markdown(t("no_schema_body", path=expected_snapshot()))
    elif not state.has_data and state.runs == 0:
        st.header(t("empty_db_title"))
        st.markdown(t("empty_db_body"))
    else:
        st.header(t("no_runs_title"))
        st.markdown(
            t(
                "no_runs_body",
                units=counted("n_units", state.units),
                outcomes=counted("n_outcomes", state.outcome_rows),
                surveys=counted("n_answers", state.survey_rows),
                batches=counted("n_batches", state.batches),
                period=state.latest_period or "PERIOD",
            )
        )
    if stop:
        st.stop()


def run_label(row: dict[str, Any]) -> str:
    """A run as the picker shows it: runs scored in the same minute must still look different
    (Streamlit maps the shown text back to the option, so two equal labels are one run)."""
    scheme = (row["scheme_name_zh"] if lang() == "zh" else row["scheme_name_en"]) or row["scheme_id"]
    note = str(row.get("note") or "").strip().splitlines()
    if note and " / " in note[0]:  # bilingual warnings are stored "English / 中文"
        note = [note[0].split(" / ", 1)[1 if lang() == "zh" else 0]]
    return t(
        "run_option",
        period=row["period"],
        scheme=scheme,
        created=str(row["created_at"])[:19],
        short=str(row["run_id"]).rsplit("-", 1)[-1][:8],
        state=t("run_published") if row.get("published") else t("run_office"),
        note=t("run_note", note=note[0][:32] + ("…" if len(note[0]) > 32 else "")) if note else "",
    )


def _pick_run(runs: pl.DataFrame) -> str:
    """The run to show, from `runs` (rm.list_runs, newest first, not empty)."""
    ids = runs["run_id"].to_list()
    labels = {r["run_id"]: run_label(r) for r in runs.to_dicts()}
    # The run changes only when the user picks another: the run first shown (the latest, or
    # `?run=ID`) is remembered at once, so a run scored meanwhile never replaces it by itself;
    # the sidebar says when a newer one exists.
    widget = prepare("run", ids[0], lambda v: v in ids, param="run")
    if remembered("run") not in ids:
        remember("run", st.session_state[widget_key("run")])
    st.sidebar.selectbox(t("run"), ids, format_func=labels.__getitem__, **widget)
    picked = str(remembered("run"))
    to_url("run", picked)
    if picked != ids[0]:
        st.sidebar.caption(t("run_newer", label=labels[ids[0]]))
    return picked


def _release(run_id: str, publish: bool) -> None:
    """Button callback: release or withdraw the run in the main DB, then refresh the snapshot."""
    db = db_path()
    user = current_user()
    reason = str(st.session_state.get("release_reason") or "").strip() or None
    try:
        if db is None:
            raise PublishError("no database / 无数据库")
        by = user.name if user else "office (--no-auth)"
        set_published(db, run_id, published=publish, by=by, reason=reason)
        publish_snapshot(db)
    except (PublishError, SnapshotError) as exc:
        st.session_state["release_msg"] = ("error", str(exc))
        return
    st.session_state["release_msg"] = ("success", t("released" if publish else "withdrawn"))
    st.session_state["release_confirm"] = False


def _release_box(info: rm.RunInfo) -> None:
    """The office's release / withdraw control for the shown run, behind a confirmation."""
    with st.sidebar.expander(t("release_title")):
        st.caption(t("run_published") if info.published else t("run_office"))
        sure = st.checkbox(t("release_confirm"), key="release_confirm")
        if info.published:
            st.text_input(t("withdraw_reason"), key="release_reason")
        st.button(
            t("withdraw") if info.published else t("release"),
            disabled=not sure,
            on_click=_release,
            args=(info.run_id, not info.published),
            key="release_button",
        )
    msg = st.session_state.pop("release_msg", None)
    if msg:
        (st.sidebar.error if msg[0] == "error" else st.sidebar.success)(msg[1])


def frame(roles: tuple[str, ...] = EVERYONE) -> None:
    """The part of every page that is not about data: language switch, the sign-in gate, and the
    refusal of a page the signed-in role may not use (it is also absent from its menu)."""
    language_switch()
    if no_auth():
        st.warning(t("no_auth_banner"), icon=":material/lock_open:")
    elif signed_in_user() is None:
        signin_page()
        st.stop()
    else:
        account_sidebar()
        if current_viewer().role not in roles:
            # one write (not a key at a time): the address echoes no run or unit it was not given
            st.query_params.from_dict({k: v for k, v in st.query_params.items() if k == "lang"})
            st.error(t("page_refused"), icon=":material/block:")
            st.stop()


def start(title_key: str, roles: tuple[str, ...] = EVERYONE) -> Ctx:
    """Draw frame and title, return the chosen run; stop on a helpful page when there is none."""
    ctx = start_without_run(title_key, roles)
    if ctx is None:
        st.stop()
    assert ctx is not None
    return ctx


def start_without_run(title_key: str, roles: tuple[str, ...] = EVERYONE) -> Ctx | None:
    """As `start`, but a database with data and no run yet returns None after saying how to
    score, so the page can still show what was loaded (data quality)."""
    frame(roles)
    viewer = current_viewer()
    st.title(t(title_key))
    src = source()
    if src is None:
        _empty_state(None)
    state: rm.DbState = read(rm.db_state, viewer)
    if not state.has_schema or not state.has_data and state.runs == 0:
        _empty_state(state)
    if state.runs == 0:
        _empty_state(state, stop=False)
        return None
    runs: pl.DataFrame = read(rm.list_runs, viewer)
    if runs.is_empty():  # nothing published yet for this role
        st.info(t("no_published_runs"), icon=":material/schedule:")
        st.stop()
    run_id = _pick_run(runs)
    info: rm.RunInfo | None = read(rm.run_info, viewer, run_id)
    if info is None:  # the run vanished from a newer snapshot: start again from the latest
        forget("run")
        to_url("run", None)
        st.rerun()
    assert info is not None
    st.caption(
        t(
            "run_caption",
            scheme=info.scheme_name(lang()),
            version=info.scheme_version or "—",
            period=info.period,
            units=info.units,
            run_id=info.run_id,
        )
    )
    if viewer.office:
        _release_box(info)
    if info.lint_errors:
        st.warning(t("lint_banner", n=info.lint_errors), icon=":material/warning:")
    return Ctx(
        run_id=run_id,
        info=info,
        lang=lang(),
        viewer=viewer,
        decimals=read(rm.score_decimals, viewer, run_id),
    )
