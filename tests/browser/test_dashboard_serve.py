"""`evaluator dashboard` serves a snapshot, so `evaluator score` keeps writing the main DB."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import duckdb
import pytest
from helpers.browser import SCHEME, evaluator

from evaluator.snapshot import snapshot_path, snapshot_version

pytestmark = pytest.mark.slow  # starts real dashboard servers


def runs_in(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM runs").fetchall()[0][0])
    finally:
        con.close()


def test_score_writes_while_the_dashboard_serves(serve, dashboard_db):
    server = serve(dashboard_db, "--no-auth")
    snap = snapshot_path(dashboard_db)
    before, version = runs_in(snap), snapshot_version(snap)
    done = evaluator(
        "score",
        "--db",
        str(dashboard_db),
        "--scheme",
        str(SCHEME),
        "--period",
        "2026",
        "--top",
        "0",
    )
    assert done.returncode == 0, done.stderr
    assert "dashboard snapshot" in done.stdout
    assert server.healthy() and server.proc.poll() is None
    assert snapshot_version(snap) != version
    assert runs_in(snap) == before + 1 == runs_in(dashboard_db)


def test_dashboard_refuses_a_missing_db_and_a_busy_port(tmp_path, dashboard_db):
    done = evaluator("dashboard", "--db", str(tmp_path / "missing.duckdb"), "--no-auth")
    assert done.returncode == 1
    assert "no such database" in done.stderr and "Traceback" not in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = evaluator("dashboard", "--db", str(dashboard_db), "--port", str(port))
    assert done.returncode == 1
    assert "in use" in done.stderr and "Traceback" not in done.stderr


def test_publish_command(dashboard_db):
    done = evaluator("publish", "--db", str(dashboard_db))
    assert done.returncode == 0, done.stderr
    assert runs_in(snapshot_path(dashboard_db)) == runs_in(dashboard_db)


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (a scan of /proc: Linux only, no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(check, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def port_closed(port: int) -> bool:
    """Nothing accepts connections on the port (a bind test would trip on TIME_WAIT sockets)."""
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_stops_the_streamlit_child_too(serve, dashboard_db, sig):
    server = serve(dashboard_db, "--no-auth")
    kids = children_of(server.proc.pid)
    assert kids, "the dashboard command should run streamlit as its child"
    server.proc.send_signal(sig)  # the evaluator process only, as a service manager would
    assert server.proc.wait(timeout=20) == 0
    assert wait_until(lambda: not any(alive(k) for k in kids)), "streamlit outlived the command"
    assert not server.healthy()
    assert wait_until(lambda: port_closed(server.port)), "the port still answers"
    assert "stopped" in server.proc.stdout.read()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_streamlit_child_dies_with_a_killed_command(serve, dashboard_db):
    server = serve(dashboard_db, "--no-auth")
    kids = children_of(server.proc.pid)
    assert kids
    server.proc.send_signal(signal.SIGKILL)  # no handler runs: only the kernel can stop the child
    server.proc.wait(timeout=10)
    assert wait_until(lambda: not any(alive(k) for k in kids)), "streamlit outlived the command"
    assert wait_until(lambda: port_closed(server.port)), "the port still answers"
