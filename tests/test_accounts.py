"""Accounts: lockout after repeated failures (kept in the app store, so it survives a restart),
`evaluator users unlock`, and idle sessions signed out."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from helpers.dashboard import APP
from helpers.users import PW, _fresh
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from evaluator import users as u
from evaluator.appstore import app_db_path
from evaluator.cli import app


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return tmp_path / "evaluator.duckdb"  # the data DB itself is never created by users.py


def _log(db: Path, name: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(app_db_path(db)) as con:
        return con.execute("SELECT action, detail FROM user_log WHERE user_name = ? "
                           "ORDER BY log_id", [name]).fetchall()


def test_a_locked_user_stays_locked_until_unlocked(db, monkeypatch):
    monkeypatch.setattr(u, "LOCK_FAILURES", 3)  # below the 15-minute throttle's 5
    u.add_user(db, "zhou", PW, role="office")
    for _ in range(3):
        assert u.sign_in(db, "zhou", "not-it-0000") == (None, "failed")
    assert u.sign_in(db, "zhou", PW) == (None, "locked")  # even the right password
    assert u.is_locked(db, "zhou")  # read back from the store: a restarted app sees it too
    assert ("signin_failed", "locked") in _log(db, "zhou")
    out = CliRunner().invoke(app, ["users", "unlock", "zhou", "--db", str(db)])
    assert out.exit_code == 0 and "unlocked zhou" in out.output
    assert not u.is_locked(db, "zhou")
    user, outcome = u.sign_in(db, "zhou", PW)
    assert outcome == "ok" and user is not None
    assert [a for a, _ in _log(db, "zhou")][-2:] == ["unlocked", "signin_ok"]
    out = CliRunner().invoke(app, ["users", "unlock", "nobody", "--db", str(db)])
    assert out.exit_code != 0 and "no user named" in out.output


def test_an_idle_session_is_signed_out(monkeypatch, gate_db):
    _fresh(gate_db)
    u.add_user(gate_db, "li", PW, role="leadership")
    user = u.get_user(gate_db, "li")
    assert user is not None
    monkeypatch.setenv("EVALUATOR_IDLE_MINUTES", "5")
    held = {"name": "li", "role": "leadership", "unit_id": None,
            "password_set_at": user.password_set_at}
    monkeypatch.setenv("EVALUATOR_DB", str(gate_db))
    monkeypatch.delenv("EVALUATOR_NO_AUTH", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"
    at.session_state["auth_user"] = {**held, "seen": time.monotonic()}
    at.run()
    assert at.title[0].value != "Sign in"  # active: still signed in
    at.session_state["auth_user"] = {**held, "seen": time.monotonic() - 6 * 60}
    at.run()
    assert at.title[0].value == "Sign in"
    assert any("without activity" in e.value for e in at.error)
