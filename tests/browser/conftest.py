"""Start `evaluator dashboard` for real on 127.0.0.1 (a free port) and stop it afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.browser import ARGS, CHROMIUM, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    db: Path
    port: int
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                return r.status == 200 and r.read().strip() == b"ok"
        except OSError:
            return False


@pytest.fixture
def dashboard_db(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the closed demo DB, so this test may score into it."""
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    key = demo_db.with_suffix(".key")
    if key.exists():
        shutil.copy(key, db.with_suffix(".key"))
    return db


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(db: Path, *extra: str) -> Server:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evaluator",
                "dashboard",
                "--db",
                str(db),
                "--port",
                str(port),
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        server = Server(db, port, proc)
        started.append(server)
        deadline = time.monotonic() + 60
        while not server.healthy():
            if proc.poll() is not None:
                raise AssertionError(f"dashboard exited {proc.returncode}: {proc.stdout.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("dashboard did not answer within 60 s")
            time.sleep(0.3)
        return server

    yield start
    for server in started:  # stop only what this fixture started, by its process group id
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, 15)
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.proc.pid, 9)
                server.proc.wait(timeout=5)



@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 2400}, locale="zh-CN")
    p = ctx.new_page()
    p.set_default_timeout(45_000)
    yield p
    ctx.close()

