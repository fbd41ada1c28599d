"""Stored runs: listing, diff, the CONTRACT CSVs, and the score/runs/diff commands."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers.scoring import add_units, add_values, dimension, indicator, make_scheme
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.runs import (
    RunNotFound,
    diff_runs,
    list_runs,
    read_scores,
    resolve_run,
    write_outputs,
)
from evaluator.scoring import score_run
from evaluator.store import connect

SCHEME = make_scheme([dimension("d", [indicator("x"), indicator("y", weight=3)])])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.duckdb"
    con = connect(path)
    add_units(con, [("001", "a"), ("002", "a"), ("003", "b")])
    add_values(con, "x", {"001": 90, "002": 60, "003": 70})
    add_values(con, "y", {"001": 50, "002": 80, "003": 70})
    con.close()
    return path


def test_list_resolve_and_diff(db: Path) -> None:
    con = connect(db)
    first = score_run(con, SCHEME, "2026", publish_snapshot=False)
    add_values(con, "x", {"003": 100})  # a correction batch supersedes 003's x
    second = score_run(con, SCHEME, "2026", publish_snapshot=False)
    runs = list_runs(con)
    assert runs["run_id"].to_list() == [second, first] and runs["units"].to_list() == [3, 3]
    assert resolve_run(con, None) == second and resolve_run(con, first[:-3]) == first
    with pytest.raises(RunNotFound, match="no run"):
        resolve_run(con, "nope")
    diff = diff_runs(con, first, second)
    row = diff.filter(pl.col("unit_id") == "003").row(0, named=True)
    # 003: (70 + 3·70)/4 = 70 → (100 + 210)/4 = 77.5, overtaking 002 (75); 001 stays last (60)
    assert (row["score_a"], row["score_b"], row["rank_a"], row["rank_b"]) == (70.0, 77.5, 2, 1)
    assert row["rank_change"] == 1
    assert diff["unit_id"].to_list() == ["003", "002", "001"]  # movers first, then by new rank
    con.close()


def test_outputs_follow_the_contract(db: Path, tmp_path: Path) -> None:
    con = connect(db)
    run_id = score_run(con, SCHEME, "2026", publish_snapshot=False)
    paths = write_outputs(con, run_id, tmp_path / "out")
    con.close()
    assert [p.name for p in paths] == ["scores.csv", "indicator_scores.csv", "flags.csv",
                                      "dimension_scores.csv"]
    scores = pl.read_csv(paths[0], infer_schema=False)
    assert scores.columns[:4] == ["unit_id", "score", "rank", "grade"]
    assert scores["unit_id"].to_list() == ["002", "003", "001"]  # leading zeros kept, by rank
    assert scores["score"].to_list() == ["75.0", "70.0", "60.0"]
    inds = pl.read_csv(paths[1], infer_schema=False)
    assert inds.columns[:6] == ["unit_id", "indicator_id", "raw_value", "score", "weight",
                                "contribution"]
    assert inds.height == 6
    assert paths[2].read_text().strip() == "unit_id,flag,evidence,evidence_zh"  # header only: no flags


def test_read_scores_adds_uncertainty_columns_only_when_present(db: Path) -> None:
    con = connect(db)
    run_id = score_run(con, SCHEME, "2026", publish_snapshot=False)
    assert "score_low" not in read_scores(con, run_id).columns
    con.close()


def test_cli_score_runs_diff(db: Path, tmp_path: Path) -> None:
    scheme = tmp_path / "s.yaml"
    scheme.write_text(SCHEME.text, encoding="utf-8")  # JSON is YAML
    runner = CliRunner()
    args = ["score", "--db", str(db), "--scheme", str(scheme), "--period", "2026"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "排名 Rank" in first.output and "003" in first.output
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert second.exit_code == 0 and (tmp_path / "out" / "scores.csv").exists()
    listing = runner.invoke(app, ["runs", "--db", str(db)])
    assert listing.exit_code == 0 and listing.output.count("2026") >= 2
    con = connect(db, read_only=True)
    a, b = list_runs(con)["run_id"].to_list()[::-1]
    con.close()
    diff = runner.invoke(app, ["diff", "--db", str(db), a, b, "--all"])
    assert diff.exit_code == 0 and "0 of 3 units changed" in diff.output
    missing = runner.invoke(app, ["diff", "--db", str(db), a, "zzz"])
    assert missing.exit_code == 1 and "no run 'zzz'" in missing.output


def test_cli_score_errors_exit_1_without_traceback(db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: {zh: 甲, en: X}\nyear: 2026\nunit_types: [township]\n"
                   "dimensions: []\n", encoding="utf-8")
    result = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(bad)])
    assert result.exit_code == 1 and "bad.yaml" in result.output
    assert "Traceback" not in result.output
    street = tmp_path / "street.yaml"
    street.write_text(SCHEME.text.replace('"township"', '"street"'), encoding="utf-8")
    result = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(street)])
    assert result.exit_code == 1 and "no units of type street" in result.output
    result = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(street),
                                 "--period", "2026-03"])
    assert result.exit_code == 1 and "is not a year" in result.output
