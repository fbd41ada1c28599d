"""Read-only snapshots of the data DB for the dashboard, swapped in atomically.

DuckDB lets one process write a file or many processes read it, never both. The dashboard must
stay up while `evaluator score` writes, so it never opens the main DB: it reads
`<db dir>/snapshots/<db file name>` (the whole name, so `x.duckdb` and `x.db` in one folder never
share a snapshot), which a writer publishes after committing. The copy is made
by DuckDB itself (`COPY FROM DATABASE`, a consistent transaction), written to a temporary file in
the same directory, checkpointed, made read-only and moved over the old snapshot with
`os.replace`, so a reader sees either the old or the new snapshot, never half of one.

Publishing is incremental when it can be: raw tables are append-only by batch (plus the
`superseded_by` marks a new batch sets) and run tables are written once per run, so a byte copy
of the previous snapshot plus the new batches' rows, the new runs' rows and the few small
mutable tables (runs, load_batches, …) is the same database as a full copy, at a fraction of
the cost (a full `COPY FROM DATABASE` re-encodes every survey answer ever loaded). When the
previous snapshot is missing, of another schema version or of another history (a rebuilt
database), the full copy is made instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import time
import uuid
from pathlib import Path

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.store.current import KEYS, VIEWS
from evaluator.store.db import StoreError, check_db_path

SNAPSHOT_DIR = "snapshots"


class SnapshotError(EvaluatorError):
    """The snapshot could not be published; the message says why and what to do."""


def snapshot_path(db_path: str | Path) -> Path:
    """Where the latest snapshot of `db_path` lives (it may not exist yet)."""
    db = Path(db_path)
    return db.parent / SNAPSHOT_DIR / db.name


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _copy_into(con: duckdb.DuckDBPyConnection, source_alias: str, target: Path) -> None:
    alias = f"snap_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {_sql_str(str(target))} AS {alias}")
    try:
        con.execute(f'COPY FROM DATABASE "{source_alias}" TO {alias}')
        con.execute(f"CHECKPOINT {alias}")
    finally:
        con.execute(f"DETACH {alias}")


#: run result tables: written once, with the run, and never changed (appended by run_id)
RUN_TABLES = ("run_scores", "run_indicator_scores", "run_dimension_scores",
              "run_reference_values", "run_survey_quality", "run_flags", "run_lint", "run_weights")


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM "
        "information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' AND "
        "table_name IN (SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_type = 'BASE TABLE') GROUP BY table_name", [catalog, catalog]).fetchall()
    return {str(name): list(cols) for name, cols in rows}


def _one(con: duckdb.DuckDBPyConnection, query: str) -> object:
    return con.execute(query).fetchall()[0][0]


def _update_in_place(con: duckdb.DuckDBPyConnection, src: str, snap: str) -> bool:
    """Bring the attached copy `snap` of the previous snapshot up to `src`; False (nothing
    trusted) when its schema or history differ from the source's."""
    tables = _tables(con, src)
    if tables != _tables(con, snap) or "load_batches" not in tables or "runs" not in tables:
        return False
    version = "SELECT max(version) FROM {}.schema_version"
    if _one(con, version.format(src)) != _one(con, version.format(snap)):
        return False
    last = int(str(_one(con, f"SELECT coalesce(max(batch_id), 0) FROM {snap}.load_batches")))
    batches = "SELECT batch_id, checksum, status, loaded_at FROM {}.load_batches WHERE batch_id <= ?"
    differ = con.execute(
        f"SELECT count(*) FROM (({batches.format(src)} EXCEPT ALL {batches.format(snap)}) "
        f"UNION ALL ({batches.format(snap)} EXCEPT ALL {batches.format(src)}))",
        [last, last, last, last]).fetchall()[0][0]
    gone = _one(con, f"SELECT count(*) FROM {snap}.runs WHERE run_id NOT IN "
                     f"(SELECT run_id FROM {src}.runs)")
    if differ or gone:
        return False
    # the new runs, fixed before `runs` itself is replaced below
    new_runs = [r[0] for r in con.execute(
        f"SELECT run_id FROM {src}.runs EXCEPT SELECT run_id FROM {snap}.runs").fetchall()]
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            if table in VIEWS:  # raw data: new batches, and the marks they set on older rows
                con.execute(f"INSERT INTO {snap}.{table} SELECT * FROM {src}.{table} "
                            f"WHERE batch_id > ?", [last])
                if table in KEYS:
                    keys = ("batch_id", *KEYS[table])
                    match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
                    con.execute(
                        f"UPDATE {snap}.{table} AS t SET superseded_by = s.superseded_by FROM "
                        f"(SELECT {', '.join(keys)}, superseded_by FROM {src}.{table} "
                        f"WHERE batch_id <= ? AND superseded_by > ?) AS s WHERE {match}",
                        [last, last])
            elif table in RUN_TABLES:
                if not new_runs:
                    continue
                con.execute(f"INSERT INTO {snap}.{table} SELECT * FROM {src}.{table} "
                            f"WHERE list_contains(?, run_id)", [new_runs])
            else:  # small and mutable (runs, load_batches, schema_version, …): replaced
                con.execute(f"DELETE FROM {snap}.{table}")
                con.execute(f"INSERT INTO {snap}.{table} SELECT * FROM {src}.{table}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


def _copy_or_update(con: duckdb.DuckDBPyConnection, source_alias: str, previous: Path | None,
                    target: Path) -> None:
    """`target` := the source database: the previous snapshot brought up to date when it can
    be trusted, else a full copy."""
    if previous is not None and previous.exists():
        shutil.copyfile(previous, target)  # a kernel-side byte copy; the new file is writable
        alias = f"snap_{uuid.uuid4().hex[:8]}"
        con.execute(f"ATTACH {_sql_str(str(target))} AS {alias}")
        try:
            done = _update_in_place(con, source_alias, alias)
            if done:
                con.execute(f"CHECKPOINT {alias}")
        finally:
            con.execute(f"DETACH {alias}")
        if done:
            return
        _discard(target)
    _copy_into(con, source_alias, target)


def _swap_in(tmp: Path, final: Path) -> Path:
    wal = tmp.with_name(tmp.name + ".wal")
    if wal.exists():  # checkpointed above, so any WAL left is empty
        wal.unlink()
    tmp.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(tmp, final)
    return final


def _temp_beside(final: Path) -> Path:
    """A fresh temporary file beside `final`; stale ones of dead publishers are removed first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.duckdb")


STALE_AFTER_S = 24 * 3600  # a temporary copy this old is stale even if its pid is alive again


def clean_stale(final: Path) -> list[Path]:
    """Delete temporary snapshots (and their WALs) left by a publisher that was killed.

    A temporary file is named `.<snapshot name>.<pid>.<random>.tmp.duckdb` (older versions
    used the DB's stem); it is stale when that process no longer runs, or after a day."""
    removed = []
    now = time.time()
    for prefix in {final.name, final.stem}:
        for tmp in final.parent.glob(f".{glob.escape(prefix)}.*.tmp.duckdb*"):
            pid = tmp.name[len(prefix) + 2:].split(".", 1)[0]
            try:
                age = now - tmp.stat().st_mtime
            except FileNotFoundError:
                continue
            if pid.isdigit() and (not _alive(int(pid)) or age > STALE_AFTER_S):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True



def _discard(tmp: Path) -> None:
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)


def publish_snapshot(db_path: str | Path) -> Path:
    """Copy the DB at `db_path` into its snapshot file and swap it in. Returns the snapshot path.

    Opens the DB read-only, so it fails (SnapshotError) while another process writes it; a writer
    that holds the DB open should call `publish_from_connection` instead.
    """
    db = Path(db_path)
    if not db.exists():
        raise SnapshotError(
            f"{db}: no such database; run `evaluator ingest` or `evaluator demo` first"
        )
    try:
        check_db_path(db)
    except StoreError as exc:
        raise SnapshotError(str(exc)) from None
    final = snapshot_path(db)
    tmp = _temp_beside(final)
    con = duckdb.connect()
    try:
        try:
            con.execute(f"ATTACH {_sql_str(str(db))} AS src (READ_ONLY)")
        except duckdb.Error as exc:
            raise SnapshotError(
                f"{db}: cannot open the database to publish a snapshot ({exc}). Another process "
                "may be writing it: `evaluator score` publishes a fresh snapshot itself when it "
                "finishes; otherwise retry when the writer is done"
            ) from None
        _copy_or_update(con, "src", final, tmp)
        con.execute("DETACH src")
    except SnapshotError:
        _discard(tmp)
        raise
    except (duckdb.Error, OSError) as exc:
        _discard(tmp)
        raise SnapshotError(f"{db}: publishing the snapshot failed: {exc}") from None
    finally:
        con.close()
    return _swap_in(tmp, final)


def publish_from_connection(con: duckdb.DuckDBPyConnection, db_path: str | Path) -> Path:
    """Publish a snapshot through a connection that already has `db_path` open (e.g. for writing).

    Call it after the transaction that wrote the run has committed.
    """
    final = snapshot_path(db_path)
    tmp = _temp_beside(final)
    rows = con.execute("SELECT current_database()").fetchall()
    source = str(rows[0][0]) if rows else "main"
    try:
        _copy_or_update(con, source, final, tmp)
    except (duckdb.Error, OSError) as exc:
        _discard(tmp)
        raise SnapshotError(f"{db_path}: publishing the snapshot failed: {exc}") from None
    return _swap_in(tmp, final)


def latest_snapshot(db_path: str | Path) -> Path | None:
    """The snapshot the dashboard should read, or None when none was published yet."""
    path = snapshot_path(db_path)
    return path if path.exists() else None


def snapshot_version(path: str | Path) -> int:
    """Changes whenever a new snapshot is swapped in: caches key on it together with the run id."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return 0
    return st.st_mtime_ns ^ st.st_ino
