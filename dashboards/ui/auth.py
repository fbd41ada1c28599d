"""Sign-in: who is configured, the sign-in form, the signed-in user of this session, sign-out.

Users live in the app store (`<db file name>.app.db`, never the data DB) and are managed with
`evaluator users …` (evaluator/users.py). The session keeps only the signed-in user's name, role,
unit and the time their password was set; `current_user()` re-reads the user on every run, so
disabling a user or changing their password ends their open sessions on the next click.

With `evaluator dashboard --oidc MAPPING` the identity provider signs people in instead
(`st.login`, extra `.[auth]`): the provider says who someone is, the office's mapping file
(evaluator/oidc.py) what role and unit they have; an identity the mapping does not name is
refused on the sign-in page, and a mapping edit applies from the next click.

Pages never filter by role themselves: `ui.context.read()` hands the session's viewer
(`current_viewer()`) to every `evaluator.readmodel` function, which enforces it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import streamlit as st

from evaluator.appstore import AppStoreError, app_db_path
from evaluator.oidc import ENV_MAPPING, OidcError, current_mapping, identity_of
from evaluator.readmodel import OFFICE, Forbidden, Viewer
from evaluator.users import User, UserError, configured_users, get_user, sign_in
from ui.context import db_path, no_auth
from ui.i18n import t
from ui.state import store_key, to_url

SESSION_KEY = "auth_user"  # {"name", "role", "unit_id", "password_set_at"} once signed in
ENV_IDLE = "EVALUATOR_IDLE_MINUTES"
ERROR_KEY = "signin_error"  # i18n key of the last failed attempt's message


def oidc_mapping() -> Path | None:
    """The identity mapping file when the dashboard signs in through OIDC, else None."""
    value = os.environ.get(ENV_MAPPING)
    return Path(value) if value else None


def _oidc_user(mapping: Path) -> tuple[User | None, str | None]:
    """The provider's signed-in identity as a user with its mapped role, or (None, why)."""
    if not st.user.get("is_logged_in"):  # absent until a provider is configured
        return None, None
    email = str(st.user.get("email") or "") or None
    subject = str(st.user.get("sub") or "") or None
    try:
        found = identity_of(current_mapping(mapping), email, subject)
    except OidcError as exc:
        return None, str(exc)
    name = email or subject or "?"
    return User(name=name, display_name=str(st.user.get("name") or name), role=found.role,
                unit_id=found.unit_id, created_at="", password_set_at="", disabled=False), None


def current_user() -> User | None:
    """The user signed in to this session, checked against the store; None when nobody is.

    A user who was disabled, removed, or whose password changed since signing in is signed out.
    With `--no-auth` nobody is signed in either (pages then show everything, with a banner).
    """
    mapping = oidc_mapping()
    if mapping is not None:  # the provider's session, mapped afresh on every run
        return _oidc_user(mapping)[0]
    held: dict[str, Any] | None = st.session_state.get(SESSION_KEY)
    db = db_path()
    if not held or db is None:
        return None
    try:
        user = get_user(db, held["name"])
    except UserError:
        user = None
    now = time.monotonic()
    idle = now - float(held.get("seen", now)) > idle_minutes() * 60
    if user is None or user.disabled or user.password_set_at != held["password_set_at"] or idle:
        st.session_state.pop(SESSION_KEY, None)
        if idle:
            st.session_state[ERROR_KEY] = "signin_idle"
        return None
    held["seen"] = now  # every interaction keeps the session alive
    return user


def idle_minutes() -> float:
    """Minutes without a click after which a session is signed out (EVALUATOR_IDLE_MINUTES,
    default 30)."""
    try:
        return max(1.0, float(os.environ.get(ENV_IDLE, "30")))
    except ValueError:
        return 30.0


def signed_in_user() -> str | None:
    """The signed-in user's name, or None (the gate in app.py and ui.page.frame())."""
    user = current_user()
    return user.name if user else None


