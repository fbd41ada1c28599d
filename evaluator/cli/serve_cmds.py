"""`evaluator dashboard` and `evaluator publish`: serve the Streamlit app on a read-only snapshot.

The dashboard never opens the main DB (DuckDB allows one writer or many readers, not both), so
`evaluator score` can write while it is up: this command publishes a snapshot, then runs
`streamlit run dashboards/app.py` on 127.0.0.1 with the DB path in the environment; the app reads
the latest snapshot, which every scoring run republishes.

The server is a child process that lives exactly as long as this command: it runs in its own
process group, SIGTERM/SIGINT/SIGHUP to this command are forwarded to that group and waited for,
and on Linux the kernel stops the child if this command dies without cleaning up (SIGKILL, OOM).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli.common import console, fail, warn
from evaluator.defaults import DEFAULT_DB

HOST = "127.0.0.1"
APP_ENV = "EVALUATOR_DASHBOARD_APP"
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
DEFAULT_SECRETS = Path(".streamlit/secrets.toml")  # where Streamlit itself looks, from the cwd
GRACE_S = 10.0  # how long a forwarded stop signal may take before the group is killed
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def dashboard_app() -> Path:
    """The Streamlit entry script: `dashboards/app.py` beside the package (override: env)."""
    override = os.environ.get(APP_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def _port_free(port: int) -> bool:
    """Can a server listen on HOST:port? With SO_REUSEADDR, as the server itself (tornado) binds,
    so connections of a just-stopped dashboard in TIME_WAIT do not count as "in use"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            s.listen(1)
        except OSError:
            return False
    return True


def dashboard_command(
    db_path: Path, port: int, no_auth: bool, oidc: Path | None = None, secrets: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """The streamlit command line and environment that serve the dashboard (tests start it too);
    with `oidc` (the identity mapping), sign-in goes through the provider in `secrets`."""
    from evaluator.oidc import ENV_MAPPING

    cmd = [
        sys.executable, "-m", "streamlit", "run", str(dashboard_app()),
        "--server.address", HOST, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
    ]
    env = dict(os.environ)
    env["EVALUATOR_DB"] = str(db_path.resolve())
    env.pop("EVALUATOR_SNAPSHOT", None)
    if no_auth:
        env["EVALUATOR_NO_AUTH"] = "1"
    else:
        env.pop("EVALUATOR_NO_AUTH", None)
    env.pop(ENV_MAPPING, None)
    if oidc is not None:
        env[ENV_MAPPING] = str(oidc.resolve())
        cmd += ["--secrets.files", str((secrets or DEFAULT_SECRETS).resolve())]
    return cmd, env


def _die_with_parent(parent: int) -> None:
    """preexec_fn (Linux): the kernel sends SIGTERM to the child when its parent dies.

    Covers what a signal handler cannot: the parent killed with SIGKILL or by the OOM killer.
    If the parent died before prctl took effect, the child exits at once.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _signal_child(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the child's whole process group (the child itself where groups do not exist)."""
    if proc.poll() is not None:  # reaped: its pid (and group id) may already be reused
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
    except ProcessLookupError:
        pass


def run_child(cmd: list[str], env: dict[str, str], grace_s: float = GRACE_S) -> tuple[int, bool]:
    """Run `cmd` as a child that does not outlive this process; returns (exit status, stopped).

    `stopped` is True when a stop signal reached this process and was forwarded to the child.
    A child that ignores the forwarded signal for `grace_s` seconds is killed (SIGKILL).
    """
    parent = os.getpid()
    posix = os.name == "posix"
    proc: subprocess.Popen[bytes] = subprocess.Popen(
        cmd,
        env=env,
        process_group=0 if posix else None,
        preexec_fn=(lambda: _die_with_parent(parent)) if posix else None,
    )
    stopped_at: list[float] = []

    def forward(signum: int, _frame: object) -> None:
        if not stopped_at:
            stopped_at.append(time.monotonic())
        _signal_child(proc, signum)

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopped_at and time.monotonic() - stopped_at[0] > grace_s:
                    _signal_child(proc, signal.SIGKILL if posix else signal.SIGTERM)
    finally:
        if proc.poll() is None:  # an exception in this process: never leave the server behind
            _signal_child(proc, signal.SIGKILL if posix else signal.SIGTERM)
            proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code, bool(stopped_at)


def prepare_snapshot(db_path: Path) -> Path:
    """Publish a fresh snapshot; if a writer holds the DB, fall back to the last one published."""
    from evaluator.snapshot import SnapshotError, latest_snapshot, publish_snapshot

    if not db_path.exists():
        fail(f"{db_path}: no such database. Build one with `evaluator demo --no-serve --db "
             f"{db_path}` or load data with `evaluator ingest --db {db_path} …` / 数据库不存在")
    try:
        return publish_snapshot(db_path)
    except SnapshotError as exc:
        older = latest_snapshot(db_path)
        if older is None:
            fail(f"{exc} / 无法发布数据快照")
        warn(f"{exc}. Serving the last published snapshot {older} / 使用上一次发布的快照")
        return older


def serve_dashboard(
    db_path: Path,
    port: int = 8501,
    no_auth: bool = False,
    oidc: Path | None = None,
    secrets: Path | None = None,
) -> None:
    """Publish a snapshot of `db_path` and serve the dashboard on 127.0.0.1:`port` until stopped
    (with `oidc`, after checking the provider's secrets and the identity mapping)."""
    db_path = Path(db_path)
    app = dashboard_app()
    if not app.exists():
        fail(f"{app}: dashboard app not found; run from a source checkout (pip install -e .) "
             f"or set {APP_ENV} / 找不到看板程序")
    if not _port_free(port):
        fail(f"port {port} on {HOST} is in use: stop the other server or pick another with "
             f"--port / 端口已被占用")
    if oidc is not None and no_auth:
        fail("--oidc and --no-auth contradict each other: choose one / 二者只能选其一")
    snap = prepare_snapshot(db_path)
    if oidc is not None:
        from evaluator.oidc import OidcError, check_setup

        try:
            mapped = check_setup(oidc, secrets or DEFAULT_SECRETS, snap)
        except OidcError as exc:
            fail(str(exc))
        console.print(f"[green]✓[/] OIDC sign-in: {len(mapped)} identit{'y' if len(mapped) == 1 else 'ies'} "
                      f"mapped in {oidc} / 已加载身份映射")
    if no_auth:
        warn("login is off (--no-auth): anyone who can reach this port sees every result / "
             "未启用登录，仅限本机可信环境使用")
    console.print(f"[green]✓[/] snapshot {snap}")
    console.print(f"dashboard / 看板: [bold]http://{HOST}:{port}[/]  "
                  "(Ctrl+C to stop / 按 Ctrl+C 停止)")
    cmd, env = dashboard_command(db_path, port, no_auth, oidc, secrets)
    code, stopped = run_child(cmd, env)
    if stopped:
        console.print("dashboard stopped / 看板已停止")
        return
    if code not in (0, -2, 130):
        fail(f"the dashboard server stopped with exit status {code} / 看板服务异常退出")


DbOpt = Annotated[Path, typer.Option("--db", help="DuckDB file / 数据库文件")]


def dashboard(
    db: DbOpt = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="port on 127.0.0.1 / 端口")] = 8501,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="serve without login (warning "
                                          "banner) / 不启用登录")] = False,
    schemes: Annotated[Path | None, typer.Option(
        "--schemes", help="folder the scheme editor opens and saves schemes in (default "
        "indicators/) / 方案编辑读写的方案文件夹")] = None,
    oidc: Annotated[Path | None, typer.Option(
        "--oidc", help="sign in through an OpenID Connect provider (pip install -e '.\\[auth]'); "
        "FILE maps each identity to its role and unit (docs/security.md) / 统一身份认证登录，"
        "FILE 为身份与角色的映射")] = None,
    secrets: Annotated[Path | None, typer.Option(
        "--secrets", help="the provider's \\[auth] settings for --oidc (default "
        ".streamlit/secrets.toml) / 身份认证配置文件")] = None,
) -> None:
    """Serve the dashboard on a read-only snapshot of DB. / 启动看板（只读快照）。"""
    if schemes is not None:
        if not schemes.is_dir():
            fail(f"{schemes}: no such folder; create it or choose another / 文件夹不存在")
        os.environ["EVALUATOR_SCHEMES"] = str(schemes.resolve())  # read by the editor page
    serve_dashboard(db, port, no_auth, oidc, secrets)


