"""The seam where sign-in will go (a later issue). Today: who is configured, and the no-auth banner.

Users will live in the app store (`<db>.app.db`, never the data DB). This module only reads it,
read-only, to tell "no users yet" (serve a page saying how to add one) from "users exist".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evaluator.appstore import app_db_path


def configured_users(db: Path | None) -> int:
    """How many dashboard users the app store beside `db` holds (0 when there is no store)."""
    if db is None:
        return 0
    path = app_db_path(db)
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'"
            ).fetchone()
            if not found or not found[0]:
                return 0
            row = con.execute("SELECT count(*) FROM users").fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def signed_in_user() -> str | None:
    """The signed-in user once login exists; None today (the gate in app.py handles it)."""
    return None
