"""Read-only snapshots of the data DB for the dashboard, published without copying it again.

DuckDB lets one process write a file or many processes read it, never both. The dashboard must
stay up while `evaluator score` writes, so it never opens the main DB: it reads
`<db dir>/snapshots/<db file name>` (the whole name, so `x.duckdb` and `x.db` in one folder never
share a snapshot), which a writer publishes after committing.

A snapshot is two parts, so that a run never copies the raw data again:

- the **data file** `snapshots/<db name>`, a DuckDB file with the raw tables (units, outcomes,
  survey answers, …, the `current_*` views), `load_batches` and `schema_version`, and one view
  per other table. It changes only when the batches do (an ingest): it is then rebuilt beside
  the old one — the previous file byte-copied and brought up to date with the new batches' rows
  and the `superseded_by` marks they set (raw tables are append-only by batch), or, when the
  previous one is missing, of another schema version or another history (a rebuilt database),
  a full copy made by DuckDB (`COPY FROM DATABASE`) — checkpointed, made read-only and moved
  over the old one with `os.replace`;
- the **parts** `snapshots/<db name>.parts/<generation>/`, Parquet files the views read: each
  run's rows in `runs/<table>/<run id>.parquet` (written once, when the run is first
  published: runs are immutable), the weight-independent indicator rows that runs share in
  `runs/run_indicator_base/<base id>.parquet` (written once per base, so a weights-only re-score
  adds only its small per-run parts; `run_indicator_scores` is a view joining them, copied with
  the data file's definitions) and every other table (runs, users, appeals, uncertainty
  results, …: small, mutable) in `tables/<table>.parquet`, rewritten each time. Each file is
  written under a temporary name and renamed into place; a run's files before the `runs` file
  that lists it, so a reader never sees a run without its rows.

So publishing after a run writes that run's rows once (what any snapshot must do) and the small
tables; the raw data are not touched. `snapshot_version` changes with every publish (the data
file's identity and the parts' `VERSION` file): readers key their caches on it. The views hold
absolute paths: a snapshot folder moved elsewhere is republished (`evaluator publish`) before
it is read there.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.store.current import KEYS, VIEWS
from evaluator.store.db import StoreError, check_db_path

SNAPSHOT_DIR = "snapshots"
PARTS = ".parts"
STATE = "snapshot_state"  # in the data file: the generation its views read, and its parts path


class SnapshotError(EvaluatorError):
    """The snapshot could not be published; the message says why and what to do."""


def snapshot_path(db_path: str | Path) -> Path:
    """Where the latest snapshot of `db_path` lives (it may not exist yet)."""
    db = Path(db_path)
    return db.parent / SNAPSHOT_DIR / db.name


def parts_path(snapshot: str | Path) -> Path:
    """The folder of the snapshot's Parquet parts."""
    snap = Path(snapshot)
    return snap.with_name(snap.name + PARTS)


