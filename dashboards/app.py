"""Entry point of the dashboard: page list and sign-in gate; one file per page in views/.

(Not `pages/`: a folder of that name beside the entry script switches Streamlit to its older
directory-based navigation, which would run page files without this entry script.)

Run through `evaluator dashboard --db DB`, which publishes a read-only snapshot and passes the DB
path in the environment; this app never opens the main database. Every page starts with
`ui.page.start()`, which draws the language switch and enforces the same gate, so a page is safe
even when run on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the `ui` helpers beside this file

from ui.auth import current_viewer, signed_in_user  # noqa: E402
from ui.context import no_auth  # noqa: E402
from ui.i18n import ensure_lang, t  # noqa: E402

# AppTest.switch_page finds a page by its file name. The default page is served at / (Streamlit
# reserves its url_path without serving it), so /overview is a hidden page redirecting to /.
ALL, OFFICE_LEADERSHIP, OFFICE = ("office", "leadership", "unit"), ("office", "leadership"), ("office",)
PAGES = [  # (file, title, icon, url, roles that see it in the menu; each page refuses the others)
    ("views/overview.py", "page_overview", ":material/leaderboard:", "home", ALL),  # served at /
    ("views/compare.py", "page_compare", ":material/compare_arrows:", "compare", OFFICE_LEADERSHIP),
    ("views/heatmap.py", "page_heatmap", ":material/grid_on:", "heatmap", OFFICE_LEADERSHIP),
    ("views/unit.py", "page_unit", ":material/account_balance:", "unit", ALL),
    ("views/scheme_health.py", "page_scheme", ":material/rule:", "scheme_health", OFFICE),
    ("views/data_quality.py", "page_quality", ":material/fact_check:", "data_quality", OFFICE),
    ("views/sensitivity.py", "page_sensitivity", ":material/tune:", "sensitivity", ALL),
    ("views/scheme_editor.py", "page_editor", ":material/edit_note:", "scheme_editor", OFFICE),
]

# An emoji favicon is drawn inline by the browser; a `:material/…:` one is fetched from
# fonts.gstatic.com, which an intranet cannot reach.
st.set_page_config(page_title="Evaluator", page_icon="📊", layout="wide")
ensure_lang()  # before the page titles below are translated

# Not signed in: every page address serves the sign-in page (form, or how to add the first user)
# with the menu hidden, so a deep link like /unit opens the unit page right after signing in.
open_ = no_auth() or signed_in_user() is not None
role = current_viewer().role if open_ else None
# A page the role may not use is left out of its menu but still routed (hidden), so an address
# typed or bookmarked reaches the page's own refusal (ui.page.frame) instead of the Overview.
pages = [
    st.Page(
        str(HERE / (path if open_ else "views/signin.py")),
        title=t(key if open_ else "page_users"),
        icon=icon if open_ else ":material/lock:",
        url_path=slug,
        default=n == 0,
        visibility="visible" if n == 0 or not open_ or role in roles else "hidden",
    )
    for n, (path, key, icon, slug, roles) in enumerate(PAGES)
]


def _overview_alias() -> None:
    """/overview: the default page lives at /, so its own name redirects there (keeping ?lang=)."""
    st.switch_page(pages[0], query_params=st.query_params.to_dict())


alias = st.Page(_overview_alias, title=pages[0].title, url_path="overview", visibility="hidden")
st.navigation([*pages, alias], position="sidebar" if open_ else "hidden").run()
