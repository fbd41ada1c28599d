"""Rebuild a stored run exactly: its own scheme text, on the data batches it saw.

A run records its scheme YAML and the accepted batch ids it read. Because supersession is
kept as data (`evaluator.store.current`), "the data as of the run's last batch" is a range
filter, so a later correction batch does not change what a rerun reads. A run scored from
files outside the database (Spark `--inputs`) records their checksums instead; it can only be
rebuilt when the very same files are at hand. The rerun is stored as a new run (runs are
immutable) with `rerun_of` in its parameters, then compared table by table with the original:
every number must be identical, to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from evaluator.ingest.loader import file_checksum
from evaluator.runs import read_run, stored_scheme
from evaluator.scheme.loader import LoadedScheme
from evaluator.scoring.errors import ScoringError
from evaluator.store.current import as_of

#: run tables compared between a run and its rerun (every column but run_id)
COMPARED = ("run_scores", "run_indicator_scores", "run_dimension_scores", "run_weights",
            "run_reference_values", "run_survey_quality", "run_flags")
#: parameters score_run sets itself (the rest are the caller's, carried over)
OWN_PARAMETERS = ("engine", "uncertainty", "period", "run_files", "rerun_of")


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun needs: the run's scheme, period, batches and parameters."""

    run_id: str
    loaded: LoadedScheme
    period: str
    batch_ids: list[int]
    parameters: dict[str, Any]

    @property
    def engine(self) -> str:
        return str(self.parameters.get("engine", "duckdb"))

    @property
    def uncertainty(self) -> bool:
        return bool(self.parameters.get("uncertainty", False))

    def carried(self) -> dict[str, Any]:
        """The caller's parameters of the original run, plus `rerun_of`."""
        kept = {k: v for k, v in self.parameters.items() if k not in OWN_PARAMETERS}
        return {**kept, "rerun_of": self.run_id}


def input_checksums(folder: Path, kinds: list[str]) -> dict[str, str]:
    """Checksums of the `--inputs` files a run read (`<kind>.parquet` or `<kind>/` parts),
    by path relative to `folder`."""
    sums = {}
    for kind in kinds:
        file, parts = folder / f"{kind}.parquet", folder / kind
        found = [file] if file.is_file() else sorted(
            q for q in parts.rglob("*") if q.is_file()) if parts.is_dir() else []
        sums.update({q.relative_to(folder).as_posix(): file_checksum(q) for q in found})
    return sums


def plan(con: duckdb.DuckDBPyConnection, run_id: str) -> RerunPlan:
    """Read what the run needs to be rebuilt; ScoringError (explained) when it cannot be."""
    info = read_run(con, run_id)
    if info is None:
        raise ScoringError(f"no run '{run_id}' in the database: `evaluator runs` lists them")
    loaded = stored_scheme(info.scheme_yaml, run_id)
    if loaded is None:
        raise ScoringError(
            f"run {run_id}: this version of the evaluator can no longer read the run's own "
            "scheme text, so the run cannot be rebuilt / 本版本无法读取该次计分所用方案，无法重算")
    return RerunPlan(run_id, loaded, info.period, [int(b) for b in info.batch_ids],
                     dict(info.parameters))


def check_inputs(p: RerunPlan) -> Path:
    """A run scored from outside files: the same files must be at hand (by checksum)."""
    folder = Path(str(p.parameters["inputs"]))
    recorded: dict[str, str] = p.parameters.get("input_checksums") or {}
    if not recorded:
        raise ScoringError(
            f"run {p.run_id} was scored from the files in {folder} (--inputs) and recorded no "
            "checksums of them, so nothing proves the files are the same: it cannot be rebuilt "
            "/ 该次计分读取外部文件且未记录校验和，无法重算")
    if not folder.is_dir():
        raise ScoringError(
            f"run {p.run_id} was scored from the files in {folder} (--inputs), which are not at "
            "hand: put the same files back in that folder to rebuild it "
            "/ 该次计分所用的外部输入文件不在原处，无法重算")
    kinds = list(p.parameters.get("input_kinds") or sorted(
        {k.split("/", 1)[0].removesuffix(".parquet") for k in recorded}))
    now = input_checksums(folder, kinds)
    changed = sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))
    if changed:
        shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
        raise ScoringError(
            f"run {p.run_id} was scored from the files in {folder} (--inputs), but these are "
            f"missing, new or changed since: {shown}. Restore the files the run read to "
            "rebuild it / 外部输入文件已变化，无法重算")
    return folder


def as_of_batch(con: duckdb.DuckDBPyConnection, p: RerunPlan) -> int:
    """The last batch the run saw; refuses when the store's batches up to it differ."""
    last = max(p.batch_ids, default=0)
    rows = con.execute("SELECT batch_id FROM load_batches WHERE status = 'accepted' "
                       "AND batch_id <= ? ORDER BY batch_id", [last]).fetchall()
    have = [int(r[0]) for r in rows]
    if have != sorted(p.batch_ids):
        missing = sorted(set(p.batch_ids) - set(have))
        extra = sorted(set(have) - set(p.batch_ids))
        raise ScoringError(
            f"run {p.run_id} read batches the store no longer holds as they were (missing "
            f"{missing or 'none'}, unexpected {extra or 'none'}): it cannot be rebuilt "
            "/ 该次计分读取的数据批次已不完整，无法重算")
    return last


def rerun(con: duckdb.DuckDBPyConnection, p: RerunPlan,
          score: Callable[[RerunPlan], str]) -> str:
    """Score `p` with the store's `current_*` views read as of the run's last batch; `score`
    does the scoring (DuckDB or Spark, as the run was) and returns the new run id."""
    if p.parameters.get("inputs"):
        check_inputs(p)
        return score(p)
    with as_of(con, as_of_batch(con, p)):
        return score(p)


def differences(con: duckdb.DuckDBPyConnection, run_a: str, run_b: str) -> dict[str, int]:
    """Rows that differ between two runs, per run table (0 everywhere: identical)."""
    out = {}
    for table in COMPARED:
        rows = con.execute(
            f"""SELECT count(*) FROM (
                (SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = $a
                 EXCEPT ALL SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = $b)
                UNION ALL
                (SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = $b
                 EXCEPT ALL SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = $a))""",
            {"a": run_a, "b": run_b}).fetchall()
        out[table] = int(rows[0][0])
    return out


def largest_change(con: duckdb.DuckDBPyConnection, run_a: str, run_b: str) -> tuple[float, int]:
    """(largest |base score difference|, units whose rank differs) between two runs."""
    row = con.execute(
        "SELECT COALESCE(MAX(ABS(a.base_score - b.base_score)), 0), "
        "COUNT(*) FILTER (WHERE a.rank IS DISTINCT FROM b.rank) "
        "FROM run_scores a JOIN run_scores b USING (unit_id) "
        "WHERE a.run_id = ? AND b.run_id = ?", [run_a, run_b]).fetchall()[0]
    return float(row[0]), int(row[1])
