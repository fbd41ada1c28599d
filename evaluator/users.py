"""Dashboard users (登录用户): who may sign in, with which role, checked against a scrypt hash.

Users live in the app store beside the data DB (`<db>.app.db`, table `users`), never in the data
DB. Passwords are stored only as `scrypt$n$r$p$salt$hash` (stdlib `hashlib.scrypt`, a random
16-byte salt per password) and compared in constant time. Every administrative action and every
sign-in attempt is appended to `user_log`; the log also throttles guessing (too many failures for
one name in a short window refuse further attempts for that name, whether it exists or not),
atomically: see `sign_in`.

Roles (`office`, `leadership`, `unit`) are stored for the "who may see what" step; a `unit` user
names the one unit they belong to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.appstore import AppStoreError, app_db_path, connect_app, write
from evaluator.errors import EvaluatorError
from evaluator.store.db import StoreError, check_db_path

ROLES = ("office", "leadership", "unit")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # scrypt hashes any length; a cap keeps a pasted file from being one
NAME_RE = re.compile(r"^[^\s/\\]{1,64}$")  # no blanks or slashes; Chinese names are fine

# scrypt cost: 2**14 × 8 × 1 needs 16 MiB and ~50 ms, the interactive-login setting of RFC 7914
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32

# sign-in throttle: this many failures for one name within the window refuse further attempts
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FAILURES = 10  # failures since the last success or unlock: locked until `users unlock`

# the most common passwords of public leak lists (and their Chinese favourites)
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "123123123",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "87654321",
        "qwertyui",
        "qwerty123",
        "1q2w3e4r",
        "1qaz2wsx",
        "abc12345",
        "abcd1234",
        "iloveyou",
        "admin123",
        "administrator",
        "welcome1",
        "letmein1",
        "changeme",
        "woaini1314",
        "a1234567",
        "aa123456",
        "evaluator",
    }
)


class UserError(EvaluatorError):
    """A user action that cannot be done as asked; the message says what to fix."""


@dataclass(frozen=True)
class User:
    """One dashboard user as stored (never carries the password or its hash)."""

    name: str
    display_name: str
    role: str
    unit_id: str | None
    created_at: str
    password_set_at: str
    disabled: bool


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _stamp() -> str:
    """password_set_at: to the microsecond, so a change within the same second still ends sessions."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- hashing


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=KEY_BYTES,
        maxmem=256 * r * n + 2**20,
    )


def hash_password(password: str) -> str:
    """A fresh salted scrypt hash of `password`, self-describing so the cost can rise later."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    """Does `password` match the stored hash? Constant-time compare; malformed hashes never match."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        got = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# a hash nobody's password matches, checked when the name is unknown so both paths cost the same
_DUMMY_HASH = hash_password(secrets.token_urlsafe(24))


def password_problem(password: str, name: str = "") -> str | None:
    """Why `password` is too weak (zh/en), or None when it is acceptable."""
    if not password or not password.strip():
        return "the password is empty / 密码不能为空"
    if len(password) < MIN_PASSWORD:
        return f"the password is shorter than {MIN_PASSWORD} characters / 密码少于 {MIN_PASSWORD} 位"
    if len(password) > MAX_PASSWORD:
        return f"the password is longer than {MAX_PASSWORD} characters / 密码过长"
    if len(set(password)) < 3:
        return "the password repeats one or two characters / 密码字符过于单一"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return "the password is one of the most common passwords / 密码过于常见"
    if name and name.lower() in lowered:
        return "the password contains the user name / 密码不能包含用户名"
    return None


# --------------------------------------------------------------------------- store access


def _store_exists(db: str | Path) -> bool:
    try:
        return app_db_path(db).exists()
    except AppStoreError as exc:
        raise UserError(str(exc)) from None


def _open(db: str | Path, *, create: bool) -> sqlite3.Connection:
    try:
        check_db_path(Path(db))
        store = app_db_path(db)
    except (StoreError, AppStoreError) as exc:
        raise UserError(str(exc)) from None
    if not create and not store.exists():
        raise UserError(
            f"{app_db_path(db)}: no users yet; add one with `evaluator users add NAME --role "
            f"office --db {db}` / 尚未添加任何用户"
        )
    try:
        return connect_app(db, create=create)
    except AppStoreError as exc:
        raise UserError(str(exc)) from None


def _row_user(row: sqlite3.Row) -> User:
    return User(
        name=row["user_name"],
        display_name=row["display_name"] or row["user_name"],
        role=row["role"],
        unit_id=row["unit_id"],
        created_at=row["created_at"],
        password_set_at=row["password_set_at"],
        disabled=bool(row["disabled"]),
    )


_SELECT = (
    "SELECT user_name, display_name, role, unit_id, created_at, password_set_at, disabled, "
    "password_hash FROM users"
)