def _submit() -> None:
    """Form callback: check the credentials before the rerun, so the gate opens on this click."""
    name = str(st.session_state.get("signin_name", "")).strip()
    password = str(st.session_state.get("signin_password", ""))
    st.session_state["signin_password"] = ""  # never kept in the session
    db = db_path()
    st.session_state.pop(ERROR_KEY, None)
    if db is None:
        st.session_state[ERROR_KEY] = "signin_failed"
        return
    try:
        user, outcome = sign_in(db, name, password)  # one atomic, logged attempt
    except UserError:
        st.session_state[ERROR_KEY] = "signin_store_error"
        return
    if user is None:
        st.session_state[ERROR_KEY] = {"throttled": "signin_throttled",
                                       "locked": "signin_locked"}.get(outcome, "signin_failed")
        return
    st.session_state[SESSION_KEY] = {
        "name": user.name,
        "role": user.role,
        "unit_id": user.unit_id,
        "password_set_at": user.password_set_at,
        "seen": time.monotonic(),
    }
    st.session_state.pop("signin_name", None)


def sign_out() -> None:
    """End the session's sign-in and forget everything it chose (the language stays)."""
    keep = store_key("lang")
    for key in list(st.session_state.keys()):
        if key != keep:
            del st.session_state[key]
    to_url("run", None)


def _store_path(db: Path | None) -> str:
    try:
        return str(app_db_path(db or "data/evaluator.duckdb"))
    except AppStoreError as exc:
        return str(exc)


def _howto(db: Path | None) -> None:
    st.title(t("users_title"))
    st.markdown(
        t(
            "users_body",
            path=_store_path(db),
            db=db or "data/evaluator.duckdb",
        )
    )


def _oidc_signin(mapping: Path) -> None:
    """Sign-in through the provider: its button, or why a signed-in identity is refused."""
    st.title(t("signin_title"))
    _, refused = _oidc_user(mapping)
    if refused:
        st.error(t("oidc_refused", why=refused), icon=":material/block:")
        st.button(t("sign_out"), key="oidc_sign_out", on_click=st.logout)
        return
    st.button(t("oidc_signin"), key="oidc_sign_in", on_click=st.login, type="primary")
    st.caption(t("oidc_help"))


def signin_page() -> None:
    """What a visitor sees while sign-in is on: the form, or how to add the first user."""
    mapping = oidc_mapping()
    if mapping is not None:
        _oidc_signin(mapping)
        return
    db = db_path()
    if configured_users(db) == 0:
        _howto(db)
        return
    st.title(t("signin_title"))
    with st.form("signin"):
        st.text_input(t("signin_name"), key="signin_name", autocomplete="username")
        st.text_input(
            t("signin_password"),
            key="signin_password",
            type="password",
            autocomplete="current-password",
        )
        st.form_submit_button(t("signin_submit"), on_click=_submit, type="primary")
    error = st.session_state.get(ERROR_KEY)
    if error:
        st.error(t(error), icon=":material/error:")
    st.caption(t("signin_help"))


def account_sidebar() -> None:
    """Who is signed in, and the sign-out button (sidebar of every page while login is on)."""
    if no_auth():
        return
    user = current_user()
    if user is None:
        return
    role = t(f"role_{user.role}") + (f" · {user.unit_id}" if user.unit_id else "")
    st.sidebar.caption(t("signed_in_as", name=user.display_name, role=role))
    st.sidebar.button(t("sign_out"), key="sign_out", icon=":material/logout:",
                      on_click=_oidc_sign_out if oidc_mapping() else sign_out)


def _oidc_sign_out() -> None:
    """Forget the session's choices, then end the provider session (Streamlit's cookie)."""
    sign_out()
    st.logout()


def current_viewer() -> Viewer:
    """Who the read layer serves in this session: the office with `--no-auth`, else the user.

    Nobody signed in never reaches a read (the gate stops first); should it, the least role
    without a unit would be refused everything unit-specific, so it is refused outright.
    """
    if no_auth():
        return OFFICE
    user = current_user()
    if user is None:
        raise Forbidden("not signed in / 未登录")
    return Viewer(user.role, user.unit_id)
