"""Scheme editor (office): open a scheme, edit it in tables, see at once whether it is valid, how
bureaucratic it is and how it would move units, then save it as a new version.

The page only arranges widgets. The draft and its checks are `evaluator.scheme.editing` (the
spreadsheet import's own checks), lint and weights come from `evaluator.lint` and
`evaluator.scheme.weights`, "what would change" is `evaluator.scoring.preview` on the read-only
snapshot (no run is ever stored), and saving is `evaluator.scheme_versions`.
"""

from __future__ import annotations

import io
import os
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import streamlit as st
from ui.auth import current_user
from ui.context import db_path, no_auth, source
from ui.i18n import counted, lang, t
from ui.page import Ctx, start_without_run

from evaluator.lint import Severity, lint_scheme
from evaluator.scheme import sheet_layout as layout
from evaluator.scheme.dump import dump_scheme, revise_text
from evaluator.scheme.editing import Draft, Problem, check, draft_of
from evaluator.scheme.loader import SchemeInvalid, load_scheme, load_scheme_text
from evaluator.scheme.models import Scheme
from evaluator.scheme.spreadsheet import build_workbook
from evaluator.scheme.spreadsheet_import import SpreadsheetInvalid, read_scheme_workbook
from evaluator.scheme.weights import weight_table
from evaluator.scheme_versions import (
    VersionError,
    diff_text,
    list_versions,
    save_version,
    version_text,
)
from evaluator.scoring.errors import ScoringError
from evaluator.scoring.preview import Preview

ENV_SCHEMES = "EVALUATOR_SCHEMES"
DRAFT, ORIGIN, BASED_ON, GEN = "se_draft", "se_origin", "se_based_on", "se_gen"
MAIN_COLUMNS = ["kind", "parent", "id", "name.zh", "name.en", "evidence", "source.measure",
                "source.questions", "direction", "rule.type", "weight", "frequency",
                "burden_minutes", "department"]


def schemes_folder() -> Path:
    """Where scheme files are opened from and saved to (setting EVALUATOR_SCHEMES)."""
    return Path(os.environ.get(ENV_SCHEMES, "indicators"))


def _label(key: str) -> str:
    zh, en = layout.label(key)
    return zh if lang() == "zh" else en


# --------------------------------------------------------------------------- opening


def _open(scheme: Scheme | None, origin: str | None, based_on: str) -> None:
    st.session_state[DRAFT] = draft_of(scheme)
    st.session_state[ORIGIN] = origin
    st.session_state[BASED_ON] = based_on
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def _choices(db: Path | None) -> dict[str, str]:
    """Option id → label: scheme files in the folder, saved versions, a blank scheme."""
    folder = schemes_folder()
    out = {f"file:{p}": f"{p.relative_to(folder)}" for p in sorted(folder.rglob("*.yaml"))}
    if db is not None:
        for v in list_versions(db):
            out[f"version:{v.version_id}"] = t("se_saved_version", id=v.scheme_id, version=v.version,
                                                author=v.author or "—", time=v.saved_at[:16])
    out["blank"] = t("se_blank")
    return out


def _open_choice(choice: str, db: Path | None) -> None:
    if choice == "blank":
        _open(None, None, "blank")
        return
    kind, _, ref = choice.partition(":")
    if kind == "file":
        loaded = load_scheme(ref)
        _open(loaded.scheme, loaded.text, ref)
    elif db is not None:
        text = version_text(db, int(ref))
        _open(load_scheme_text(text, f"version {ref}").scheme, text, f"version {ref}")


def opener(db: Path | None) -> None:
    choices = _choices(db)
    left, right = st.columns([3, 1])
    picked = left.selectbox(t("se_open"), list(choices), format_func=choices.__getitem__,
                            key="se_source")
    right.write("")
    if right.button(t("se_open_button"), key="se_open_btn") or DRAFT not in st.session_state:
        try:
            _open_choice(picked, db)
        except (SchemeInvalid, VersionError) as exc:
            st.error(t("se_open_failed", error=str(exc)))
            if DRAFT not in st.session_state:
                _open(None, None, "blank")
    upload = st.file_uploader(t("se_upload"), type=["xlsx"], key="se_upload")
    if upload is not None and st.session_state.get("se_uploaded") != upload.file_id:
        st.session_state["se_uploaded"] = upload.file_id
        try:
            _open(read_scheme_workbook(io.BytesIO(upload.getvalue()), upload.name), None,
                  upload.name)
        except SpreadsheetInvalid as exc:
            st.error(t("se_upload_failed", n=len(exc.issues)))
            st.code("\n".join(str(i) for i in exc.issues), language=None)


