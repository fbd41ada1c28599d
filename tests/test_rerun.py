"""Supersession kept as data, as-of-batch reads, and `evaluator rerun` (issue 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.ingest import ingest_file
from evaluator.scoring.errors import ScoringError
from evaluator.scoring.rerun import RerunPlan, check_inputs, differences, input_checksums, plan
from evaluator.store import connect
from evaluator.store import db as store_db
from evaluator.store.current import as_of
from evaluator.store.migrations import MIGRATIONS

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def _csv(path: Path, frame: pl.DataFrame) -> Path:
    frame.write_csv(path)
    return path


def test_ingest_marks_superseded_rows_and_as_of_reads_the_past(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    con = connect(db)
    ingest_file(con, "units", DATA / "units.csv", db_path=db)
    first = ingest_file(con, "outcomes", DATA / "outcomes_bom.csv", db_path=db).batch_id
    fix = _csv(tmp_path / "fix.csv", pl.DataFrame({
        "unit_id": ["0101"], "period": ["2026"], "measure": ["income_growth_pct"],
        "value": [9.9]}))
    second = ingest_file(con, "outcomes", fix, db_path=db).batch_id
    old = con.execute("SELECT batch_id, superseded_by FROM outcomes WHERE unit_id = '0101' AND "
                      "period = '2026' AND measure = 'income_growth_pct' ORDER BY batch_id"
                      ).fetchall()
    assert old == [(first, second), (second, None)]

    def value() -> float:
        return float(con.execute(
            "SELECT value FROM current_outcomes WHERE unit_id = '0101' AND period = '2026' "
            "AND measure = 'income_growth_pct'").fetchall()[0][0])

    assert value() == 9.9
    with as_of(con, first):
        assert value() == 6.2
        assert con.execute("SELECT count(*) FROM current_outcomes WHERE batch_id > ?",
                           [first]).fetchall()[0][0] == 0
    assert value() == 9.9  # the shadowing views are gone after the block
    # a rejected correction (bad value) rolls its marks back with its rows
    bad = _csv(tmp_path / "bad.csv", pl.DataFrame({
        "unit_id": ["0101", "0101"], "period": ["2026", "2026"],
        "measure": ["income_growth_pct", "clinic_wait_minutes"], "value": ["7", "x"]}))
    with pytest.raises(Exception, match="rejected|problem"):
        ingest_file(con, "outcomes", bad, db_path=db)
    assert value() == 9.9
    con.close()


def test_migration_backfills_supersession_from_the_batch_order(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(store_db, "MIGRATIONS", MIGRATIONS[:2])  # a database of before
    con = connect(db)
    con.execute("INSERT INTO outcomes (batch_id, unit_id, period, year, measure, value) VALUES "
                "(1, 'a', '2026', 2026, 'm', 1), (2, 'a', '2026', 2026, 'm', 2), "
                "(3, 'a', '2026', 2026, 'm', 3), (1, 'b', '2026', 2026, 'm', 5)")
    con.close()
    monkeypatch.setattr(store_db, "MIGRATIONS", MIGRATIONS)
    con = connect(db)
    rows = con.execute("SELECT unit_id, batch_id, superseded_by FROM outcomes "
                       "ORDER BY unit_id, batch_id").fetchall()
    assert rows == [("a", 1, 2), ("a", 2, 3), ("a", 3, None), ("b", 1, None)]
    assert con.execute("SELECT unit_id, value FROM current_outcomes ORDER BY unit_id"
                       ).fetchall() == [("a", 3.0), ("b", 5.0)]
    with as_of(con, 2):
        assert con.execute("SELECT unit_id, value FROM current_outcomes ORDER BY unit_id"
                           ).fetchall() == [("a", 2.0), ("b", 5.0)]
    con.close()


def test_rerun_after_a_correction_batch_is_identical(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    old = con.execute("SELECT run_id, CAST(parameters AS VARCHAR) FROM runs WHERE period = '2026' "
                      "ORDER BY created_at DESC LIMIT 1").fetchall()[0]
    scheme = json.loads(old[1])["scheme_file"]
    # corrections of both kinds: outcome values and whole survey responses of 2026
    outcomes = con.sql("SELECT unit_id, period, measure, value * 1.5 + 1 AS value "
                       "FROM current_outcomes WHERE year = 2026 "
                       "ORDER BY unit_id, measure, period LIMIT 60").pl()
    surveys = con.sql("SELECT response_id, unit_id, period, question, "
                      "CASE WHEN answer > 1 THEN 1.0 ELSE 5.0 END AS answer, weight, duration_s, "
                      "channel FROM current_survey_responses WHERE year = 2026 "
                      "AND response_id IN (SELECT DISTINCT response_id FROM "
                      "current_survey_responses WHERE year = 2026 ORDER BY 1 LIMIT 80)").pl()
    con.close()
    for kind, frame in (("outcomes", outcomes), ("surveys", surveys)):
        res = runner.invoke(app, ["ingest", "--kind", kind, "--db", str(db),
                                  str(_csv(tmp_path / f"{kind}.csv", frame))])
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["score", "--scheme", scheme, "--db", str(db), "--top", "0"])
    assert res.exit_code == 0, res.output

    # an abbreviated id (timestamp and 4 of the 8 random hex digits), as a user would type it;
    # the timestamp alone is ambiguous when two runs were scored in the same second
    res = runner.invoke(app, ["rerun", old[0][:20], "--db", str(db), "--out",
                              str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "identical" in res.output
    assert (tmp_path / "out" / "scores.csv").exists()
    con = connect(db, read_only=True)
    latest, rerun_id = (r[0] for r in con.execute(
        "SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 2").fetchall()[::-1])
    params = json.loads(con.execute("SELECT CAST(parameters AS VARCHAR) FROM runs WHERE run_id "
                                    "= ?", [rerun_id]).fetchall()[0][0])
    assert params["rerun_of"] == old[0]
    assert not any(differences(con, old[0], rerun_id).values())
    # the corrections did change the data: the run scored after them differs
    assert differences(con, old[0], latest)["run_indicator_scores"] > 0
    assert differences(con, old[0], latest)["run_survey_quality"] > 0
    con.close()


def test_rerun_refuses_a_run_from_outside_files_that_are_not_at_hand(
        demo_db: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "outcomes").mkdir(parents=True)
    pl.read_csv(DATA / "units.csv").write_parquet(inputs / "units.parquet")
    pl.read_csv(DATA / "outcomes_bom.csv").write_parquet(inputs / "outcomes" / "part-0.parquet")
    kinds = ["units", "outcomes"]
    sums = input_checksums(inputs, kinds)
    assert sorted(sums) == ["outcomes/part-0.parquet", "units.parquet"]
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    run_id = con.execute("SELECT run_id FROM runs LIMIT 1").fetchall()[0][0]
    base = plan(con, run_id)
    spark = RerunPlan(base.run_id, base.loaded, base.period, [], {
        "engine": "spark", "inputs": str(inputs), "input_kinds": kinds, "input_checksums": sums})
    assert check_inputs(spark) == inputs  # the same files: may be rebuilt
    pl.DataFrame({"unit_id": ["0101"]}).write_parquet(inputs / "units.parquet")
    with pytest.raises(ScoringError, match=r"changed since: units\.parquet"):
        check_inputs(spark)
    no_sums = RerunPlan(base.run_id, base.loaded, base.period, [],
                        {"engine": "spark", "inputs": str(inputs)})
    with pytest.raises(ScoringError, match="recorded no checksums"):
        check_inputs(no_sums)
    # through the command: a stored run that read outside files, now gone
    con.execute("UPDATE runs SET parameters = CAST(? AS JSON) WHERE run_id = ?", [json.dumps({
        "engine": "spark", "inputs": str(tmp_path / "gone"), "input_kinds": kinds,
        "input_checksums": sums}), run_id])
    con.close()
    res = runner.invoke(app, ["rerun", run_id, "--db", str(db)])
    assert res.exit_code == 1
    assert "not at hand" in res.output and "Traceback" not in res.output
