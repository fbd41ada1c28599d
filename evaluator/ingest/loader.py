"""Load one file as one batch, all or nothing.

Order of work: checksum (already loaded? → done), open and decode, map the header, stage the
file's rows in a temporary DuckDB table (`evaluator.ingest.stage`: the polars readers, batch by
batch; each batch typed, its respondent ids hashed and every row check of
`evaluator.ingest.validate` run as SQL while it is at hand, into one problem flag per row);
count the flags and run the whole-file key checks (`evaluator.ingest.keys`), naming every
problem only when there is one; then, in one DuckDB transaction, `INSERT … SELECT` the typed
rows, mark the rows they supersede and record the batch as
accepted. A rejected file records its attempt in `load_batches` and writes the rejects file;
nothing reaches a data table. A process killed half-way leaves an uncommitted transaction,
which DuckDB discards on reopen. DuckDB's buffer pool is capped during the load
(`EVALUATOR_INGEST_MEMORY`, default 1GB), so memory does not grow with the file.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from evaluator.ingest.columns import ColumnPlan, plan_columns
from evaluator.ingest.errors import IngestError, IngestRejected, IngestResult, RowProblem
from evaluator.ingest.keys import PROBLEM_SCHEMA, file_key_problems, stored_key_problems
from evaluator.ingest.kinds import Kind, get_kind
from evaluator.ingest.readers import BLANK, ROW, BadRows, Source, _first_line, open_source
from evaluator.ingest.stage import BAD, ROWS, drop, stage
from evaluator.ingest.validate import RowChecks, literal, quote, value, year
from evaluator.ingest.wide import InputShape, reshape_source
from evaluator.pseudonym import Pseudonymiser, PseudonymKeyError
from evaluator.store.current import mark_superseded
from evaluator.store.db import is_storage_error, storage_hint, transaction

Progress = Callable[[int, int], None]  # (rows done, estimated total)
SHOW = 1000  # problems kept in memory for the exception; the rejects file has all
CHUNK_ENV = "EVALUATOR_INGEST_CHUNK_ROWS"
PAUSE_ENV = "EVALUATOR_INGEST_PAUSE"  # "MARKER_FILE:SECONDS" — crash-safety tests only
MEMORY_ENV = "EVALUATOR_INGEST_MEMORY"  # DuckDB memory_limit during a load


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind `con`, or None for an in-memory database."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    *,
    db_path: Path | None = None,
    force: bool = False,
    rejects: Path | None = None,
    column_map: dict[str, str] | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    protected: Sequence[Path] = (),
    shape: InputShape | None = None,
) -> IngestResult:
    """Load `path` as one `kind` batch. Raises IngestRejected (nothing stored) or IngestError.

    `encoding` (CSV only) skips the strict detection; `protected` are more paths the rejects
    file must not overwrite (the command's other inputs, e.g. a column-map file); `shape` says
    how the file is laid out (wide, missing-value markers: `evaluator.ingest.wide`)."""
    spec = get_kind(kind)
    path = Path(path)
    db_path = db_path or database_path(con)
    check_input(path, kind)
    if rejects is not None:
        check_rejects(Path(rejects), [path, *([db_path] if db_path else []), *protected])
    try:
        return _ingest(con, spec, path, db_path=db_path, force=force, rejects=rejects,
                       column_map=column_map, progress=progress, encoding=encoding, shape=shape)
    except (duckdb.Error, OSError) as exc:
        if not is_storage_error(exc):
            raise  # a bug: the CLI reports it as one
        # the disk, a quota, permissions: not the file
        raise IngestError(f"{path}: the load stopped: {_first_line(exc)}; {storage_hint(exc)}"
                          ) from None


SYSTEM_DIRS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_input(path: Path, kind: str) -> None:
    """The input must be a regular data file (a symlink to one is fine), not a folder, a device,
    a pipe or a file of the operating system such as /proc/self/environ."""
    if path.is_dir():
        raise IngestError(f"{path}: is a directory: give a file path, e.g. {path / (kind + '.csv')} "
                          "/ 这是一个文件夹，请给出文件路径")
    if not path.exists():
        raise IngestError(f"{path}: no such file / 文件不存在")
    real = path.resolve()
    if any(real.is_relative_to(d) for d in SYSTEM_DIRS) or not stat.S_ISREG(real.stat().st_mode):
        raise IngestError(f"{path}: is not a regular data file (it is {real}, a device, pipe or "
                          "system file); give a CSV, Parquet or XLSX file / 不是普通数据文件")
    if not os.access(real, os.R_OK):
        raise IngestError(f"{path}: cannot be read (permission denied) / 无权读取该文件")


def check_rejects(rejects: Path, inputs: list[Path]) -> None:
    """`--rejects` is a .csv file or a folder, and never one of the command's inputs (an input
    overwritten with its own rejects is lost)."""
    target = rejects.resolve()
    for given in inputs:
        if target == Path(given).resolve():
            raise IngestError(f"--rejects {rejects}: is an input of this command ({given}); it "
                              "would be overwritten: give another .csv file or a folder "
                              "/ 拒绝清单路径不能与输入文件相同")
    if rejects.exists() and not rejects.is_dir() and rejects.suffix.lower() != ".csv":
        raise IngestError(f"--rejects {rejects}: is an existing file that is not a .csv: give a "
                          ".csv file (it is overwritten) or a folder / 拒绝清单须为 .csv 文件或文件夹")


def _ingest(con: duckdb.DuckDBPyConnection, spec: Kind, path: Path, *, db_path: Path | None,
            force: bool, rejects: Path | None, column_map: dict[str, str] | None,
            progress: Progress | None, encoding: str | None,
            shape: InputShape | None = None) -> IngestResult:
    checksum = file_checksum(path)
    if not force:
        found = con.execute(
            "SELECT batch_id, row_count FROM load_batches WHERE kind = ? AND checksum = ? "
            "AND status = 'accepted' ORDER BY batch_id DESC LIMIT 1",
            [spec.name, checksum],
        ).fetchall()
        if found:
            done = found[0]
            return IngestResult(
                int(done[0]), int(done[1] or 0), "already_loaded",
                f"{path.name}: already loaded as batch {done[0]}, nothing done (use --force to "
                f"load it again) / 该文件已作为批次 {done[0]} 导入，未重复导入",
            )
    attempt = _Attempt(con, spec, path, checksum, force, db_path, rejects)
    with tempfile.TemporaryDirectory(prefix="evaluator-ingest-") as tmp:
        try:
            source = reshape_source(open_source(path, Path(tmp), encoding, spec.sheet), spec,
                                    column_map, shape)
        except IngestRejected as exc:
            attempt.reject(exc.reasons, encoding=None)
        except IngestError as exc:
            attempt.record("rejected", 0, str(exc))
            raise
        plan = plan_columns(source.headers, spec, column_map)
        if plan.problems:
            attempt.reject(plan.problems, encoding=source.encoding, plan=plan)
        if spec.needs_units and not _count(con, "current_units"):
            attempt.reject([RowProblem(
                2, "unit_id", "no units are loaded yet, so no unit id of this file can be "
                "checked: load the units first (evaluator ingest --kind units FILE), then this "
                "file / 尚未导入单位表，请先用 --kind units 导入单位")],
                encoding=source.encoding, plan=plan)
        return attempt.load(source, plan, progress)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


class _Rollback(Exception):
    """Raised inside the transaction so that it rolls back; carries nothing."""


class _Attempt:
    """One load attempt: its batch id, audit row and rejects file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: Kind, path: Path, checksum: str,
                 force: bool, db_path: Path | None, rejects: Path | None):
        self.con, self.spec, self.path, self.checksum, self.force = con, spec, path, checksum, force
        self.db_path, self.rejects = db_path, rejects
        self.batch_id = int(con.execute("SELECT nextval('batch_seq')").fetchall()[0][0])

    # ------------------------------------------------------------------ audit

    def record(self, status: str, rows: int, reason: str | None, *, encoding: str | None = None,
               plan: ColumnPlan | None = None, rejects_path: Path | None = None) -> None:
        self.con.execute(
            "INSERT INTO load_batches (batch_id, kind, file_name, file_path, checksum, row_count, "
            "status, reason, rejects_path, loaded_by, loaded_at, forced, encoding, column_map, "
            "ignored_columns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self.batch_id, self.spec.name, self.path.name, str(self.path.resolve()),
                self.checksum, rows, status, reason,
                str(rejects_path) if rejects_path else None, _user(),
                datetime.now(UTC).replace(tzinfo=None), self.force, encoding,
                json.dumps(plan.rename, ensure_ascii=False) if plan else None,
                plan.ignored if plan else None,
            ],
        )

    def rejects_file(self) -> Path:
        if self.rejects is not None and self.rejects.suffix.lower() == ".csv":
            return self.rejects
        folder = self.rejects or ((self.db_path.parent if self.db_path else Path.cwd()) / "rejects")
        return folder / f"{self.path.stem}.batch{self.batch_id}.rejects.csv"

    def reject(self, problems: list[RowProblem] | pl.DataFrame, *, encoding: str | None,
               plan: ColumnPlan | None = None, rows: int = 0):  # -> NoReturn
        frame = problems if isinstance(problems, pl.DataFrame) else pl.DataFrame(
            [{"row": p.row, "column": p.column, "value": p.value, "reason": p.reason}
             for p in problems], schema=PROBLEM_SCHEMA)
        out = self.rejects_file()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.sort("row", "column", maintain_order=True).write_csv(out)
        except OSError as exc:
            raise IngestError(
                f"{self.path}: rejected ({frame.height} problem(s), nothing loaded), but the "
                f"rejects file {out} cannot be written ({exc.strerror}); give --rejects a "
                f"writable .csv file or folder; first problem: {_first_problem(frame)} "
                "/ 已拒绝，但无法写入拒绝清单") from None
        head = [RowProblem(int(r["row"]), r["column"], r["reason"], r["value"])
                for r in frame.head(SHOW).iter_rows(named=True)]
        self.record("rejected", rows, f"{frame.height} problem(s); first: {head[0]}",
                    encoding=encoding, plan=plan, rejects_path=out)
        raise IngestRejected(self.path, head, total=frame.height, rejects_path=out,
                             batch_id=self.batch_id)

    # ------------------------------------------------------------------ the load

    def load(self, source: Source, plan: ColumnPlan, progress: Progress | None) -> IngestResult:
        # 400,000 rows a batch: the province survey file (9.9 M answers) stages in 25 s instead
        # of 33 s with 200,000 (fewer statements, each with its own joins), at 1.8 GB peak RSS
        # for the whole load (600,000: no faster, 1.9 GB)
        chunk_rows = int(os.environ.get(CHUNK_ENV, "400000"))
        found: list[pl.DataFrame] = []
        rows = blank = 0
        try:
            with _memory_bound(self.con):
                present = set(plan.rename.values())
                scales = self.spec.name == "surveys" and bool(_count(self.con,
                                                                     "current_questions"))
                rc = RowChecks.of(self.spec, present, ROWS, units=self.spec.needs_units,
                                  scales=scales)
                pseudonym = (Pseudonymiser.for_db(self.db_path).sql("respondent")
                             if "respondent" in present else None)
                stage(self.con, source, plan, self.spec, rc, pseudonym, chunk_rows,
                      progress)  # outside the transaction
                blank, rows, n_bad = (int(v) for v in self.con.execute(
                    f"SELECT count(*) FILTER (WHERE {BLANK}), count(*) FILTER (WHERE NOT "
                    f"{BLANK}), count(*) FILTER (WHERE {BAD}) FROM {ROWS}").fetchall()[0])
                if progress:
                    progress(rows + blank, rows + blank)
                if n_bad:
                    found.append(self.con.sql(rc.problems()).pl())
                keys = file_key_problems(self.con, self.spec, ROWS)
                if keys.height:
                    found.append(keys)
                if found or (rows == 0 and not self.spec.allow_empty):
                    raise _Rollback
                with transaction(self.con):
                    self.con.execute(*_insert_sql(self.spec, present, self.batch_id))
                    _maybe_pause()
                    mark_superseded(self.con, self.spec.table, self.batch_id)
                    stored = stored_key_problems(self.con, self.spec, self.batch_id)
                    if stored.height:
                        found.append(stored)
                        raise _Rollback
                    self.record("accepted", rows, _skipped(blank) or None,
                                encoding=source.encoding, plan=plan)
        except _Rollback:
            if not found:
                found = [pl.DataFrame([{"row": 2, "column": "(all)", "value": None,
                                        "reason": "the file has a header but no data rows"
                                                  + (f" ({_skipped(blank)})" if blank else "")
                                                  + "; add rows below the header "
                                                  "/ 文件只有表头，没有数据行"
                                                  + (f"（已跳过 {blank} 个空行）" if blank else "")}],
                                      schema=PROBLEM_SCHEMA)]
            self.reject(pl.concat([f.cast(PROBLEM_SCHEMA) for f in found]),  # type: ignore[arg-type]
                        encoding=source.encoding, plan=plan, rows=rows)
        except BadRows as bad:  # the reader could not split some rows
            self.reject(bad.problems.cast(PROBLEM_SCHEMA),  # type: ignore[arg-type]
                        encoding=source.encoding, plan=plan, rows=rows)
        except PseudonymKeyError as exc:
            raise IngestError(str(exc)) from None
        except duckdb.Error as exc:  # a check we lack let a bad row reach the database
            if is_storage_error(exc):
                raise  # the disk or a quota, not the file: explained by ingest_file
            raise IngestError(
                f"{self.path}: the database refused a row ({_first_line(exc)}); nothing was "
                "loaded. Please report this file: a check should have named the row "
                "/ 数据库拒绝写入，未导入任何数据") from None
        finally:
            drop(self.con)
        mapped = {h: t for h, t in plan.rename.items() if h != t}
        notes = []
        if mapped:
            notes.append("columns mapped: " + ", ".join(f"{h}→{t}" for h, t in mapped.items()))
        if plan.ignored:
            more = f" … and {len(plan.ignored) - 12} more" if len(plan.ignored) > 12 else ""
            notes.append("ignored columns: " + ", ".join(plan.ignored[:12]) + more)
        notes += source.notes
        if blank:
            notes.append(_skipped(blank))
        extra = f" ({'; '.join(notes)})" if notes else ""
        return IngestResult(
            self.batch_id, rows, "loaded",
            f"{self.path.name}: loaded {rows} {self.spec.name} rows as batch "
            f"{self.batch_id}{extra} "
            f"/ 已导入 {rows} 行，批次 {self.batch_id}"
            + (f"，已跳过 {blank} 个空行" if blank else ""),
            ignored_columns=plan.ignored,
        )


