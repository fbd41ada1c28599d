"""A light CLI start-up (issue 14): a command loads only what it uses.

Each test starts a fresh interpreter (`sys.modules` of this one holds everything the suite has
imported) and asks it which modules were loaded. The lists are of modules that cost real time to
import (pydantic models, polars, openpyxl, the export and read-model packages, Streamlit).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEME = ROOT / "indicators" / "demo_township.yaml"

# never needed to score: the export, the dashboard's read model and its XLSX writers, the demo
# generator, sign-in, appeals, release, forms, the bootstrap, PCA weights, the scheme workbook
NOT_FOR_SCORE = (
    "evaluator.export", "evaluator.readmodel", "openpyxl", "xlsxwriter", "streamlit",
    "evaluator.demo_data", "evaluator.demo", "evaluator.oidc", "evaluator.appeals",
    "evaluator.publishing", "evaluator.forms", "evaluator.uncertainty",
    "evaluator.scoring.pca_weights", "evaluator.scheme.spreadsheet", "evaluator.completeness",
    "evaluator.ingest",
)
# needed to score, not to print --help or to build the command tree
ENGINE = ("numpy", "polars", "duckdb", "pydantic", "evaluator.scheme", "evaluator.scoring",
          "evaluator.store", "evaluator.lint", "evaluator.runs", "evaluator.snapshot")

_LOADED = """
import json, sys
out, args = sys.argv[1], sys.argv[2:]
import typer.main
from evaluator.cli import app
typer.main.get_command(app)  # every command's signature read, as for any invocation
code = 0
if args:
    try:
        app(args)
    except SystemExit as exc:
        code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """(exit code, modules loaded) of `evaluator ARGS` run in a fresh interpreter."""
    out = tmp_path / "loaded.json"
    done = subprocess.run([sys.executable, "-c", _LOADED, str(out), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(out.read_text())
    return got["code"], set(got["modules"])


def _present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules]


def test_the_command_tree_loads_no_engine(tmp_path):
    """Importing the CLI and reading every command's options loads neither the engine nor any
    command's own dependencies: they are imported inside the commands that use them."""
    code, modules = _loaded(tmp_path)
    assert code == 0
    assert not _present(modules, NOT_FOR_SCORE + ENGINE)
    assert "evaluator.cli.export_cmds" in modules  # the modules themselves are still registered


@pytest.mark.slow  # a real run on the demo database: ~12 s wall on a loaded machine
def test_a_real_score_loads_nothing_it_does_not_use(demo_db, tmp_path):
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    code, modules = _loaded(tmp_path, "score", "--scheme", str(SCHEME), "--db", str(db),
                            "--top", "0")
    assert code == 0
    assert _present(modules, ENGINE) == list(ENGINE)  # it did score (the lists are not stale)
    assert not _present(modules, NOT_FOR_SCORE)


def test_help_lists_every_command():
    import typer.main

    from evaluator.cli import app

    names = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    done = subprocess.run([sys.executable, "-m", "evaluator", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    assert len(names) >= 17, names
    missing = [n for n in names if f"│ {n} " not in done.stdout]
    assert not missing, done.stdout
