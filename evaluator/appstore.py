"""The app store: what the application itself writes (appeals, users, saved scheme versions).

It is a small SQLite file beside the data DB (`data/evaluator.duckdb` →
`data/evaluator.duckdb.app.db`, named from the whole file name so `x.duckdb` and `x.db` never
share one; an older `data/evaluator.app.db` is renamed on first use), created mode 600 because it
holds password hashes, never the data DB: scoring data stays append-only and reproducible,
and the dashboard can write here while the data DB is published read-only. Schema changes are
ordered migrations tracked in SQLite's `user_version`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evaluator.errors import EvaluatorError
from evaluator.sidefiles import SideFileClash, side_file

APP_SUFFIX = ".app.db"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

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
    (
        2,
        """
        -- dashboard users (evaluator/users.py), names unique ignoring case
        CREATE TABLE users (
            user_name     TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
            display_name  TEXT,
            role          TEXT NOT NULL CHECK (role IN ('office', 'leadership', 'unit')),
            unit_id       TEXT,                -- role unit only
            password_hash TEXT NOT NULL,       -- scrypt$n$r$p$salt$hash, never the password
            created_at    TEXT NOT NULL,       -- ISO time, UTC
            password_set_at TEXT NOT NULL,     -- a change ends sessions signed in before it
            disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            CHECK ((role = 'unit') = (unit_id IS NOT NULL))
        );
        -- user administration and sign-in attempts, in order (also the sign-in throttle)
        CREATE TABLE user_log (
            log_id    INTEGER PRIMARY KEY AUTOINCREMENT,
            user_name TEXT NOT NULL COLLATE NOCASE,  -- as typed for failed sign-ins
            action    TEXT NOT NULL,   -- added | password_set | disabled | enabled
                                       -- | signin_ok | signin_failed
            at        TEXT NOT NULL,
            detail    TEXT
        );
        CREATE INDEX user_log_name ON user_log (user_name, action, at);
        """,
    ),
    (
        3,
        """
        -- scheme versions saved from the scheme editor (evaluator/scheme_versions.py)
        CREATE TABLE scheme_versions (
            version_id INTEGER PRIMARY KEY AUTOINCREMENT,
            scheme_id  TEXT NOT NULL,
            version    TEXT NOT NULL,      -- the scheme's own `version`
            path       TEXT NOT NULL,      -- the YAML file written
            sha256     TEXT NOT NULL,      -- of the YAML text
            yaml       TEXT NOT NULL,      -- the text itself: diffs never need the file
            author     TEXT,
            saved_at   TEXT NOT NULL,      -- ISO time, UTC
            note       TEXT,
            based_on   TEXT                -- the file or version the draft was opened from
        );
        CREATE INDEX scheme_versions_scheme ON scheme_versions (scheme_id, saved_at);
        """,
    ),
    (
        4,
        """
        -- who released or withdrew a run, and when (evaluator/publishing.py): the state itself
        -- is runs.published in the data DB
        CREATE TABLE run_releases (
            release_id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id     TEXT NOT NULL,
            action     TEXT NOT NULL,      -- released | withdrawn
            by_user    TEXT NOT NULL,
            at         TEXT NOT NULL,      -- ISO time, UTC
            reason     TEXT
        );
        CREATE INDEX run_releases_run ON run_releases (run_id, at);
        """,
    ),
]


class AppStoreError(EvaluatorError):
    """The app store cannot be opened or is newer than this evaluator."""


def app_db_path(data_db: str | Path) -> Path:
    """Where the app store of a data DB lives: same folder, the DB's whole name + `.app.db`
    (an app store of an older version, named from the stem, is taken over; see sidefiles)."""
    try:
        return side_file(data_db, APP_SUFFIX, SQLITE_COMPANIONS, prepare=_fold_wal)
    except SideFileClash as exc:
        raise AppStoreError(str(exc)) from None


def _fold_wal(path: Path) -> None:
    """Checkpoint an SQLite file's WAL into it, so the file can be renamed on its own."""
    con = sqlite3.connect(str(path), timeout=10)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def _create_private(path: Path) -> None:
    """Create the store file mode 600 (it holds password hashes), or tighten an existing one.

    SQLite gives its `-wal` and `-shm` files the main file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            with contextlib.suppress(PermissionError):  # not ours: the owner keeps it
                path.chmod(0o600)


def connect_app(data_db: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the app store beside `data_db`; create=False: it must exist."""
    path = app_db_path(data_db)
    if not create and not path.exists():
        raise AppStoreError(f"{path}: no app store yet (no appeals were ever filed)")
    try:
        _create_private(path)
    except OSError as exc:
        raise AppStoreError(f"{path}: cannot create the app store ({exc.strerror})") from None
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
