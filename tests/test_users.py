"""Dashboard users: the store (scrypt hashes, verify, disable, throttle), `evaluator users`, and
the dashboard's sign-in gate under AppTest on a real demo run (helpers from tests/helpers)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from helpers.dashboard import run_page, texts
from helpers.ingest import cli
from helpers.users import PW, _fresh, sign_in
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator import users as u
from evaluator.appstore import MIGRATIONS, app_db_path, connect_app


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "evaluator.duckdb"  # the data DB itself is never created by users.py


# --------------------------------------------------------------------------- hashing


@settings(max_examples=15)
@given(st.text(min_size=1, max_size=40))
def test_hash_checks_only_its_own_password(password):
    stored = u.hash_password(password)
    assert u.check_password(password, stored)
    assert not u.check_password(password + "x", stored)
    assert u.hash_password(password) != stored  # a fresh salt every time


@pytest.mark.parametrize("bad", ["", "plain", "scrypt$x$8$1$aa$bb", "md5$1$2$3$4$5", "a$b"])
def test_malformed_hashes_never_match(bad):
    assert not u.check_password("anything", bad)


# --------------------------------------------------------------------------- store


def test_add_and_verify(db):
    user = u.add_user(db, "wang", PW, role="office", display_name="王科长")
    assert (user.name, user.display_name, user.role, user.unit_id) == ("wang", "王科长", "office", None)
    assert u.verify(db, "wang", PW) == user
    assert u.verify(db, "WANG", PW) == user  # names ignore case
    assert u.verify(db, "wang", PW + "!") is None
    assert u.verify(db, "nobody", PW) is None
    assert u.verify(db, "wang", "") is None
    assert not db.exists()  # only the app store beside it was written
    assert app_db_path(db).exists()


def test_the_store_never_holds_the_password(db):
    u.add_user(db, "li", PW, role="leadership")
    u.set_password(db, "li", "second-Secret-9")
    u.verify(db, "li", "wrong-guess-123")  # failed attempts are logged: without the password
    con = connect_app(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.stem))
    for secret in (PW, "second-Secret-9", "wrong-guess-123"):
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw
    stored = sqlite3.connect(app_db_path(db)).execute("SELECT password_hash FROM users").fetchone()
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}", stored[0])


def test_roles_units_and_duplicates_are_checked(db):
    with pytest.raises(u.UserError, match="unknown role"):
        u.add_user(db, "a", PW, role="admin")
    with pytest.raises(u.UserError, match="needs the unit"):
        u.add_user(db, "a", PW, role="unit")
    with pytest.raises(u.UserError, match="only role unit"):
        u.add_user(db, "a", PW, role="office", unit_id="001")
    with pytest.raises(u.UserError, match="not among the loaded units"):
        u.add_user(db, "a", PW, role="unit", unit_id="1", known_units={"001", "002"})
    user = u.add_user(db, "a", PW, role="unit", unit_id="001", known_units={"001"})
    assert user.unit_id == "001"  # verbatim, leading zeros kept
    with pytest.raises(u.UserError, match="already exists"):
        u.add_user(db, "A", PW, role="office")
    with pytest.raises(u.UserError, match="not usable"):
        u.add_user(db, "two words", PW, role="office")
    # the table itself refuses what the checks above refuse, whoever writes it
    con = connect_app(db)
    with pytest.raises(sqlite3.IntegrityError):
        con.execute(
            "INSERT INTO users (user_name, role, unit_id, password_hash, created_at, "
            "password_set_at) VALUES ('b', 'office', 'x', 'h', 't', 't')"
        )
    con.close()
    assert [x.name for x in u.list_users(db)] == ["a"]


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("short7!", "shorter"),
        ("aaaaaaaaaa", "repeats"),
        ("Password123", "common"),
        ("zhang-2026!", "user name"),
    ],
)
def test_weak_passwords_are_refused(db, password, why):
    with pytest.raises(u.UserError, match=why):
        u.add_user(db, "zhang", password, role="office")
    assert u.list_users(db) == []


def test_disabled_users_cannot_sign_in_and_can_be_enabled(db):
    u.add_user(db, "zhao", PW, role="office")
    assert u.disable_user(db, "zhao").disabled
    assert u.verify(db, "zhao", PW) is None
    assert u.enable_user(db, "zhao").disabled is False
    assert u.verify(db, "zhao", PW) is not None
    with pytest.raises(u.UserError, match="no user named"):
        u.disable_user(db, "qian")


def test_set_password_replaces_the_old_one(db):
    u.add_user(db, "sun", PW, role="office")
    before = u.get_user(db, "sun")
    with pytest.raises(u.UserError, match="shorter"):
        u.set_password(db, "sun", "x")
    u.set_password(db, "sun", "new-Secret-77")
    assert u.verify(db, "sun", PW) is None
    after = u.verify(db, "sun", "new-Secret-77")
    assert after is not None and before is not None
    assert after.password_set_at >= before.password_set_at


def test_repeated_failures_throttle_any_name(db):
    u.add_user(db, "zhou", PW, role="office")
    for _ in range(u.MAX_FAILURES):
        assert u.verify(db, "zhou", "not-it-000") is None
        assert u.verify(db, "ghost", "not-it-000") is None
    # same answer for both: no enumeration
    assert u.sign_in(db, "zhou", PW) == (None, "throttled")  # even the right password waits
    assert u.sign_in(db, "ghost", "not-it-000") == (None, "throttled")
    u.set_password(db, "zhou", "reset-Secret-5")  # an administrator's reset lifts it
    assert u.sign_in(db, "zhou", "reset-Secret-5")[1] == "ok"
    log = (
        sqlite3.connect(app_db_path(db))
        .execute("SELECT action, count(*) FROM user_log WHERE user_name = 'zhou' GROUP BY action")
        .fetchall()
    )
    assert dict(log) == {"added": 1, "signin_failed": 6, "password_set": 1, "signin_ok": 1}


def test_an_app_store_from_before_users_is_migrated(db):
    con = sqlite3.connect(app_db_path(db))
    con.executescript("CREATE TABLE appeals (appeal_id INTEGER); PRAGMA user_version = 1;")
    con.close()
    assert u.list_users(db) == []
    u.add_user(db, "wu", PW, role="office")
    latest = max(v for v, _ in MIGRATIONS)  # migrated to the end, through the users table
    assert sqlite3.connect(app_db_path(db)).execute("PRAGMA user_version").fetchone()[0] == latest


# --------------------------------------------------------------------------- CLI


def test_cli_add_list_passwd_disable(db):
    r = cli(
        "users",
        "add",
        "wang",
        "--role",
        "office",
        "--display-name",
        "王科长",
        "--db",
        db,
        "--password-stdin",
        stdin=PW + "\n",
    )
    assert r.exit_code == 0, r.output
    assert u.verify(db, "wang", PW) is not None  # the newline is not part of the password
    r = cli("users", "add", "wang", "--role", "office", "--db", db, "--password-stdin", stdin=PW + "\n")
    assert r.exit_code == 1 and "already exists" in r.output
    r = cli("users", "add", "x", "--role", "boss", "--db", db, "--password-stdin", stdin=PW)
    assert r.exit_code == 1 and "unknown role" in r.output
    r = cli("users", "add", "y", "--role", "office", "--db", db, "--password-stdin", stdin="abc\n")
    assert r.exit_code == 1 and "shorter" in r.output
    r = cli("users", "list", "--db", db, "--json")
    assert r.exit_code == 0 and '"display_name": "王科长"' in r.output and PW not in r.output
    r = cli("users", "passwd", "wang", "--db", db, "--password-stdin", stdin="other-Secret-3\n")
    assert r.exit_code == 0, r.output
    assert u.verify(db, "wang", "other-Secret-3") is not None
    r = cli("users", "disable", "wang", "--db", db)
    assert r.exit_code == 0 and u.verify(db, "wang", "other-Secret-3") is None
    r = cli("users", "disable", "nobody", "--db", db)
    assert r.exit_code == 1 and "no user named" in r.output
    r = cli("users", "list", "--db", db)
    assert "wang" in r.output and "disabled" in r.output


def test_cli_without_a_terminal_asks_for_password_stdin(db):
    r = cli("users", "add", "wang", "--role", "office", "--db", db, stdin="")
    assert r.exit_code == 1 and "--password-stdin" in r.output
    assert u.list_users(db) == []


def test_cli_unit_user_is_checked_against_the_loaded_units(dash_db, tmp_path):
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(dash_db, db)
    r = cli(
        "users",
        "add",
        "t1",
        "--role",
        "unit",
        "--unit",
        "no-such-unit",
        "--db",
        db,
        "--password-stdin",
        stdin=PW,
    )
    assert r.exit_code == 1 and "not among the loaded units" in r.output
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    unit = con.execute("SELECT min(unit_id) FROM units").fetchone()[0]
    con.close()
    r = cli("users", "add", "t1", "--role", "unit", "--unit", unit, "--db", db, "--password-stdin", stdin=PW)
    assert r.exit_code == 0, r.output
    assert u.verify(db, "t1", PW).unit_id == unit


# --------------------------------------------------------------------------- dashboard gate


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_without_users_the_page_shows_a_command_that_works(monkeypatch, gate_db, lang):
    _fresh(gate_db)
    at = run_page(monkeypatch, gate_db, None, lang, no_auth=False)
    assert at.title[0].value == ("需要配置登录用户" if lang == "zh" else "Sign-in needs a user")
    assert not at.text_input and not at.dataframe
    shown = re.search(r"```\n(evaluator users add .*)\n```", texts(at))
    assert shown, texts(at)
    args = shown.group(1).split()[1:]
    args[args.index("用户名" if lang == "zh" else "NAME")] = "first"
    r = cli(*args, "--password-stdin", stdin=PW)
    assert r.exit_code == 0, r.output
    at.run()  # the same page, reloaded: now the form
    assert at.title[0].value == ("登录" if lang == "zh" else "Sign in")
    assert [w.key for w in at.text_input] == ["signin_name", "signin_password"]
    assert not at.dataframe


def test_wrong_password_and_unknown_user_get_the_same_error(monkeypatch, gate_db):
    _fresh(gate_db)
    u.add_user(gate_db, "wang", PW, role="office")
    at = run_page(monkeypatch, gate_db, None, "en", no_auth=False)
    sign_in(at, "wang", "not-the-password")
    wrong = [e.value for e in at.error]
    sign_in(at, "nobody", "not-the-password")
    unknown = [e.value for e in at.error]
    assert wrong == unknown and len(wrong) == 1 and "Wrong user name or password" in wrong[0]
    assert at.title[0].value == "Sign in" and not at.dataframe
    assert at.text_input(key="signin_password").value == ""  # not kept in the session


def test_right_password_opens_overview_and_sign_out_closes_it(monkeypatch, gate_db):
    _fresh(gate_db)
    u.add_user(gate_db, "li", PW, role="leadership", display_name="李主任")
    at = run_page(monkeypatch, gate_db, None, "zh", no_auth=False)
    sign_in(at, "li", PW)
    assert at.title[0].value == "年度考核总览"
    assert len(at.dataframe[0].value) > 0  # the league table
    assert not at.warning or all("未启用登录" not in w.value for w in at.warning)
    assert "李主任" in at.sidebar.caption[0].value and "领导" in at.sidebar.caption[0].value
    assert at.session_state["auth_user"]["role"] == "leadership"
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "登录" and not at.dataframe
    assert at.session_state["lang"] == "zh"


def test_disabling_or_a_new_password_ends_an_open_session(monkeypatch, gate_db):
    _fresh(gate_db)
    u.add_user(gate_db, "zhao", PW, role="office")
    u.add_user(gate_db, "qian", PW, role="office")
    at = run_page(monkeypatch, gate_db, None, "en", no_auth=False)
    sign_in(at, "zhao", PW)
    assert at.title[0].value == "Year at a glance"
    u.set_password(gate_db, "zhao", "fresh-Secret-8")
    at.run()
    assert at.title[0].value == "Sign in"
    sign_in(at, "zhao", "fresh-Secret-8")
    assert at.title[0].value == "Year at a glance"
    u.disable_user(gate_db, "zhao")
    at.run()
    assert at.title[0].value == "Sign in"
    sign_in(at, "zhao", "fresh-Secret-8")
    assert at.title[0].value == "Sign in" and at.error


def test_a_deep_link_shows_the_form_then_its_own_page(monkeypatch, gate_db):
    _fresh(gate_db)
    u.add_user(gate_db, "wu", PW, role="office")
    at = run_page(monkeypatch, gate_db, "unit", "en", no_auth=False)
    assert at.title[0].value == "Sign in" and not at.dataframe
    sign_in(at, "wu", PW)
    assert at.title[0].value == "Unit profile"


def test_the_sign_in_form_throttles_and_logs_every_attempt(monkeypatch, gate_db):
    """Through the page: 5 wrong passwords, then even the right one is refused as throttled;
    all 7 attempts are in user_log, and only the first 5 ran a password check."""
    _fresh(gate_db)
    u.add_user(gate_db, "qian", PW, role="office")
    at = run_page(monkeypatch, gate_db, None, "en", no_auth=False)
    for _ in range(u.MAX_FAILURES):
        sign_in(at, "qian", "not-the-password")
        assert "Wrong user name or password" in at.error[0].value
    for password in ("not-the-password", PW):
        sign_in(at, "qian", password)
        assert "Too many failed attempts" in at.error[0].value
    assert at.title[0].value == "Sign in" and not at.dataframe
    con = sqlite3.connect(app_db_path(gate_db))
    log = con.execute("SELECT detail FROM user_log WHERE user_name = 'qian' "
                      "AND action LIKE 'signin%' ORDER BY log_id").fetchall()
    con.close()
    assert [d for (d,) in log] == ["wrong password"] * u.MAX_FAILURES + ["throttled"] * 2