def _q(name: str) -> str:
    """A catalog name as a SQL identifier (a database file called `my-db.duckdb` is `my-db`)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: run result tables: written once, with the run, and never changed (one file per run)
RUN_TABLES = ("run_scores", "run_indicator_weights", "run_indicator_parts",
              "run_dimension_scores", "run_reference_values", "run_survey_quality", "run_flags",
              "run_lint", "run_weights", "run_funnels", "run_warnings", "run_value_added")
#: written once per indicator-level base (`store/indicators.py`), which many runs may share:
#: table → (its key column, the query listing the keys the runs use)
SHARED_TABLES = {"run_indicator_base": (
    "base_id", "SELECT DISTINCT base_id FROM {}.run_indicator_weights")}
PER_KEY_TABLES = (*RUN_TABLES, *SHARED_TABLES)
#: kept as tables in the data file: the raw data and what says which batches they hold
DATA_TABLES = (*VIEWS, "load_batches", "schema_version")


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM "
        "information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' AND "
        "table_name IN (SELECT table_name FROM information_schema.tables WHERE table_catalog = ? "
        "AND table_schema = 'main' AND table_type = 'BASE TABLE') GROUP BY table_name",
        [catalog, catalog]).fetchall()
    return {str(name): list(cols) for name, cols in rows}


def _one(con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
         ) -> object:
    return con.execute(query, params or []).fetchall()[0][0]


BATCHES = "SELECT batch_id, checksum, status, loaded_at FROM {}.load_batches"  # quoted


def _same_batches(con: duckdb.DuckDBPyConnection, src: str, snap: str, upto: int | None) -> bool:
    where = "" if upto is None else f" WHERE batch_id <= {int(upto)}"
    a, b = BATCHES.format(_q(src)) + where, BATCHES.format(_q(snap)) + where
    return not _one(con, f"SELECT count(*) FROM (({a} EXCEPT ALL {b}) UNION ALL "
                         f"({b} EXCEPT ALL {a}))")


def _schema(con: duckdb.DuckDBPyConnection, catalog: str) -> object:
    return _one(con, f"SELECT max(version) FROM {_q(catalog)}.schema_version")


def _data_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    return {t: c for t, c in _tables(con, catalog).items() if t in DATA_TABLES}


def _state(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[str, str] | None:
    """(generation, parts folder) the data file's views were made for; None: not ours."""
    found = _one(con, "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? "
                      "AND table_name = ?", [catalog, STATE])
    if not found:
        return None
    rows = con.execute(f"SELECT generation, parts FROM {_q(catalog)}.{STATE}").fetchall()
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def _update_in_place(con: duckdb.DuckDBPyConnection, src: str, snap: str) -> bool:
    """Bring the attached copy `snap` of the previous data file up to `src` (new batches' rows
    and the marks they set); False (nothing trusted) when its schema or history differ."""
    tables = _data_tables(con, src)
    if tables != _data_tables(con, snap) or "load_batches" not in tables:
        return False
    if _schema(con, src) != _schema(con, snap):
        return False
    last = int(str(_one(con, f"SELECT coalesce(max(batch_id), 0) FROM {_q(snap)}.load_batches")))
    if not _same_batches(con, src, snap, last):
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        for table in tables:
            if table in VIEWS:  # raw data: new batches, and the marks they set on older rows
                con.execute(f"INSERT INTO {_q(snap)}.{table} SELECT * FROM {_q(src)}.{table} "
                            f"WHERE batch_id > ?", [last])
                if table in KEYS:
                    keys = ("batch_id", *KEYS[table])
                    match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
                    con.execute(
                        f"UPDATE {_q(snap)}.{table} AS t SET superseded_by = s.superseded_by FROM "
                        f"(SELECT {', '.join(keys)}, superseded_by FROM {_q(src)}.{table} "
                        f"WHERE batch_id <= ? AND superseded_by > ?) AS s WHERE {match}",
                        [last, last])
            else:  # load_batches, schema_version: small, replaced
                con.execute(f"DELETE FROM {_q(snap)}.{table}")
                con.execute(f"INSERT INTO {_q(snap)}.{table} SELECT * FROM {_q(src)}.{table}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


def _copy_into(con: duckdb.DuckDBPyConnection, source_alias: str, target: Path) -> None:
    """A full data file: every object's definition, then the data tables' rows."""
    alias = f"snap_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {_sql_str(str(target))} AS {alias}")
    try:
        con.execute(f'COPY FROM DATABASE {_q(source_alias)} TO {_q(alias)} (SCHEMA)')
        for table in _data_tables(con, source_alias):
            con.execute(f"INSERT INTO {_q(alias)}.{table} SELECT * FROM {_q(source_alias)}.{table}")
        con.execute(f"CHECKPOINT {alias}")
    finally:
        con.execute(f"DETACH {alias}")


def _make_views(con: duckdb.DuckDBPyConnection, src: str, snap: str, gen: Path) -> None:
    """In the data file `snap`: every table but the data tables a view over its parts (and no
    copy of the score cache, which the read side never needs)."""
    for schema in [r[0] for r in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ? "
            "AND schema_name NOT IN ('main', 'information_schema', 'pg_catalog')",
            [snap]).fetchall()]:
        con.execute(f'DROP SCHEMA {_q(snap)}."{schema}" CASCADE')
    con.execute(f"DROP TABLE IF EXISTS {_q(snap)}.{STATE}")
    existing = set(_tables(con, snap))
    for table in _tables(con, src):
        if table in DATA_TABLES:
            continue
        if table in existing:
            con.execute(f"DROP TABLE {_q(snap)}.{table}")
        files = gen / ("runs" if table in PER_KEY_TABLES else "tables") / (
            f"{table}/*.parquet" if table in PER_KEY_TABLES else f"{table}.parquet")
        con.execute(f"CREATE OR REPLACE VIEW {_q(snap)}.{table} AS SELECT * FROM "
                    f"read_parquet({_sql_str(str(files))})")
    con.execute(f"CREATE TABLE {_q(snap)}.{STATE} AS SELECT CAST(? AS VARCHAR) AS generation, "
                f"CAST(? AS VARCHAR) AS parts", [gen.name, str(gen.parent)])


