"""The CLI as a newcomer meets it (issue 9): misspelled ids, empty periods, intervals, help.

Real demo database, real subprocess (`python -m evaluator`, so `main()`'s error handling is what
is tested), real scheme files edited the way people mistype them.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from evaluator import errors
from evaluator.store import DEFAULT_DB

ROOT = Path(__file__).resolve().parent.parent
SCHEME = ROOT / "indicators" / "demo_township.yaml"


def evaluator(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evaluator", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, copy)
    return copy


@pytest.fixture
def typo_scheme(tmp_path: Path) -> Path:
    text = SCHEME.read_text(encoding="utf-8")
    old = "measure: complaint_resolution_rate}"
    assert text.count(old) == 1
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace(old, "measure: complaint_resolution_rat}"), encoding="utf-8")
    return path


def _runs(db: Path) -> list[tuple[str, str | None]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT run_id, note FROM runs ORDER BY created_at").fetchall()


def test_a_misspelled_measure_is_scored_with_a_loud_warning_stored_in_the_run(db, typo_scheme):
    before = len(_runs(db))
    done = evaluator("score", "--db", db, "--scheme", typo_scheme, "--top", "0")
    assert done.returncode == 0, done.stderr  # a valid scheme is still scored
    said = done.stderr
    assert "WARNING" in said
    assert "indicator 'complaint_resolution': no such measure 'complaint_resolution_rat'" in said
    assert "did you mean 'complaint_resolution_rate'?" in said
    runs = _runs(db)
    assert len(runs) == before + 1
    assert "no such measure 'complaint_resolution_rat'" in (runs[-1][1] or "")


def test_strict_refuses_a_run_with_a_misspelled_measure(db, typo_scheme):
    before = _runs(db)
    done = evaluator("score", "--db", db, "--scheme", typo_scheme, "--strict")
    assert done.returncode == 1
    assert "--strict" in done.stderr and "complaint_resolution_rat" in done.stderr
    assert "internal error" not in done.stderr
    assert _runs(db) == before  # nothing stored


def test_strict_scores_a_scheme_whose_ids_all_exist(db):
    done = evaluator("score", "--db", db, "--scheme", SCHEME, "--strict", "--top", "0")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "no such" not in done.stderr


def test_check_names_the_missing_measure_once_with_a_suggestion(db, typo_scheme):
    done = evaluator("check", "--db", db, "--scheme", typo_scheme)
    assert "no such measure 'complaint_resolution_rat' in the store" in done.stdout
    assert "did you mean 'complaint_resolution_rate'?" in done.stdout
    # reported once, not once per unit in the detail table
    lines = [ln for ln in done.stdout.splitlines() if "complaint_resolution" in ln]
    assert len(lines) == 1, lines


def test_check_a_period_without_data_says_so_in_a_few_lines_and_exits_1(db):
    done = evaluator("check", "--db", db, "--scheme", SCHEME, "--period", "2024")
    assert done.returncode == 1
    assert "no data for period 2024" in done.stdout
    assert "periods with data: 2025, 2026" in done.stdout
    assert len(done.stdout.splitlines()) < 6, done.stdout


def test_score_uncertainty_prints_the_intervals(db):
    plain = evaluator("score", "--db", db, "--scheme", SCHEME, "--top", "3")
    wide = evaluator("score", "--db", db, "--scheme", SCHEME, "--top", "3", "--uncertainty")
    assert plain.returncode == wide.returncode == 0, wide.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        lo, hi, rlo, rhi = con.execute(
            "SELECT i.score_low, i.score_high, i.rank_low, i.rank_high FROM run_intervals i "
            "JOIN run_scores s USING (run_id, unit_id) WHERE run_id = "
            "(SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1) AND s.rank = 1"
        ).fetchall()[0]
    assert f"({lo:.2f}–{hi:.2f})" in wide.stdout and f"({rlo}–{rhi})" in wide.stdout
    assert "bootstrap interval" in wide.stdout
    assert "–" not in plain.stdout.split("\n", 2)[2].split("✓")[0]  # no interval without it


def test_help_shows_no_bool_placeholder_and_version_exists():
    helped = evaluator("score", "--help")
    assert "--uncertainty" in helped.stdout and "<bool>" not in helped.stdout
    assert "--strict" in helped.stdout
    version = evaluator("--version")
    assert version.returncode == 0 and version.stdout.startswith("evaluator ")


@pytest.mark.parametrize("command", [["runs"], ["score", "--scheme", str(SCHEME), "--top", "0"],
                                     ["export", "--format", "csv", "--out", "out", "--no-cards",
                                      "--no-summary"],
                                     ["appeals", "list"], ["check", "--scheme", str(SCHEME)]])
def test_db_defaults_to_data_evaluator_duckdb_everywhere(demo_db, tmp_path, command):
    target = tmp_path / DEFAULT_DB
    target.parent.mkdir(parents=True)
    shutil.copy(demo_db, target)
    done = evaluator(*command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Missing option '--db'" not in done.stderr


def test_every_user_error_class_derives_from_the_one_base():
    """One base, one handler in main(): a user error can never print as "a bug in evaluator"."""
    import evaluator.appeals
    import evaluator.appstore
    import evaluator.ingest.errors
    import evaluator.pseudonym
    import evaluator.runs
    import evaluator.scheme.loader
    import evaluator.scoring.errors
    import evaluator.snapshot
    import evaluator.store.db
    import evaluator.users

    modules = [evaluator.appeals, evaluator.appstore, evaluator.ingest.errors, evaluator.pseudonym,
               evaluator.runs, evaluator.scheme.loader, evaluator.scoring.errors,
               evaluator.snapshot, evaluator.store.db, evaluator.users]
    found = [cls for m in modules for _, cls in inspect.getmembers(m, inspect.isclass)
             if issubclass(cls, Exception) and cls.__module__ == m.__name__
             and not cls.__name__.startswith("_")]
    assert len(found) >= 11
    assert all(issubclass(cls, errors.EvaluatorError) for cls in found), found


def test_an_uncaught_user_error_is_explained_not_reported_as_a_bug(tmp_path):
    """`diff` on a missing file: no command-level catch is needed any more."""
    done = evaluator("diff", "A", "B", "--db", tmp_path / "nope.duckdb")
    assert done.returncode == 1
    assert "no such database" in done.stderr
    assert "internal error" not in done.stderr and "bug" not in done.stderr


def _tour() -> list[list[str]]:
    """The README's CLI tour: every `evaluator …` line of its first bash block, comments cut."""
    import re
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## A tour of the CLI\s+```bash\n(.*?)```", text, re.S)
    assert block is not None
    joined = re.sub(r"\\\n\s*", " ", block.group(1))  # shell line continuations
    lines = [ln.split("  #")[0].strip() for ln in joined.splitlines()]
    return [shlex.split(ln)[1:] for ln in lines if ln.startswith("evaluator ")]


