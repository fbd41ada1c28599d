"""A weights-only change re-runs only the aggregation, and gives a full run's numbers (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.scoring import DEMO_SCHEME, scheme_variant

from evaluator.scheme import load_scheme
from evaluator.scoring import reuse, rules, score_run
from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.rerun import differences
from evaluator.store import connect


@pytest.mark.parametrize("edit, reused", [("weights", True), ("rule", False)])
def test_rescore_reuses_indicator_scores_only_when_they_cannot_change(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str,
        reused: bool) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    changed = scheme_variant(loaded, edit)
    calls: list[int] = []
    real = rules.score_indicators

    def counting(engine, scheme):  # type: ignore[no-untyped-def]
        calls.append(1)
        real(engine, scheme)

    monkeypatch.setattr("evaluator.scoring.run.score_indicators", counting)
    con = connect(db)
    reuse.forget(DuckDBEngine(con))  # the demo's own run kept its tables: start from none
    score_run(con, loaded, "2026", publish_snapshot=False)
    again = score_run(con, changed, "2026", publish_snapshot=False)
    assert len(calls) == (1 if reused else 2)
    con.close()
    # a new process (`evaluator score` again): the tables kept in the store are reused
    con = connect(db)
    stored = score_run(con, changed, "2026", publish_snapshot=False)
    assert len(calls) == (1 if reused else 2)
    con.close()
    # the same edit scored from scratch, nothing kept: identical numbers, to the last bit
    con = connect(db)
    reuse.forget(DuckDBEngine(con))
    fresh = score_run(con, changed, "2026", publish_snapshot=False)
    assert len(calls) == (2 if reused else 3)
    assert not any(differences(con, again, fresh).values())
    assert not any(differences(con, stored, fresh).values())
    con.close()


def test_kept_tables_are_not_reused_on_new_data_or_after_a_failed_run(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    con = connect(db)
    first = score_run(con, loaded, "2026", publish_snapshot=False)
    key = reuse.stored_key(DuckDBEngine(con))
    assert key is not None and key.startswith('["2026"')
    fix = con.sql("SELECT unit_id, period, measure, value * 2 + 1 AS value FROM current_outcomes "
                  "WHERE year = 2026 ORDER BY ALL LIMIT 50").pl()
    con.close()
    fix.write_csv(tmp_path / "fix.csv")
    from evaluator.ingest import ingest_file

    con = connect(db)
    ingest_file(con, "outcomes", tmp_path / "fix.csv", db_path=db)
    con.close()
    con = connect(db)  # a new process after the correction batch: the kept key is stale
    second = score_run(con, loaded, "2026", publish_snapshot=False)
    assert differences(con, first, second)["run_indicator_scores"] > 0
    assert reuse.stored_key(DuckDBEngine(con)) not in (None, key)
    con.close()
    # a run that fails while writing keeps neither its rows nor its tables
    con = connect(db)
    reuse.forget(DuckDBEngine(con))

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk gone")

    monkeypatch.setattr("evaluator.scoring.run.store_value_added", broken)
    with pytest.raises(RuntimeError):
        score_run(con, loaded, "2026", publish_snapshot=False)
    assert reuse.stored_key(DuckDBEngine(con)) is None
    con.close()


def test_new_data_invalidates_the_reused_scores(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    con = connect(db)
    first = score_run(con, loaded, "2026", publish_snapshot=False)
    fix = con.sql("SELECT unit_id, period, measure, value * 2 + 1 AS value FROM current_outcomes "
                  "WHERE year = 2026 ORDER BY ALL LIMIT 50").pl()
    fix.write_csv(tmp_path / "fix.csv")
    from evaluator.ingest import ingest_file

    ingest_file(con, "outcomes", tmp_path / "fix.csv", db_path=db)
    second = score_run(con, loaded, "2026", publish_snapshot=False)
    assert differences(con, first, second)["run_indicator_scores"] > 0
    con.close()