def _write_parquet(con: duckdb.DuckDBPyConnection, query: str, params: list[object],
                   target: Path) -> None:
    """`query`'s rows as `target`, renamed into place (a reader never sees half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        con.execute(f"COPY ({query}) TO {_sql_str(str(tmp))} (FORMAT parquet)", params)
        tmp.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _write_parts(con: duckdb.DuckDBPyConnection, src: str, gen: Path) -> None:
    """The new runs' files (each run table, each run once), then every other table."""
    tables = [t for t in _tables(con, src) if t not in DATA_TABLES]
    # a database that is not ours (no runs table) is still published, so the dashboard can say so
    run_ids = ([str(r[0]) for r in con.execute(f"SELECT run_id FROM {_q(src)}.runs").fetchall()]
               if "runs" in tables else [])
    for table in tables:
        if table not in PER_KEY_TABLES:
            continue
        column, listing = SHARED_TABLES.get(table, ("run_id", ""))
        keys = ([str(r[0]) for r in con.execute(listing.format(_q(src))).fetchall()]
                if listing else run_ids)
        folder = gen / "runs" / table
        empty = folder / "_empty.parquet"  # the view's glob must match a file, with the columns
        if not empty.exists():
            _write_parquet(con, f"SELECT * FROM {_q(src)}.{table} LIMIT 0", [], empty)
        have = {p.stem for p in folder.glob("*.parquet")} - {"_empty"}
        for key in sorted(set(keys) - have):  # a base shared by a re-score is written once
            _write_parquet(con, f"SELECT * FROM {_q(src)}.{table} WHERE {column} = ?", [key],
                           folder / f"{key}.parquet")
        for gone in have - set(keys):  # a rebuilt database: runs that are no more
            (folder / f"{gone}.parquet").unlink(missing_ok=True)
    for table in sorted(tables, key=lambda t: t == "runs"):  # `runs` last: it lists the runs
        if table not in PER_KEY_TABLES:
            _write_parquet(con, f"SELECT * FROM {_q(src)}.{table}", [],
                           gen / "tables" / f"{table}.parquet")


def _data_file_current(con: duckdb.DuckDBPyConnection, src: str, final: Path) -> str | None:
    """The generation of the published data file when it already holds the source's data (same
    schema, same batches, views made for this folder); None when it must be rebuilt."""
    with _attached(con, final) as alias:
        if alias is None:
            return None
        state = _state(con, alias)
        if (state is None or Path(state[1]) != parts_path(final)
                or not (parts_path(final) / state[0]).is_dir()
                or _data_tables(con, src) != _data_tables(con, alias)
                or _schema(con, src) != _schema(con, alias)
                or not _same_batches(con, src, alias, None)):
            return None
        if set(_tables(con, src)) - set(DATA_TABLES) != _view_names(con, alias):
            return None  # a table added or dropped: the views must follow
        return state[0]


@contextlib.contextmanager
def _attached(con: duckdb.DuckDBPyConnection, final: Path) -> Iterator[str | None]:
    """The published snapshot `final` attached read-only under a fresh alias, detached after;
    None when there is none or it cannot be opened (then it is rebuilt)."""
    if not final.exists():
        yield None
        return
    alias = f"prev_{uuid.uuid4().hex[:8]}"
    try:
        con.execute(f"ATTACH {_sql_str(str(final))} AS {alias} (READ_ONLY)")
    except duckdb.Error:
        yield None
        return
    try:
        yield alias
    finally:
        con.execute(f"DETACH {alias}")


def _view_names(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    """The views over parts in a data file."""
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = ? AND "
                       "NOT internal AND sql LIKE '%read_parquet(%'", [catalog]).fetchall()
    return {str(r[0]) for r in rows}


