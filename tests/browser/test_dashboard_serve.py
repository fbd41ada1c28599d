"""`evaluator dashboard` serves a snapshot, so `evaluator score` keeps writing the main DB."""

from __future__ import annotations

import socket

import duckdb
from conftest import SCHEME, evaluator  # tests/browser/conftest.py (rootdir-less import)

from evaluator.snapshot import snapshot_path, snapshot_version


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
