"""The app store: what the application itself writes (appeals now; logins and drafts later).

It is a small SQLite file beside the data DB (`data/evaluator.duckdb` → `data/evaluator.app.db`),
never the data DB: scoring data stays append-only and reproducible, and the dashboard can write
here while the data DB is published read-only. Schema changes are ordered migrations tracked in
SQLite's `user_version`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APP_SUFFIX = ".app.db"

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE appeals (
            appeal_id        INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id           TEXT NOT NULL,      -- the run whose result is contested
            unit_id          TEXT NOT NULL,
            indicator_id     TEXT,               -- the contested line: an indicator …
            event            TEXT,               -- … or an event (veto, bonus, deduction)
            reason           TEXT NOT NULL,
            filed_by         TEXT,
            filed_at         TEXT NOT NULL,      -- ISO time, UTC
            status           TEXT NOT NULL DEFAULT 'open'
                             CHECK (status IN ('open', 'accepted', 'rejected')),
            resolution       TEXT,               -- the office's note or reason
            correction_batch INTEGER,            -- accepted: the load batch that corrects the data
            rescore_run_id   TEXT,               -- accepted: the run that re-scored with it
            resolved_by      TEXT,
            resolved_at      TEXT,
            CHECK ((indicator_id IS NULL) <> (event IS NULL))
        );
        CREATE INDEX appeals_run ON appeals (run_id, unit_id);
        -- every action on an appeal, in order: nothing is ever overwritten without a trace here
        CREATE TABLE appeal_log (
            log_id    INTEGER PRIMARY KEY AUTOINCREMENT,
            appeal_id INTEGER NOT NULL REFERENCES appeals (appeal_id),
            action    TEXT NOT NULL,             -- filed | accepted | rejected
            actor     TEXT,
            at        TEXT NOT NULL,
            detail    TEXT
        );
        """,
    ),
]


class AppStoreError(Exception):
    """The app store cannot be opened or is newer than this evaluator."""


def app_db_path(data_db: str | Path) -> Path:
    """Where the app store of a data DB lives: same folder, same stem, `.app.db`."""
    p = Path(data_db)
    return p.with_name(p.stem + APP_SUFFIX)


def connect_app(data_db: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the app store beside `data_db`; create=False: it must exist."""
    path = app_db_path(data_db)
    if not create and not path.exists():
        raise AppStoreError(f"{path}: no app store yet (no appeals were ever filed)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(str(path), timeout=10, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        _migrate(con, path)
    except sqlite3.DatabaseError as exc:
        raise AppStoreError(
            f"{path}: not a usable app store ({exc}); move it aside and retry"
        ) from None
    return con


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    current = int(con.execute("PRAGMA user_version").fetchone()[0])
    latest = max(v for v, _ in MIGRATIONS)
    if current > latest:
        raise AppStoreError(
            f"{path}: app store version {current} is newer than this evaluator ({latest})"
        )
    for version, ddl in MIGRATIONS:
        if version > current:
            with write(con):
                for statement in ddl.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(f"PRAGMA user_version = {int(version)}")


@contextmanager
def write(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All-or-nothing write (BEGIN IMMEDIATE so two writers queue instead of failing mid-way)."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
