"""The dashboard snapshot is brought up to date incrementally, and equals a full copy (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from evaluator import snapshot
from evaluator.ingest import ingest_file
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect


def _same(db: Path, snap: Path) -> None:
    """Every base table and every current_* view of the snapshot equals the database's."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{snap}' AS b (READ_ONLY)")
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'a' "
        "AND table_schema = 'main'").fetchall()]
    assert "survey_responses" in names and "current_outcomes" in names
    for t in names:
        n = con.execute(f"SELECT count(*) FROM ((FROM a.{t} EXCEPT ALL FROM b.{t}) UNION ALL "
                        f"(FROM b.{t} EXCEPT ALL FROM a.{t}))").fetchall()[0][0]
        assert n == 0, f"{t}: {n} rows differ"
    con.close()


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The targets of every full copy made (the real function still runs)."""
    made: list[Path] = []
    real = snapshot._copy_into

    def counting(con: duckdb.DuckDBPyConnection, alias: str, target: Path) -> None:
        made.append(target)
        real(con, alias, target)

    monkeypatch.setattr(snapshot, "_copy_into", counting)
    return made


def test_snapshot_after_a_correction_and_a_run_is_incremental_and_complete(
        demo_db: Path, tmp_path: Path, copies: list[Path]) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    first = snapshot.publish_snapshot(db)
    assert len(copies) == 1  # no previous snapshot: a full copy
    _same(db, first)
    con = connect(db)
    params = con.execute("SELECT CAST(parameters AS VARCHAR) FROM runs LIMIT 1").fetchall()[0][0]
    fix = con.sql("SELECT unit_id, period, measure, value + 1 AS value FROM current_outcomes "
                  "WHERE year = 2026 ORDER BY ALL LIMIT 30").pl()
    fix.write_csv(tmp_path / "fix.csv")
    ingest_file(con, "outcomes", tmp_path / "fix.csv", db_path=db)
    score_run(con, load_scheme(json.loads(params)["scheme_file"]), "2026",
              publish_snapshot=False)
    second = snapshot.publish_from_connection(con, db)
    con.close()
    assert len(copies) == 1  # brought up to date, not copied again
    _same(db, second)
    ro = duckdb.connect(str(second), read_only=True)
    assert ro.execute("SELECT count(*) FROM outcomes WHERE superseded_by IS NOT NULL"
                      ).fetchall()[0][0] == 30
    ro.close()


def test_a_rebuilt_database_gets_a_full_copy(demo_db: Path, tmp_path: Path,
                                             copies: list[Path]) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    snapshot.publish_snapshot(db)
    db.unlink()  # the office starts over: same path, another history
    con = connect(db)
    pl.DataFrame({"unit_id": ["0101"], "name": ["青山镇"], "unit_type": ["township"]}
                 ).write_csv(tmp_path / "units.csv")
    ingest_file(con, "units", tmp_path / "units.csv", db_path=db)
    again = snapshot.publish_from_connection(con, db)
    con.close()
    assert len(copies) == 2
    _same(db, again)


def test_a_run_adds_its_parts_and_leaves_the_raw_data_file_alone(
        demo_db: Path, tmp_path: Path, copies: list[Path]) -> None:
    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    first = snapshot.publish_snapshot(db)
    inode, version = os.stat(first).st_ino, snapshot.snapshot_version(first)
    con = connect(db)
    params = con.execute("SELECT CAST(parameters AS VARCHAR) FROM runs LIMIT 1").fetchall()[0][0]
    run = score_run(con, load_scheme(json.loads(params)["scheme_file"]), "2026",
                    publish_snapshot=False)
    again = snapshot.publish_from_connection(con, db)
    con.close()
    assert len(copies) == 1 and os.stat(again).st_ino == inode  # no new data: file untouched
    assert snapshot.snapshot_version(again) != version  # … yet readers see a new version
    gen = [p for p in snapshot.parts_path(again).iterdir() if p.is_dir()]
    assert len(gen) == 1
    for table in ("run_scores", "run_indicator_weights", "run_indicator_parts", "run_flags"):
        assert (gen[0] / "runs" / table / f"{run}.parquet").exists()
    # the weight-independent indicator rows: one file per base the runs read, not per run
    src = duckdb.connect(str(db), read_only=True)
    bases = {r[0] for r in src.execute(
        "SELECT DISTINCT base_id FROM run_indicator_weights").fetchall()}
    src.close()
    written = {p.stem for p in (gen[0] / "runs" / "run_indicator_base").glob("*.parquet")}
    assert written - {"_empty"} == bases
    assert not (gen[0] / "tables" / "run_indicator_base.parquet").exists()  # never per publish
    _same(db, again)
    ro = duckdb.connect(str(again), read_only=True)
    schemas = {r[0] for r in ro.execute("SELECT schema_name FROM information_schema.schemata "
                                        "WHERE catalog_name = current_database()").fetchall()}
    assert "score_cache" not in schemas  # the scoring cache is not for readers
    ro.close()


def test_a_copied_site_republished_reads_its_own_parts(demo_db: Path, tmp_path: Path) -> None:
    """(A database file name that is no SQL identifier, `my-site`, as well.)"""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(demo_db, site / "my-site.duckdb")
    snapshot.publish_snapshot(site / "my-site.duckdb")
    moved = tmp_path / "moved"
    shutil.copytree(site, moved)
    shutil.rmtree(site)  # the parts the copied views pointed at are gone
    snap = snapshot.publish_snapshot(moved / "my-site.duckdb")
    _same(moved / "my-site.duckdb", snap)


def test_a_killed_publishers_half_written_part_is_removed(demo_db: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "e.duckdb"
    shutil.copy(demo_db, db)
    snap = snapshot.publish_snapshot(db)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    parts = snapshot.parts_path(snap)
    gen = next(p for p in parts.iterdir() if p.is_dir())
    left = gen / "tables" / f".runs.parquet.{dead.pid}.0badc0de.tmp"
    mine = gen / "tables" / f".runs.parquet.{os.getpid()}.0badc0de.tmp"  # a live publisher's
    left.write_bytes(b"PAR1")
    mine.write_bytes(b"PAR1")
    snapshot.publish_snapshot(db)
    assert not left.exists() and mine.exists()
    mine.unlink()
