"""An ingest killed half-way leaves no partial batch: the DB opens and holds nothing of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from helpers.ingest import DATA, fingerprint, ingest, load_base

from evaluator.demo_data import generate


@pytest.mark.slow
def test_kill_during_the_write_leaves_no_partial_batch(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "crash.duckdb"
    load_base(db)
    files = generate(tmp_path / "demo", units=8, seed=7)
    assert ingest(db, "units", files.path("units")).exit_code == 0
    before = fingerprint(db)
    marker = tmp_path / "first-chunk-written"
    env = {**os.environ, "EVALUATOR_INGEST_CHUNK_ROWS": "500",
           "EVALUATOR_INGEST_PAUSE": f"{marker}:120", "EVALUATOR_SECRET": "crash-test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evaluator", "ingest", "--db", str(db), "--kind", "surveys",
         str(files.path("surveys"))], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "ingest never reached the write"
            time.sleep(0.05)
        # rows of the batch are written inside the open transaction at this point
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert fingerprint(db) == before  # the DB opens, and nothing of the batch is there
    con = duckdb.connect(str(db), read_only=True)
    kinds = con.execute("SELECT kind FROM load_batches ORDER BY batch_id").fetchall()
    con.close()
    assert ("surveys",) not in kinds
    # and the same file then loads normally
    monkeypatch.setenv("EVALUATOR_SECRET", "crash-test")
    again = ingest(db, "surveys", files.path("surveys"))
    assert again.exit_code == 0, again.output
    assert fingerprint(db)["survey_responses"][0] == files.rows["surveys"]


@pytest.mark.slow
def test_console_script_runs_end_to_end(tmp_path: Path) -> None:
    """The installed `evaluator` entry point, not just the Typer app, loads and rejects."""
    db = tmp_path / "s.duckdb"
    # the script installed beside this interpreter: CI does not put the venv on PATH
    script = str(Path(sys.executable).parent / "evaluator")
    ok = subprocess.run([script, "ingest", "--db", str(db), "--kind", "units",
                         str(DATA / "units.csv")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([script, "ingest", "--db", str(db), "--kind", "outcomes",
                          str(DATA / "units.csv")], capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "row 1, column period:" in bad.stderr and "Traceback" not in bad.stderr
