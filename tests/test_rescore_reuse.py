"""A weights-only change re-runs only the aggregation, and gives a full run's numbers (issue 14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.scoring import DEMO_SCHEME, scheme_variant

from evaluator.scheme import load_scheme
from evaluator.scoring import reuse, rules, score_run
from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.rerun import differences
from evaluator.store import connect


@pytest.mark.parametrize("edit, rescored", [
    ("weights", set()), ("direction", {"income_growth"}),
    ("rules", {"income_growth", "complaint_resolution"}), ("transform", None)])
def test_rescore_reuses_indicator_scores_only_when_they_cannot_change(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str,
        rescored: set[str] | None) -> None:
    """`rescored`: the indicators scored again (None: everything, from the data)."""
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    changed = scheme_variant(loaded, edit)
    full: list[int] = []
    partial: list[frozenset[str]] = []
    real_full, real_partial = rules.score_indicators, rules.rescore_indicators

    def counting_full(engine, scheme):  # type: ignore[no-untyped-def]
        full.append(1)
        real_full(engine, scheme)

    def counting_partial(engine, scheme, ids):  # type: ignore[no-untyped-def]
        partial.append(ids)
        real_partial(engine, scheme, ids)

    monkeypatch.setattr("evaluator.scoring.run.score_indicators", counting_full)
    monkeypatch.setattr("evaluator.scoring.run.rescore_indicators", counting_partial)

    def expect(runs: int) -> None:  # after `runs` runs, alternating the original and the edit
        if rescored is None:
            assert (len(full), partial) == (runs, [])
        else:
            assert len(full) == 1 and all(ids == rescored for ids in partial)
            assert len(partial) == (runs - 1 if rescored else 0)

    con = connect(db)
    reuse.forget(DuckDBEngine(con))  # the demo's own run kept its tables: start from none
    original = score_run(con, loaded, "2026", publish_snapshot=False)
    again = score_run(con, changed, "2026", publish_snapshot=False)
    expect(2)
    con.close()
    # a new process (`evaluator score` again): the tables kept in the store are reused
    con = connect(db)
    score_run(con, loaded, "2026", publish_snapshot=False)  # back: the store keeps the original
    con.close()
    con = connect(db)
    stored = score_run(con, changed, "2026", publish_snapshot=False)
    expect(4)
    con.close()
    # the same edit scored from scratch, nothing kept: identical numbers, to the last bit
    con = connect(db)
    reuse.forget(DuckDBEngine(con))
    monkeypatch.undo()
    fresh = score_run(con, changed, "2026", publish_snapshot=False)
    assert not any(differences(con, again, fresh).values())
    assert not any(differences(con, stored, fresh).values())
    if rescored:  # the edit changed the scores of the rescored indicators, and only those
        moved = con.execute(
            "SELECT DISTINCT a.indicator_id FROM run_indicator_scores a "
            "JOIN run_indicator_scores b USING (unit_id, indicator_id) "
            "WHERE a.run_id = ? AND b.run_id = ? AND a.score IS DISTINCT FROM b.score",
            [original, fresh]).fetchall()
        assert {r[0] for r in moved} == rescored
    con.close()


def test_kept_tables_are_not_reused_on_new_data_or_after_a_failed_run(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    con = connect(db)
    first = score_run(con, loaded, "2026", publish_snapshot=False)
    key = reuse.stored_key(DuckDBEngine(con))
    assert key is not None and json.loads(key)["scope"][0] == "2026"
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


def test_kept_tables_read_in_place_then_rescored_or_rebuilt_on_one_connection(
        demo_db: Path, tmp_path: Path) -> None:
    """A new process reads the store's kept tables in place (views); the same connection can
    then score a rule change (the tables are copied, then updated) and a change that rebuilds
    everything (the views make way for tables), each equal to a run from scratch."""
    db = tmp_path / "v.duckdb"
    shutil.copy(demo_db, db)
    loaded = load_scheme(DEMO_SCHEME)
    con = connect(db)
    reuse.forget(DuckDBEngine(con))
    score_run(con, loaded, "2026", publish_snapshot=False)
    con.close()
    edits = ("weights", "rules", "transform")
    con = connect(db)
    try:
        runs = {}
        for edit in edits:
            runs[edit] = score_run(con, scheme_variant(loaded, edit), "2026",
                                   publish_snapshot=False)
            views = reuse._views(DuckDBEngine(con))
            assert bool(views) == (edit == "weights"), (edit, views)
        reuse.forget(DuckDBEngine(con))
        for edit in edits:
            reuse.remember(DuckDBEngine(con), None)  # nothing kept: each from scratch
            fresh = score_run(con, scheme_variant(loaded, edit), "2026", publish_snapshot=False)
            assert not any(differences(con, runs[edit], fresh).values()), edit
    finally:
        con.close()