# --------------------------------------------------------------------------- tables


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    return value


def _apply(table: str, key: str) -> None:
    """Fold the data editor's edits into the draft, then draw a fresh editor with the checks."""
    state = st.session_state[key]
    rows: list[dict[str, Any]] = getattr(st.session_state[DRAFT], table)
    for idx, changes in state.get("edited_rows", {}).items():
        rows[int(idx)].update({k: _clean(v) for k, v in changes.items() if k != "problems"})
    for idx in sorted(state.get("deleted_rows", []), reverse=True):
        del rows[int(idx)]
    for new in state.get("added_rows", []):
        rows.append({k: _clean(v) for k, v in new.items() if k != "problems"})
    st.session_state[GEN] += 1


def _column_config(columns: list[layout.Column], parents: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {"problems": st.column_config.TextColumn(
        t("se_problems"), disabled=True, width="large")}
    for c in columns:
        name, help_ = _label(c.key), c.note or None
        if c.key == "parent":
            config[c.key] = st.column_config.SelectboxColumn(name, options=parents, help=help_)
        elif c.choices:
            config[c.key] = st.column_config.SelectboxColumn(name, options=list(c.choices),
                                                             help=help_)
        elif c.kind in ("number", "int"):
            config[c.key] = st.column_config.NumberColumn(
                name, help=help_, step=1 if c.kind == "int" else None)
        else:
            config[c.key] = st.column_config.TextColumn(name, help=help_)
    return config


def _frame(columns: list[layout.Column], rows: list[dict[str, Any]], problems: list[Problem],
           table: str) -> pd.DataFrame:
    by_row: dict[int, list[str]] = {}
    for p in problems:
        if p.table == table and p.index is not None:
            by_row.setdefault(p.index, []).append(
                f"{_label(p.key)}: {p.message}" if p.key else p.message)
    data = {c.key: [r.get(c.key) for r in rows] for c in columns}
    df = pd.DataFrame(data, columns=[c.key for c in columns])
    for c in columns:
        if c.kind in ("number", "int"):
            df[c.key] = pd.to_numeric(df[c.key], errors="coerce")
        else:
            df[c.key] = df[c.key].map(lambda v: None if v is None else str(v)).astype(object)
    df.insert(0, "problems", ["; ".join(by_row.get(i, [])) for i in range(len(rows))])
    return df


def editor(table: str, columns: list[layout.Column], problems: list[Problem],
           order: list[str] | None = None) -> None:
    draft: Draft = st.session_state[DRAFT]
    rows = getattr(draft, table)
    parents = [str(r["id"]) for r in draft.tree if r.get("kind") == "dimension" and r.get("id")]
    key = f"se_{table}_{st.session_state[GEN]}"
    st.data_editor(
        _frame(columns, rows, problems, table), key=key, num_rows="dynamic", hide_index=True,
        column_config=_column_config(columns, parents), width="stretch",
        column_order=["problems", *(order or [c.key for c in columns])],
        on_change=_apply, args=(table, key),
    )


def settings_editor(problems: list[Problem]) -> None:
    draft: Draft = st.session_state[DRAFT]
    notes = {p.key: p.message for p in problems if p.table == "settings"}
    rows = layout.settings_rows()
    df = pd.DataFrame({
        "key": [c.key for c in rows],
        "label": [_label(c.key) for c in rows],
        "value": [None if draft.settings.get(c.key) is None else str(draft.settings[c.key])
                  for c in rows],
        "problems": [notes.get(c.key, "") for c in rows],
    })
    key = f"se_settings_{st.session_state[GEN]}"

    def apply() -> None:
        for idx, changes in st.session_state[key].get("edited_rows", {}).items():
            if "value" in changes:
                draft.settings[rows[int(idx)].key] = _clean(changes["value"])
        st.session_state[GEN] += 1

    st.data_editor(df, key=key, hide_index=True, disabled=["key", "label", "problems"],
                   column_config={"key": st.column_config.TextColumn(t("se_setting")),
                                  "label": st.column_config.TextColumn(t("se_meaning")),
                                  "value": st.column_config.TextColumn(t("se_value")),
                                  "problems": st.column_config.TextColumn(t("se_problems"))},
                   on_change=apply, width="stretch")


# --------------------------------------------------------------------------- quick edits


def _indicator_rows(draft: Draft) -> list[int]:
    return [i for i, r in enumerate(draft.tree) if r.get("kind") == "indicator"]


def quick_edit() -> None:
    """One indicator at a time: weight, dimension, remove, move; and a new indicator."""
    draft: Draft = st.session_state[DRAFT]
    dims = [str(r["id"]) for r in draft.tree if r.get("kind") == "dimension" and r.get("id")]
    rows = _indicator_rows(draft)
    gen = st.session_state[GEN]
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**{t('se_edit_one')}**")
        if rows:
            name = "name.zh" if lang() == "zh" else "name.en"
            labels = [f"{draft.tree[i].get('id')} — {draft.tree[i].get(name) or ''}" for i in rows]
            chosen = st.selectbox(t("se_indicator"), labels, key=f"se_pick_{gen}")
            pick = rows[labels.index(chosen)] if chosen in labels else rows[0]
            row = draft.tree[pick]
            weight = st.number_input(t("se_weight"), value=float(row.get("weight") or 0.0),
                                     step=1.0, key=f"se_weight_{gen}_{pick}")
            parent = st.selectbox(t("se_parent"), dims, key=f"se_parent_{gen}_{pick}",
                                  index=dims.index(row["parent"]) if row.get("parent") in dims else 0)
            survey = bool(row.get("source.questions"))
            measure = st.text_input(_label("source.measure"), value=row.get("source.measure") or "",
                                    key=f"se_measure_{gen}_{pick}", disabled=survey)
            a, b, c, d = st.columns(4)
            if a.button(t("se_apply"), key="se_apply", type="primary"):
                row.update(weight=weight, parent=parent)
                if not survey:
                    row["source.measure"] = measure.strip() or None
                _bump()
            if b.button(t("se_up"), key="se_up"):
                _move(draft, pick, -1)
            if c.button(t("se_down"), key="se_down"):
                _move(draft, pick, 1)
            if d.button(t("se_remove"), key="se_remove"):
                del draft.tree[pick]
                _bump()
    with right, st.container(border=True):
        st.markdown(f"**{t('se_add_one')}**")
        new_id = st.text_input(t("se_new_id"), key=f"se_new_id_{gen}")
        zh = st.text_input(_label("name.zh"), key=f"se_new_zh_{gen}")
        en = st.text_input(_label("name.en"), key=f"se_new_en_{gen}")
        a, b = st.columns(2)
        parent = a.selectbox(t("se_parent"), dims or [""], key=f"se_new_parent_{gen}")
        evidence = b.selectbox(_label("evidence"), _evidence(), key=f"se_new_ev_{gen}")
        measure = a.text_input(_label("source.measure"), key=f"se_new_measure_{gen}")
        rule = b.selectbox(_label("rule.type"), list(layout.rule_models()),
                           key=f"se_new_rule_{gen}")
        weight = a.number_input(t("se_weight"), value=1.0, step=1.0, key=f"se_new_weight_{gen}")
        if st.button(t("se_add"), key="se_add"):
            draft.tree.append({"kind": "indicator", "parent": parent or None, "id": new_id or None,
                               "name.zh": zh or None, "name.en": en or None,
                               "evidence": evidence, "source.measure": measure or None,
                               "rule.type": rule, "weight": weight})
            _bump()


def _evidence() -> list[str]:
    return [c for col in layout.tree_columns() if col.key == "evidence" for c in col.choices]


def _bump() -> None:
    st.session_state[GEN] += 1
    st.rerun()


def _move(draft: Draft, index: int, step: int) -> None:
    """Swap with the previous/next indicator of the same dimension (file order)."""
    parent = draft.tree[index].get("parent")
    same = [i for i in _indicator_rows(draft) if draft.tree[i].get("parent") == parent]
    pos = same.index(index) + step
    if 0 <= pos < len(same):
        other = same[pos]
        draft.tree[index], draft.tree[other] = draft.tree[other], draft.tree[index]
        name = "name.zh" if lang() == "zh" else "name.en"
        moved = draft.tree[other]
        st.session_state[f"se_pick_{st.session_state[GEN] + 1}"] = (
            f"{moved.get('id')} — {moved.get(name) or ''}")
    _bump()


# --------------------------------------------------------------------------- feedback


def feedback(scheme: Scheme | None, problems: list[Problem]) -> None:
    if problems:
        st.error(t("se_invalid", n=len(problems)), icon=":material/error:")
        for p in problems:
            st.markdown(f"- {_where(p)}{p.message}")
        return
    assert scheme is not None
    loaded = load_scheme_text(dump_scheme(scheme), "draft.yaml")
    report = lint_scheme(loaded)
    s = report.summary
    st.success(t("se_valid", n=s["indicator_count"]), icon=":material/check_circle:")
    m = st.columns(5)
    m[0].metric(t("se_m_indicators"), s["indicator_count"])
    m[1].metric(t("se_m_trace"), f"{s['trace_weight_share']:.0%} → {s['trace_weight_share_effective']:.0%}")
    m[2].metric(t("se_m_burden"), f"{s['burden_hours_per_unit_year']:.1f}")
    m[3].metric(t("se_m_reports"), s["reports_per_unit_year"])
    m[4].metric(t("se_m_lint"), f"{report.count(Severity.error)} / {len(report.findings)}")
    with st.expander(t("se_findings", n=len(report.findings)), expanded=report.has_errors):
        for f in report.findings:
            st.markdown(f"- **{f.severity.value}** `{f.rule}` {f.indicator or ''}: {f.text(lang())}")
    with st.expander(t("se_weights")):
        rows = weight_table(scheme)
        st.dataframe(pl.DataFrame({
            t("se_node"): [w.node_id for w in rows],
            t("se_kind"): [w.kind for w in rows],
            t("se_declared"): [round(100 * w.declared, 2) for w in rows],
            t("se_effective"): [round(100 * w.effective, 2) for w in rows],
        }), hide_index=True, width="stretch")


def _where(p: Problem) -> str:
    table = {"settings": t("se_tab_settings"), "grades": t("se_tab_grades"),
             "tree": t("se_tab_tree"), "items": t("se_tab_items")}.get(p.table or "", "")
    row = f" {t('se_row', n=p.index + 1)}" if p.index is not None else ""
    col = f" · {_label(p.key)}" if p.key else ""
    return f"**{table}{row}{col}**: " if table else ""


def what_would_change(scheme: Scheme | None, ctx: Ctx | None) -> None:
    st.caption(t("se_preview_help"))
    if scheme is None:
        st.info(t("se_preview_invalid"))
        return
    src = source()
    if ctx is None or src is None:
        st.info(t("se_preview_no_run"))
        return
    if not st.button(t("se_preview_button"), key="se_preview_btn", type="primary") and \
            "se_preview_result" not in st.session_state:
        return
    key = (str(src.snapshot), src.version, ctx.info.period)
    if st.session_state.get("se_preview_key") != key:
        old = st.session_state.get("se_preview")
        if old is not None:
            old.close()
        st.session_state["se_preview"] = Preview(src.snapshot, ctx.info.period)
        st.session_state["se_preview_key"] = key
    preview: Preview = st.session_state["se_preview"]
    try:
        result = preview.score(scheme)
    except ScoringError as exc:
        st.error(str(exc))
        return
    moves = preview.against_run(result, ctx.run_id)
    st.session_state["se_preview_result"] = True
    changed = int(moves["grade_changed"].fill_null(True).sum())
    m = st.columns(4)
    m[0].metric(t("se_pv_units"), moves.height)
    m[1].metric(t("se_pv_grades"), changed)
    m[2].metric(t("se_pv_moved"), int((moves["rank_move"].fill_null(0) != 0).sum()))
    how = (counted("se_pv_rescored", len(result.rescored)) if result.rescored
           else t("se_pv_reused") if result.reused else t("se_pv_full"))
    m[3].metric(t("se_pv_time"), f"{result.seconds:.2f} s", how, delta_color="off")
    names = {g.code: g.name.get(lang()) for g in scheme.grades}
    shown = (moves.with_columns(pl.col("rank_move").abs().alias("_abs"),
                                pl.col("grade_run", "grade_draft").replace(names))
             .sort(["_abs", "rank_draft"], descending=[True, False], nulls_last=True)
             .select("unit_id", "unit_name", "rank_run", "rank_draft", "rank_move", "grade_run",
                     "grade_draft", "score_run", "score_draft"))
    st.dataframe(shown.rename({c: t(f"se_c_{c}") for c in shown.columns}), hide_index=True,
                 width="stretch", height=420)


def save_panel(scheme: Scheme | None, db: Path | None) -> None:
    user = current_user()
    author = user.name if user else ("office (--no-auth)" if no_auth() else None)
    folder = schemes_folder()
    st.caption(t("se_save_help", folder=folder))
    if scheme is None:
        st.info(t("se_save_invalid"))
    elif db is None:
        st.info(t("se_save_no_db"))
    else:
        version = st.text_input(t("se_version"), value=_next_version(scheme.version),
                                key="se_version")
        note = st.text_area(t("se_note"), key="se_note")
        if st.button(t("se_save_button"), key="se_save", type="primary"):
            final = scheme.model_copy(update={"version": version.strip() or scheme.version})
            origin = st.session_state.get(ORIGIN)
            text = revise_text(origin, final) if origin else dump_scheme(
                final, header="Saved from the scheme editor.")
            try:
                saved = save_version(db, folder, final, text, author=author, note=note,
                                     based_on=st.session_state.get(BASED_ON))
            except VersionError as exc:
                st.error(str(exc))
            else:
                st.session_state[DRAFT].settings["version"] = final.version
                st.session_state[ORIGIN] = text
                st.success(t("se_saved", path=saved.path, sha=saved.sha256[:12]))
    if db is None:
        return
    versions = list_versions(db)
    st.subheader(t("se_versions"))
    if not versions:
        st.info(t("se_no_versions"))
        return
    st.dataframe(pl.DataFrame([{
        t("se_c_vid"): v.version_id, t("se_c_scheme"): v.scheme_id, t("se_version"): v.version,
        t("se_c_author"): v.author or "—", t("se_c_time"): v.saved_at, t("se_note"): v.note or "",
        t("se_c_file"): v.path, "sha256": v.sha256[:12]} for v in versions]), hide_index=True,
        width="stretch")
    if len(versions) >= 2:
        ids = [v.version_id for v in versions]
        names = {v.version_id: f"#{v.version_id} {v.scheme_id} v{v.version}" for v in versions}
        a, b = st.columns(2)
        old = a.selectbox(t("se_diff_old"), ids, index=1, format_func=names.__getitem__,
                          key="se_diff_a")
        new = b.selectbox(t("se_diff_new"), ids, index=0, format_func=names.__getitem__,
                          key="se_diff_b")
        diff = diff_text(version_text(db, old), version_text(db, new), names[old], names[new])
        st.code(diff or t("se_same"), language="diff")


def _next_version(version: str) -> str:
    """'2026.1' → '2026.2', '3' → '4', 'draft' → 'draft.1'."""
    head, _, tail = version.rpartition(".")
    if tail.isdigit():
        return f"{head}.{int(tail) + 1}" if head else str(int(tail) + 1)
    return f"{version}.1"


def _workbook(scheme: Scheme) -> bytes:
    """The draft as the scheme workbook (what `se_download` hands out)."""
    buffer = io.BytesIO()
    build_workbook(scheme).save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- page

ctx = start_without_run("page_editor", roles=("office",))  # refuses every other role
db = db_path()
opener(db)
draft: Draft = st.session_state[DRAFT]
scheme, problems = check(draft)
st.caption(t("se_based_on", origin=st.session_state.get(BASED_ON) or "—"))
feedback(scheme, problems)
if scheme is not None:  # the workbook is made on click: ~1 s of openpyxl for 120 indicators
    st.download_button(t("se_download"), data=partial(_workbook, scheme),
                       file_name=f"{scheme.id}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="se_download", on_click="ignore")

tabs = st.tabs([t("se_tab_tree"), t("se_tab_settings"), t("se_tab_grades"), t("se_tab_items"),
                t("se_tab_preview"), t("se_tab_save")])
with tabs[0]:
    quick_edit()
    all_columns = st.toggle(t("se_all_columns"), key="se_all_columns")
    editor("tree", layout.tree_columns(), problems, None if all_columns else MAIN_COLUMNS)
with tabs[1]:
    settings_editor(problems)
with tabs[2]:
    editor("grades", layout.grade_columns(), problems)
with tabs[3]:
    editor("items", layout.item_columns(), problems)
with tabs[4]:
    what_would_change(scheme, ctx)
with tabs[5]:
    save_panel(scheme, db)
