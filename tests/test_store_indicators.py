"""`run_indicator_scores` as a view over a shared base and per-run parts (migration 9, issue 14)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from helpers.scoring import DEMO_SCHEME, scheme_variant

from evaluator.scheme import load_scheme
from evaluator.scoring import reuse, score_run
from evaluator.scoring.engine import DuckDBEngine
from evaluator.store import connect, transaction
from evaluator.store.db import migrate
from evaluator.store.indicators import COLUMNS, delete_run, insert_rows
from evaluator.store.migrations import MIGRATIONS

OLD_ROWS = [  # as version 8 stored them: one table, one row per run × unit × indicator
    ("r1", "u1", "i1", "d1", "outcome", 3.5, 3.5, "min_max", 70.0, 0.5, 0.4, 0.5, 28.0, None,
     False, None),
    ("r1", "u1", "i2", "d1", "outcome", None, None, "min_max", None, 0.5, 0.6, 0.0, None,
     "reweight", True, "missing"),
    ("r2", "u1", "i1", "d1", "outcome", 4.0, 4.0, "min_max", 80.0, 0.5, 0.5, 1.0, 40.0, None,
     False, None),
]


def test_migration_9_keeps_every_stored_row_and_column(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
                "applied_at TIMESTAMP)")
    for version, description, ddl in MIGRATIONS:
        if version > 8:
            break
        with transaction(con):
            con.execute(ddl)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                        [version, description, datetime(2026, 1, 1)])
    marks = ", ".join("?" * len(COLUMNS))
    con.executemany(f"INSERT INTO run_indicator_scores VALUES ({marks})", OLD_ROWS)
    before = con.execute("SELECT * FROM run_indicator_scores ORDER BY ALL").fetchall()
    migrate(con)
    cols = [r[0] for r in con.execute("DESCRIBE run_indicator_scores").fetchall()]
    assert tuple(cols) == COLUMNS
    assert con.execute("SELECT * FROM run_indicator_scores ORDER BY ALL").fetchall() == before
    con.close()


def test_insert_and_delete_through_the_store(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    types = ["VARCHAR"] * 5 + ["DOUBLE", "DOUBLE", "VARCHAR"] + ["DOUBLE"] * 5 + [
        "VARCHAR", "BOOLEAN", "VARCHAR"]
    defs = ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, types, strict=True))
    con.execute(f"CREATE TEMP TABLE rows ({defs})")
    marks = ", ".join("?" * len(COLUMNS))
    con.executemany(f"INSERT INTO rows VALUES ({marks})", OLD_ROWS)
    insert_rows(con, "rows")
    assert (con.execute("SELECT * FROM run_indicator_scores ORDER BY ALL").fetchall()
            == sorted(OLD_ROWS, key=lambda r: tuple((x is None, x) for x in r)))
    delete_run(con, "r1")
    assert con.execute("SELECT DISTINCT run_id FROM run_indicator_scores").fetchall() == [("r2",)]
    assert con.execute("SELECT DISTINCT base_id FROM run_indicator_base").fetchall() == [("r2",)]
    con.close()


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("run_indicator_base", "run_indicator_weights", "run_indicator_parts")}


def test_a_weights_only_rescore_writes_no_indicator_base_rows_and_reads_as_a_fresh_run(
        demo_db: Path, tmp_path: Path) -> None:
    db, other = tmp_path / "e.duckdb", tmp_path / "fresh.duckdb"
    shutil.copy(demo_db, db)
    shutil.copy(demo_db, other)
    loaded = load_scheme(DEMO_SCHEME)
    changed = scheme_variant(loaded, "weights")
    con = connect(db)
    first = score_run(con, loaded, "2026", publish_snapshot=False)
    before = _counts(con)
    con.close()
    con = connect(db)  # a new process, as `evaluator score` after the edit
    again = score_run(con, changed, "2026", publish_snapshot=False)
    after = _counts(con)
    n_units = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ?",
                          [again]).fetchall()[0][0]
    assert after["run_indicator_base"] == before["run_indicator_base"]  # none written again
    assert after["run_indicator_parts"] > before["run_indicator_parts"]
    bases = con.execute("SELECT run_id, any_value(base_id), count(DISTINCT base_id) FROM "
                        "run_indicator_weights WHERE run_id IN (?, ?) GROUP BY run_id",
                        [first, again]).fetchall()
    assert len({b for _, b, _ in bases}) == 1 and all(n == 1 for *_, n in bases)
    con.close()
    # the same edit scored from scratch in another store (its own base rows): the same rows
    fresh_con = connect(other)
    reuse.forget(DuckDBEngine(fresh_con))
    fresh = score_run(fresh_con, changed, "2026", publish_snapshot=False)
    fresh_con.close()
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{other}' AS b (READ_ONLY)")
    cols = ", ".join(COLUMNS[1:])
    a = f"SELECT {cols} FROM a.run_indicator_scores WHERE run_id = '{again}'"
    b = f"SELECT {cols} FROM b.run_indicator_scores WHERE run_id = '{fresh}'"
    n = con.execute(f"SELECT count(*) FROM ({a})").fetchall()[0][0]
    assert n > 0 and n % n_units == 0
    assert con.execute(f"SELECT count(*) FROM ((({a}) EXCEPT ALL ({b})) UNION ALL "
                       f"(({b}) EXCEPT ALL ({a})))").fetchall()[0][0] == 0
    con.close()


@pytest.mark.parametrize("uncertainty", [True])
def test_a_run_with_intervals_keeps_its_own_base(demo_db: Path, tmp_path: Path,
                                                  uncertainty: bool) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    run = score_run(con, load_scheme(DEMO_SCHEME), "2026", uncertainty=uncertainty,
                    publish_snapshot=False)
    assert con.execute("SELECT DISTINCT base_id FROM run_indicator_weights WHERE run_id = ?",
                       [run]).fetchall() == [(run,)]
    con.close()
