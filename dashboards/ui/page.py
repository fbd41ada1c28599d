"""The frame every page shares: title, run picker, and the helpful pages for an empty database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import streamlit as st

from evaluator.readmodel import DbState, RunInfo
from ui.auth import account_sidebar, signed_in_user, signin_page
from ui.context import expected_snapshot, no_auth, q, source
from ui.i18n import counted, lang, language_switch, t
from ui.state import forget, prepare, remember, remembered, to_url, widget_key


@dataclass(frozen=True)
class Ctx:
    run_id: str
    info: RunInfo
    lang: str
    decimals: int = 2  # the scheme's scale.decimals: how scores are shown


def _empty_state(state: DbState | None, stop: bool = True) -> None:
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


def _pick_run() -> str:
    runs: pl.DataFrame = q("list_runs")
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


def frame() -> None:
    """The part of every page that is not about data: language switch and the sign-in gate."""
    language_switch()
    if no_auth():
        st.warning(t("no_auth_banner"), icon=":material/lock_open:")
    elif signed_in_user() is None:
        signin_page()
        st.stop()
    else:
        account_sidebar()


def start(title_key: str) -> Ctx:
    """Draw frame and title, return the chosen run; stop on a helpful page when there is none."""
    ctx = start_without_run(title_key)
    if ctx is None:
        st.stop()
    assert ctx is not None
    return ctx


def start_without_run(title_key: str) -> Ctx | None:
    """As `start`, but a database with data and no run yet returns None after saying how to
    score, so the page can still show what was loaded (data quality)."""
    frame()
    st.title(t(title_key))
    src = source()
    if src is None:
        _empty_state(None)
    state: DbState = q("db_state")
    if not state.has_schema or not state.has_data and state.runs == 0:
        _empty_state(state)
    if state.runs == 0:
        _empty_state(state, stop=False)
        return None
    run_id = _pick_run()
    info: RunInfo | None = q("run_info", run_id)
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
    if info.lint_errors:
        st.warning(t("lint_banner", n=info.lint_errors), icon=":material/warning:")
    return Ctx(run_id=run_id, info=info, lang=lang(), decimals=q("score_decimals", run_id))