def _clean_stale_parts(parts: Path) -> None:
    """Delete part files a killed publisher left half-written (`.<name>.<pid>.<random>.tmp`)."""
    now = time.time()
    for tmp in parts.rglob(".*.tmp"):
        bits = tmp.name.rsplit(".", 3)
        try:
            age = now - tmp.stat().st_mtime
        except FileNotFoundError:
            continue
        if len(bits) == 4 and bits[1].isdigit() and (not _alive(int(bits[1]))
                                                     or age > STALE_AFTER_S):
            tmp.unlink(missing_ok=True)


def _publish(con: duckdb.DuckDBPyConnection, source_alias: str, final: Path) -> Path:
    """Publish `source_alias` as the snapshot `final`; returns it."""
    parts = parts_path(final)
    if parts.is_dir():
        _clean_stale_parts(parts)
    gen_name = _data_file_current(con, source_alias, final)
    if gen_name is not None:  # the raw data are as published: only the parts change
        _write_parts(con, source_alias, parts / gen_name)
        _bump(parts)
        return final
    tmp = _temp_beside(final)
    try:
        previous = _previous_generation(con, final)  # None: none, or of an older layout
        trusted = _copy_or_update(con, source_alias, final if previous else None, tmp)
        # the same history: the runs already written stay; else every run is written again
        gen = parts / (previous if trusted and previous else f"g{time.time_ns():x}")
        _write_parts(con, source_alias, gen)
        alias = f"snap_{uuid.uuid4().hex[:8]}"
        con.execute(f"ATTACH {_sql_str(str(tmp))} AS {alias}")
        try:
            _make_views(con, source_alias, alias, gen)
            con.execute(f"CHECKPOINT {alias}")
        finally:
            con.execute(f"DETACH {alias}")
    except BaseException:
        _discard(tmp)
        raise
    _swap_in(tmp, final)
    _bump(parts)
    for old in parts.glob("g*"):  # generations no published file reads any more
        if old.is_dir() and old != gen:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _previous_generation(con: duckdb.DuckDBPyConnection, final: Path) -> str | None:
    with _attached(con, final) as alias:
        state = None if alias is None else _state(con, alias)
    if state is None or Path(state[1]) != parts_path(final):
        return None
    return state[0]


def _bump(parts: Path) -> None:
    """A new `VERSION` file: the snapshot changed (readers' caches key on it)."""
    parts.mkdir(parents=True, exist_ok=True)
    tmp = parts / f".VERSION.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
    os.replace(tmp, parts / "VERSION")


def _copy_or_update(con: duckdb.DuckDBPyConnection, source_alias: str, previous: Path | None,
                    target: Path) -> bool:
    """`target` := the source's data: the previous data file brought up to date when it can be
    trusted (True), else a full copy (False)."""
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
            return True
        _discard(target)
    _copy_into(con, source_alias, target)
    return False


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
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
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
        _publish(con, "src", final)
        con.execute("DETACH src")
    except SnapshotError:
        raise
    except (duckdb.Error, OSError) as exc:
        raise SnapshotError(f"{db}: publishing the snapshot failed: {exc}") from None
    finally:
        con.close()
    return final


def publish_from_connection(con: duckdb.DuckDBPyConnection, db_path: str | Path) -> Path:
    """Publish a snapshot through a connection that already has `db_path` open (e.g. for writing).

    Call it after the transaction that wrote the run has committed.
    """
    final = snapshot_path(db_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
    rows = con.execute("SELECT current_database()").fetchall()
    source = str(rows[0][0]) if rows else "main"
    try:
        return _publish(con, source, final)
    except (duckdb.Error, OSError) as exc:
        raise SnapshotError(f"{db_path}: publishing the snapshot failed: {exc}") from None


def latest_snapshot(db_path: str | Path) -> Path | None:
    """The snapshot the dashboard should read, or None when none was published yet."""
    path = snapshot_path(db_path)
    return path if path.exists() else None


def snapshot_version(path: str | Path) -> int:
    """Changes whenever a new snapshot is published (a new data file swapped in, or new parts):
    caches key on it together with the run id."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return 0
    try:
        parts = (parts_path(path) / "VERSION").stat()
        extra = parts.st_mtime_ns ^ (parts.st_ino << 1)
    except FileNotFoundError:
        extra = 0
    return st.st_mtime_ns ^ st.st_ino ^ extra