def _first_problem(frame: pl.DataFrame) -> str:
    r = frame.row(0, named=True)
    return str(RowProblem(int(r["row"]), r["column"], r["reason"], r["value"]))


def _skipped(blank: int) -> str:
    return f"skipped {blank} blank row{'s' if blank != 1 else ''}" if blank else ""


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def _maybe_pause() -> None:
    """Crash-safety test hook: after the first batch is written, touch a marker and sleep."""
    hook = os.environ.get(PAUSE_ENV)
    if hook:
        marker, _, seconds = hook.rpartition(":")
        if not Path(marker).exists():
            Path(marker).touch()
            time.sleep(float(seconds or 30))


@contextlib.contextmanager
def _memory_bound(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's buffer pool capped for the load (`EVALUATOR_INGEST_MEMORY`, default 1GB), so a
    10-million-row file spills its staging table to DuckDB's temporary directory instead of
    growing the process; the connection's own limit is put back afterwards."""
    limit = os.environ.get(MEMORY_ENV, "1GB")
    setting = "SELECT current_setting('memory_limit')"
    before = con.execute(setting).fetchall()[0][0]
    con.execute(f"SET memory_limit = {literal(limit)}")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET memory_limit")  # DuckDB's default (evaluator never sets one)
            if con.execute(setting).fetchall()[0][0] != before:  # as shown: '2.0 GiB'
                con.execute(f"SET memory_limit = {literal(before)}")


def _insert_sql(spec: Kind, present: set[str], batch_id: int) -> tuple[str, list[object]]:
    """INSERT … SELECT of the staged rows, typed and respondent ids hashed as staged."""
    targets, selects = ["batch_id"], ["?"]
    for col in spec.columns:
        if col.name == "respondent":
            targets.append("respondent_hash")
            selects.append("s.respondent_hash" if col.name in present else "NULL")
            continue
        targets.append(quote(col.name))
        selects.append(value(col) if col.name in present else "NULL")
    if spec.has_period:
        targets.append("year")
        selects.append(year("s.period"))
    targets.append("source_row")
    selects.append(f"s.{ROW}")
    return (f"INSERT INTO {spec.table} ({', '.join(targets)}) "
            f"SELECT {', '.join(selects)} FROM {ROWS} AS s WHERE NOT s.{BLANK}", [batch_id])
