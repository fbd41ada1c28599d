"""Entry point of the dashboard: language switch, sign-in gate, then one page per file in pages/.

Run through `evaluator dashboard --db DB`, which publishes a read-only snapshot and passes its
path in the environment; this app never opens the main database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `ui` helpers beside this file

from ui.auth import configured_users  # noqa: E402
from ui.context import db_path, no_auth  # noqa: E402
from ui.i18n import language_switch, t  # noqa: E402

HERE = Path(__file__).resolve().parent
PAGES = [
    ("pages/overview.py", "page_overview", ":material/leaderboard:", "overview"),
    ("pages/compare.py", "page_compare", ":material/compare_arrows:", "compare"),
    ("pages/unit.py", "page_unit", ":material/account_balance:", "unit"),
    ("pages/scheme_health.py", "page_scheme", ":material/rule:", "scheme"),
    ("pages/data_quality.py", "page_quality", ":material/fact_check:", "quality"),
    ("pages/sensitivity.py", "page_sensitivity", ":material/tune:", "sensitivity"),
]

st.set_page_config(page_title="Evaluator", page_icon=":material/leaderboard:", layout="wide")
language_switch()

if no_auth():
    st.warning(t("no_auth_banner"), icon="🔓")
    pages = [
        st.Page(str(HERE / path), title=t(key), icon=icon, url_path=slug, default=n == 0)
        for n, (path, key, icon, slug) in enumerate(PAGES)
    ]
else:  # login comes in a later issue: until then show how to add a user (ui/auth.py is the seam)
    pages = [st.Page(str(HERE / "pages/signin.py"), title=t("page_users"), icon=":material/lock:",
                     url_path="signin", default=True)]
    _ = configured_users(db_path())

st.navigation(pages).run()
