"""Shown instead of the results while sign-in is on: how to add a user (login lands later)."""

import streamlit as st

from evaluator.appstore import app_db_path
from ui.auth import configured_users
from ui.context import db_path
from ui.i18n import t

db = db_path()
st.title(t("users_title"))
n = configured_users(db)
if n:
    st.info(t("users_pending", n=n))
else:
    st.markdown(t("users_body", path=app_db_path(db) if db else "data/evaluator.app.db",
                  db=db or "data/evaluator.duckdb"))
