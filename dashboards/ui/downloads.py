"""Download buttons where readers look: the run's workbook and summary on the overview, a unit's
report card on its profile. Files are made by the exports for the reader's role
(evaluator.readmodel.downloads), only when the button is clicked."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import streamlit as st

from evaluator.readmodel import downloads as dl
from ui.context import db_path, source
from ui.i18n import t
from ui.page import Ctx

HTML = "text/html"


def _button(label: str, data: Callable[[], bytes], name: str, mime: str, key: str) -> None:
    st.download_button(label, data=data, file_name=name, mime=mime, key=key,
                       icon=":material/download:", on_click="ignore")


def overview_downloads(ctx: Ctx) -> None:
    """The year-end workbook (every role: a unit gets the league table units see) and the
    one-page leadership summary (office and leadership), in the page's language."""
    src = source()
    if src is None:
        return
    snap, db, run, lang, viewer = src.snapshot, db_path(), ctx.run_id, ctx.lang, ctx.viewer
    cols = st.columns(2 if viewer.role != "unit" else 1)
    with cols[0]:
        _button(t("dl_workbook"), lambda: dl.year_end_workbook(snap, db, run, lang, viewer=viewer),
                f"results_{run}.{lang}.xlsx", dl.XLSX, "dl_workbook")
    if viewer.role != "unit":
        with cols[1]:
            _button(t("dl_summary"),
                    lambda: dl.leadership_summary(snap, db, run, lang, viewer=viewer),
                    f"leadership_summary_{run}.{lang}.html", HTML, "dl_summary")
    st.caption(t("dl_note"))


def card_downloads(ctx: Ctx, unit: str) -> None:
    """The unit's report card as HTML and PDF, in the page's language, for the reader's role."""
    src = source()
    if src is None:
        return
    snap, db, run, lang, viewer = src.snapshot, db_path(), ctx.run_id, ctx.lang, ctx.viewer

    def card() -> bytes:
        return dl.report_card(snap, db, run, unit, lang, viewer=viewer)

    cols = st.columns(2)
    with cols[0]:
        _button(t("dl_card_html"), card, dl.card_name(unit, lang, "html"), HTML, "dl_card_html")
    with cols[1]:
        if shutil.which("chromium") or shutil.which("chromium-browser"):
            _button(t("dl_card_pdf"), lambda: dl.html_to_pdf(card()),
                    dl.card_name(unit, lang, "pdf"), "application/pdf", "dl_card_pdf")
        else:
            st.caption(t("dl_no_pdf"))