@pytest.mark.slow
def test_the_readme_tour_scores_what_the_demo_scores(demo_db, tmp_path):
    """Issue 9: the tour loaded units, outcomes and surveys only (no events, no questions), so a
    newcomer's numbers differed from the demo's. Run its load-and-score lines for real."""
    shutil.copytree(ROOT / "indicators", tmp_path / "indicators")
    steps = [c for c in _tour() if c[0] == "generate-demo"
             or (c[0] == "ingest" and "form" not in c)  # forms are loaded once units filled them
             or (c[0] == "score" and "--period" in c)]
    assert {"units", "questions", "outcomes", "targets", "events", "surveys"} <= {
        c[c.index("--kind") + 1] for c in steps if c[0] == "ingest"}
    for command in steps:
        done = evaluator(*command, cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
    query = ("SELECT unit_id, score, rank, grade FROM run_scores WHERE run_id = (SELECT run_id "
             "FROM runs WHERE period = '2026' ORDER BY created_at DESC LIMIT 1) ORDER BY unit_id")
    with duckdb.connect(str(tmp_path / DEFAULT_DB), read_only=True) as con:
        tour = con.execute(query).fetchall()
    with duckdb.connect(str(demo_db), read_only=True) as con:
        demo = con.execute(query).fetchall()
    assert len(tour) == 120 and tour == demo


def test_every_command_that_takes_db_defaults_it():
    """The parametrized run above covers five commands; this covers every one, sub-commands too."""
    from typing import Any

    import typer.main

    from evaluator.cli import app

    def walk(cmd: Any, path: str) -> list[tuple[str, Any]]:  # typer's own (vendored) click
        subs = getattr(cmd, "commands", {}).values()
        return [(path, cmd)] + [pair for sub in subs for pair in walk(sub, f"{path} {sub.name}")]

    with_db = {path: opt for path, cmd in walk(typer.main.get_command(app), "evaluator")
               for opt in cmd.params if "--db" in getattr(opt, "opts", ())}
    assert len(with_db) >= 19, sorted(with_db)  # every data command, users and appeals included
    wrong = {path: (opt.required, opt.default) for path, opt in with_db.items()
             if opt.required or Path(opt.default) != Path(DEFAULT_DB)}
    assert not wrong