def _log(con: sqlite3.Connection, name: str, action: str, detail: str | None = None) -> None:
    con.execute(
        "INSERT INTO user_log (user_name, action, at, detail) VALUES (?, ?, ?, ?)",
        [name, action, _now(), detail],
    )


def _existing(con: sqlite3.Connection, name: str) -> sqlite3.Row:
    row = con.execute(_SELECT + " WHERE user_name = ?", [name]).fetchone()
    if row is None:
        raise UserError(f"no user named {name!r}; see `evaluator users list` / 没有名为 {name!r} 的用户")
    return row


# --------------------------------------------------------------------------- public API


def add_user(
    db: str | Path,
    name: str,
    password: str,
    *,
    role: str,
    unit_id: str | None = None,
    display_name: str | None = None,
    known_units: Collection[str] | None = None,
) -> User:
    """Add a user to the app store beside `db`; `known_units`, when given, must hold `unit_id`."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise UserError(
            f"user name {name!r} is not usable: 1–64 characters, no spaces or slashes / "
            "用户名须为 1–64 个字符，不含空格或斜杠"
        )
    if role not in ROLES:
        raise UserError(
            f"unknown role {role!r}: use one of {', '.join(ROLES)} / 角色须为 office、leadership 或 unit"
        )
    unit_id = unit_id.strip() if unit_id is not None else None
    if role == "unit" and not unit_id:
        raise UserError(
            "a user with role unit needs the unit they belong to: --unit UNIT_ID / "
            "unit 角色的用户须用 --unit 指定所属单位"
        )
    if role != "unit" and unit_id:
        raise UserError(
            f"only role unit takes a unit (role {role} sees every unit): drop --unit / "
            f"只有 unit 角色需要指定单位"
        )
    if role == "unit" and known_units is not None and unit_id not in known_units:
        raise UserError(
            f"unit {unit_id!r} is not among the loaded units; check the id (kept verbatim, "
            f"leading zeros count) / 单位 {unit_id!r} 不在已导入的单位中"
        )
    problem = password_problem(password, name)
    if problem:
        raise UserError(problem)
    display = (display_name or "").strip() or None
    hashed = hash_password(password)  # before the write lock: hashing takes a while
    now = _stamp()
    con = _open(db, create=True)
    try:
        with write(con):
            if con.execute("SELECT 1 FROM users WHERE user_name = ?", [name]).fetchone():
                raise UserError(
                    f"a user named {name!r} already exists (names ignore case); use "
                    f"`evaluator users passwd {name}` to change its password / 用户 {name!r} 已存在"
                )
            con.execute(
                "INSERT INTO users (user_name, display_name, role, unit_id, password_hash, "
                "created_at, password_set_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [name, display, role, unit_id if role == "unit" else None, hashed, now, now],
            )
            _log(con, name, "added", f"role={role}" + (f" unit={unit_id}" if unit_id else ""))
        return _row_user(_existing(con, name))
    finally:
        con.close()


def set_password(db: str | Path, name: str, password: str) -> None:
    """Replace a user's password; sessions signed in before the change end on their next click."""
    con = _open(db, create=False)
    try:
        row = _existing(con, name)
        problem = password_problem(password, row["user_name"])
        if problem:
            raise UserError(problem)
        hashed = hash_password(password)
        with write(con):
            con.execute(
                "UPDATE users SET password_hash = ?, password_set_at = ? WHERE user_name = ?",
                [hashed, _stamp(), row["user_name"]],
            )
            _log(con, row["user_name"], "password_set")
    finally:
        con.close()


def _set_disabled(db: str | Path, name: str, disabled: bool) -> User:
    con = _open(db, create=False)
    try:
        row = _existing(con, name)
        with write(con):
            con.execute(
                "UPDATE users SET disabled = ? WHERE user_name = ?",
                [int(disabled), row["user_name"]],
            )
            _log(con, row["user_name"], "disabled" if disabled else "enabled")
        return _row_user(_existing(con, name))
    finally:
        con.close()


def disable_user(db: str | Path, name: str) -> User:
    """Stop a user from signing in (kept, not deleted: the log still names them)."""
    return _set_disabled(db, name, True)


def enable_user(db: str | Path, name: str) -> User:
    """Let a disabled user sign in again."""
    return _set_disabled(db, name, False)


def list_users(db: str | Path) -> list[User]:
    """Every user in the app store beside `db`, by name (none when there is no store yet)."""
    if not _store_exists(db):
        return []
    con = _open(db, create=False)
    try:
        return [_row_user(r) for r in con.execute(_SELECT + " ORDER BY user_name")]
    finally:
        con.close()


def configured_users(db: str | Path | None) -> int:
    """How many users may sign in (not disabled) in the app store beside `db`; 0 without one.

    Read-only and without migrating: an app store written by an older evaluator (appeals only)
    simply has no users yet.
    """
    if db is None:
        return 0
    try:
        path = app_db_path(db)
    except AppStoreError:
        return 0
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
            row = con.execute("SELECT count(*) FROM users WHERE disabled = 0").fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def get_user(db: str | Path, name: str) -> User | None:
    """One user by name (ignoring case), or None."""
    if not _store_exists(db):
        return None
    con = _open(db, create=False)
    try:
        row = con.execute(_SELECT + " WHERE user_name = ?", [name]).fetchone()
        return _row_user(row) if row else None
    finally:
        con.close()


