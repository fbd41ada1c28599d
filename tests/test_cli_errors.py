"""Errors a user can cause end in a message and a clean exit, with nothing stored or created."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

SCHEME = "indicators/demo_township.yaml"


def evaluator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evaluator", *args], capture_output=True, text=True)


def _runs(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM runs").fetchall()[0][0])


def test_score_out_is_a_file_fails_before_storing_a_run(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    before = _runs(db)
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder")
    result = evaluator("score", "--db", str(db), "--scheme", SCHEME, "--out", str(a_file))
    assert result.returncode == 1
    assert "is a file" in result.stderr and "Traceback" not in result.stderr
    assert _runs(db) == before


def test_score_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "typo.duckdb"
    result = evaluator("score", "--db", str(db), "--scheme", SCHEME)
    assert result.returncode == 1
    assert "no such database" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    result = evaluator("score", "--db", str(tmp_path), "--scheme", SCHEME)
    assert result.returncode == 1 and "is a directory" in result.stderr


@pytest.mark.slow
def test_demo_with_too_few_units_is_a_usage_error_not_a_bug(tmp_path: Path) -> None:
    """`demo --units 5` once passed the option check and died inside the generator."""
    for cmd in (["demo", "--db", str(tmp_path / "d.duckdb"), "--no-serve"],
                ["generate-demo", "--out", str(tmp_path / "demo")]):
        result = evaluator(*cmd, "--units", "5")
        assert result.returncode == 2, result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()