def publish(
    db: DbOpt = DEFAULT_DB,
    run: Annotated[str | None, typer.Option(
        "--run", help="release this run to leadership and units (without it: only refresh the "
        "dashboard snapshot) / 向领导和单位发布该次评分")] = None,
    withdraw: Annotated[bool, typer.Option(
        "--withdraw", help="take the run back (needs --reason) / 撤回发布")] = False,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="why the run is withdrawn (recorded) / 撤回理由")] = None,
) -> None:
    """Refresh the dashboard snapshot, or release / withdraw a run. / 刷新快照或发布、撤回评分。

    A new run is seen by the office only; `--run RUN` releases it (who and when are recorded in
    the app store), `--run RUN --withdraw --reason TEXT` takes it back. Either way the snapshot
    is refreshed so a running dashboard follows at once.
    """
    from evaluator.publishing import default_actor, set_published
    from evaluator.snapshot import publish_snapshot

    if not db.exists():
        fail(f"{db}: no such database / 数据库不存在")
    if withdraw and run is None:
        fail("--withdraw needs --run RUN / 撤回须指定 --run")
    if run is not None:
        set_published(db, run, published=not withdraw, by=default_actor(), reason=reason)
    path = publish_snapshot(db)
    if run is None:
        console.print(f"[green]✓[/] snapshot refreshed: {path} / 快照已刷新")
    elif withdraw:
        console.print(f"[green]✓[/] run {run} withdrawn: office only again / 已撤回，仅考核办可见")
    else:
        console.print(f"[green]✓[/] run {run} released to leadership and units / 已向领导和单位发布")


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
    app.command()(publish)