def _recent_failures(con: sqlite3.Connection, name: str) -> int:
    since = (datetime.now(UTC) - FAILURE_WINDOW).replace(microsecond=0).isoformat()
    row = con.execute(
        "SELECT count(*) FROM user_log WHERE user_name = ? AND action = 'signin_failed' "
        "AND at >= ? AND at > coalesce((SELECT max(at) FROM user_log WHERE user_name = ? "
        "AND action IN ('signin_ok', 'password_set', 'enabled', 'unlocked')), '')",
        [name, since, name],
    ).fetchone()
    return int(row[0]) if row else 0


def _failures_since_reset(con: sqlite3.Connection, name: str) -> int:
    """Failed sign-ins since the last success, new password, enabling or unlock: read from the
    log in the app store, so a lockout survives a restart of the dashboard."""
    row = con.execute(
        "SELECT count(*) FROM user_log WHERE user_name = ? AND action = 'signin_failed' "
        "AND coalesce(detail, '') NOT IN ('throttled', 'locked') "
        "AND at > coalesce((SELECT max(at) FROM user_log WHERE user_name = ? "
        "AND action IN ('signin_ok', 'password_set', 'enabled', 'unlocked')), '')",
        [name, name],
    ).fetchone()
    return int(row[0]) if row else 0


def is_locked(db: str | Path, name: str) -> bool:
    """Whether `name` is locked out (LOCK_FAILURES failures since the last reset)."""
    if not _store_exists(db):
        return False
    con = _open(db, create=False)
    try:
        return _failures_since_reset(con, name) >= LOCK_FAILURES
    finally:
        con.close()


def unlock_user(db: str | Path, name: str) -> User:
    """Lift a lockout (and the throttle); logged as `unlocked`."""
    con = _open(db, create=False)
    try:
        with write(con):
            row = _existing(con, name)
            _log(con, row["user_name"], "unlocked")
        return _row_user(row)
    finally:
        con.close()


def verify(db: str | Path, name: str, password: str) -> User | None:
    """The user if `name` + `password` may sign in now, else None (see `sign_in`)."""
    return sign_in(db, name, password)[0]


def sign_in(db: str | Path, name: str, password: str) -> tuple[User | None, str]:
    """(user, "ok") when `name` + `password` may sign in now, else (None, "failed" | "throttled"
    | "locked"). A known name with LOCK_FAILURES failures since its last success is locked until
    `evaluator users unlock` (the count lives in the app store's log, so it survives restarts).

    Every attempt is logged. The throttle is atomic: under SQLite's write lock the attempt is
    first logged as a failure (so it counts at once) and only then, outside the lock, the
    password is checked and the row turned into `signin_ok` if it matched. So however many
    attempts arrive together, at most MAX_FAILURES full password checks run per FAILURE_WINDOW
    for a name; the others are refused (logged `throttled`) without one. Unknown names cost a
    hash check too, so timing does not tell whether a name exists.
    """
    name = (name or "").strip()[:64]
    if not _store_exists(db):
        check_password(password or "", _DUMMY_HASH)
        return None, "failed"
    con = _open(db, create=False)
    try:
        with write(con):
            row = con.execute(_SELECT + " WHERE user_name = ?", [name]).fetchone()
            who = row["user_name"] if row else name
            if not who:
                return None, "failed"  # nothing to throttle or log under
            if row is not None and _failures_since_reset(con, who) >= LOCK_FAILURES:
                _log(con, who, "signin_failed", "locked")
                return None, "locked"
            if _recent_failures(con, who) >= MAX_FAILURES:
                _log(con, who, "signin_failed", "throttled")
                return None, "throttled"
            if not password or len(password) > MAX_PASSWORD:
                _log(con, who, "signin_failed", "empty password" if not password
                     else "password too long")
                return None, "failed"
            log_id = con.execute(
                "INSERT INTO user_log (user_name, action, at, detail) VALUES (?, ?, ?, ?)",
                [who, "signin_failed", _now(), "checking"],
            ).lastrowid
        ok = check_password(password, row["password_hash"] if row else _DUMMY_HASH)
        allowed = ok and row is not None and not row["disabled"]
        reason = ("unknown user" if row is None else "disabled" if row["disabled"]
                  else None if ok else "wrong password")
        with write(con):
            con.execute("UPDATE user_log SET action = ?, detail = ? WHERE log_id = ?",
                        ["signin_ok" if allowed else "signin_failed", reason, log_id])
        return (_row_user(row), "ok") if allowed and row is not None else (None, "failed")
    finally:
        con.close()
