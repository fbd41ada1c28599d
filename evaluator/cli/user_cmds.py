"""`evaluator users add|list|passwd|disable|enable`: who may sign in to the dashboard.

Users live in the app store beside the data DB (`<db file name>.app.db`); the data DB is only read, to
check that a unit user's unit exists (the snapshot is used when a writer holds the DB).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from evaluator.cli.common import console, fail, warn
from evaluator.defaults import DEFAULT_DB

users_app = typer.Typer(
    help="Dashboard users: add, list, change a password, disable, enable, unlock / 看板登录用户管理",
    no_args_is_help=True,
)

DbOpt = Annotated[Path, typer.Option(
    "--db", help="data database; users live in <db file name>.app.db beside it")]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from the first line of stdin"),
]


def _known_units(db: Path) -> set[str] | None:
    """Unit ids loaded in `db` (or its snapshot if the DB is busy); None when neither can be read."""
    import duckdb

    from evaluator.snapshot import latest_snapshot

    for path in (db, latest_snapshot(db)):
        if path is None or not Path(path).exists():
            continue
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:
            continue
        try:
            return {r[0] for r in con.execute("SELECT DISTINCT unit_id FROM units").fetchall()}
        except duckdb.Error:
            return None
        finally:
            con.close()
    return None


def _read_password(from_stdin: bool, name: str) -> str:
    """The new password: one stdin line for scripts, else typed twice without echo."""
    from evaluator.users import password_problem

    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        fail(
            "no terminal to type a password in: pipe it with --password-stdin / "
            "非交互环境请使用 --password-stdin"
        )
    while True:
        first = typer.prompt(f"Password for {name} / 密码", hide_input=True)
        problem = password_problem(first, name)
        if problem:
            warn(problem)
            continue
        second = typer.prompt("Repeat it / 再次输入", hide_input=True)
        if first == second:
            return first
        warn("the two passwords differ, try again / 两次输入不一致，请重试")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name for signing in")],
    role: Annotated[str, typer.Option("--role", help="office | leadership | unit")],
    db: DbOpt = DEFAULT_DB,
    unit: Annotated[str | None, typer.Option("--unit", help="the user's unit_id (role unit only)")] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="name shown in the dashboard")
    ] = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Add a dashboard user (the password is asked twice, hidden, or read with --password-stdin)."""
    from evaluator.appstore import app_db_path
    from evaluator.users import ROLES, add_user

    if role not in ROLES:
        fail(f"unknown role {role!r}: use one of {', '.join(ROLES)} / 角色须为 office、leadership 或 unit")
    known = _known_units(db) if role == "unit" and unit else None
    if role == "unit" and unit and known is None:
        warn(f"{db}: no loaded units to check {unit!r} against; make sure the id is right / 无法核对单位编码")
    password = _read_password(password_stdin, name)
    user = add_user(
        db, name, password, role=role, unit_id=unit, display_name=display_name, known_units=known
    )
    where = f", unit {user.unit_id}" if user.unit_id else ""
    console.print(f"added user {user.name} ({user.role}{where}) to {app_db_path(db)}, the app store "
                  f"of {db} / 已添加用户，保存在 {app_db_path(db)}")


@users_app.command("list")
def users_list(
    db: DbOpt = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List dashboard users (never their passwords)."""
    from evaluator.users import list_users

    users = list_users(db)
    if as_json:
        rows = [u.__dict__ for u in users]
        console.print_json(json.dumps({"users": rows}, ensure_ascii=False))
        return
    if not users:
        console.print(
            f"no users yet: add one with `evaluator users add NAME --role office --db {db}` / 尚无用户"
        )
        return
    table = Table("user", "display name", "role", "unit", "created", "status")
    for u in users:
        table.add_row(
            u.name,
            u.display_name,
            u.role,
            u.unit_id or "",
            u.created_at,
            "disabled / 已停用" if u.disabled else "active / 有效",
        )
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="user name")],
    db: DbOpt = DEFAULT_DB,
    password_stdin: StdinOpt = False,
) -> None:
    """Set a new password (sessions signed in with the old one end)."""
    from evaluator.users import get_user, set_password

    if get_user(db, name) is None:  # before asking for a password nobody can use
        fail(f"no user named {name!r}; see `evaluator users list --db {db}` / 没有该用户")
    set_password(db, name, _read_password(password_stdin, name))
    console.print(f"password changed for {name} / 密码已更新")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="user name")], db: DbOpt = DEFAULT_DB) -> None:
    """Stop a user from signing in (the user and the log are kept)."""
    from evaluator.users import disable_user

    user = disable_user(db, name)
    console.print(f"disabled {user.name} / 已停用")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="user name")], db: DbOpt = DEFAULT_DB) -> None:
    """Let a disabled user sign in again."""
    from evaluator.users import enable_user

    user = enable_user(db, name)
    console.print(f"enabled {user.name} / 已启用")


@users_app.command("unlock")
def users_unlock(name: Annotated[str, typer.Argument(help="user name")], db: DbOpt = DEFAULT_DB) -> None:
    """Lift the lockout after repeated failed sign-ins (logged)."""
    from evaluator.users import unlock_user

    user = unlock_user(db, name)
    console.print(f"unlocked {user.name} / 已解锁")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
