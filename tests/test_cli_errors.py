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


def test_brackets_in_a_message_are_printed_not_read_as_markup(tmp_path: Path) -> None:
    """A file name or a value with `[...]` in it is shown as it is (console markup once ate it,
    and a `[/x]` crashed the message)."""
    missing = tmp_path / "units [bold]2026[/x].csv"
    result = evaluator("ingest", "--kind", "units", "--db", str(tmp_path / "d.duckdb"),
                       str(missing))
    assert result.returncode == 1, result.stderr
    assert "units [bold]2026[/x].csv: no such file" in result.stderr.replace("\n", "")
    assert "internal error" not in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_id,name,unit_type\n[red]u1,x,township\n[red]u1,y,township\n",
                   encoding="utf-8")  # a duplicate id: rejected, the id shown
    result = evaluator("ingest", "--kind", "units", "--db", str(tmp_path / "d.duckdb"), str(bad))
    assert result.returncode == 1, result.stderr
    assert "[red]u1" in result.stderr
