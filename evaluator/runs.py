"""Stored runs: list them, read one as the CONTRACT CSVs, compare two.

Runs are immutable (`evaluator.scoring` writes them once); everything here only reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from evaluator.errors import EvaluatorError
from evaluator.scheme.loader import LoadedScheme, SchemeInvalid, load_scheme_text

SCORES_COLUMNS = [
    "unit_id", "score", "rank", "grade", "unit_name", "peer_group", "peer_rank", "base_score",
    "bonus", "deduction", "veto", "score_declared", "rank_declared",
]  # fmt: skip
UNCERTAINTY_COLUMNS = ["score_low", "score_high", "rank_low", "rank_high"]
INDICATOR_COLUMNS = [
    "unit_id", "indicator_id", "raw_value", "score", "weight", "contribution",
    "transformed_value", "rule", "declared_weight", "dimension_id", "imputed",
]  # fmt: skip
DIMENSION_COLUMNS = [
    "unit_id", "dimension_id", "score", "parent_id", "depth", "score_100", "weight",
    "contribution",
]  # fmt: skip


class RunNotFound(EvaluatorError):
    """No stored run matches; the message lists what to do."""


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
           ) -> pl.DataFrame:
    return con.sql(query, params=params or []).pl()


def list_runs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every run, newest first, with its unit count and lint error count."""
    return _frame(con, """
        SELECT r.run_id, r.created_at, r.period, r.scheme_id, r.scheme_version,
               COUNT(s.unit_id) AS units, r.lint_errors, r.published, r.note
        FROM runs r LEFT JOIN run_scores s ON s.run_id = r.run_id
        GROUP BY ALL ORDER BY r.created_at DESC, r.run_id DESC""")


def resolve_run(con: duckdb.DuckDBPyConnection, run: str | None) -> str:
    """A full run id from an id, a unique prefix, or None (the latest run)."""
    if run is None:
        rows = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 1"
                           ).fetchall()
        if not rows:
            raise RunNotFound("the database has no runs yet: run `evaluator score` first")
        return str(rows[0][0])
    rows = con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id",
                       [run]).fetchall()
    if len(rows) == 1:
        return str(rows[0][0])
    if not rows:
        raise RunNotFound(f"no run '{run}' in the database: `evaluator runs` lists the runs")
    raise RunNotFound(f"'{run}' matches {len(rows)} runs: give more of the run id")


@dataclass(frozen=True)
class RunInfo:
    """A stored run's `runs` row, plus its unit count and lint error messages."""

    run_id: str
    created_at: datetime
    period: str
    scheme_id: str
    scheme_version: str | None
    scheme_name_zh: str | None
    scheme_name_en: str | None
    scheme_hash: str
    scheme_yaml: str
    batch_ids: list[int]
    parameters: dict[str, Any]
    code_version: str | None
    lint_errors: int
    published: bool
    note: str | None
    units: int = 0
    lint_messages: list[str] = field(default_factory=list)

    def scheme_name(self, lang: str) -> str:
        name = self.scheme_name_zh if lang == "zh" else self.scheme_name_en
        return name or self.scheme_id


def read_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunInfo | None:
    """The run's metadata, or None when no run has this exact id."""
    found = con.execute(
        """
        SELECT run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh,
               scheme_name_en, scheme_hash, scheme_yaml, batch_ids, CAST(parameters AS VARCHAR),
               code_version, coalesce(lint_errors, 0), coalesce(published, false), note,
               (SELECT count(*) FROM run_scores s WHERE s.run_id = r.run_id)
        FROM runs r WHERE run_id = ?""",
        [run_id],
    ).fetchall()
    if not found:
        return None
    row = found[0]
    try:
        params = json.loads(row[10]) if row[10] else {}
    except ValueError:
        params = {"raw": row[10]}
    lint = [
        f"{rule} ({indicator or 'scheme'}): {message}"
        for rule, indicator, message in con.execute(
            "SELECT rule, indicator, message FROM run_lint WHERE run_id = ? AND severity = 'error' "
            "ORDER BY rule, indicator",
            [run_id],
        ).fetchall()
    ]
    return RunInfo(
        run_id=row[0], created_at=row[1], period=row[2], scheme_id=row[3], scheme_version=row[4],
        scheme_name_zh=row[5], scheme_name_en=row[6], scheme_hash=row[7], scheme_yaml=row[8],
        batch_ids=list(row[9] or []), parameters=params if isinstance(params, dict) else {},
        code_version=row[11], lint_errors=max(int(row[12]), len(lint)), published=bool(row[13]),
        note=row[14], units=int(row[15]), lint_messages=lint,
    )


def stored_scheme(scheme_yaml: str, run_id: str) -> LoadedScheme | None:
    """The scheme a run was scored under, re-read from the run's own text (never the file on
    disk, which may have changed); None if this version can no longer read it."""
    try:
        return load_scheme_text(scheme_yaml, f"run {run_id}")
    except SchemeInvalid:
        return None


def read_scores(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """scores.csv of a run: CONTRACT columns first, interval columns when computed (the
    bootstrap's once `evaluator uncertainty` ran, see the `run_intervals` view), `tier` when
    tiers were computed, `tier_grade` when the scheme grades by tier too."""
    frame = _frame(con, "SELECT s.* EXCLUDE (score_low, score_high, rank_low, rank_high), "
                        "i.* EXCLUDE (run_id, unit_id) FROM run_scores s JOIN run_intervals i "
                        "USING (run_id, unit_id) WHERE s.run_id = ? "
                        "ORDER BY s.rank NULLS LAST, s.unit_id", [run_id])
    cols = list(SCORES_COLUMNS)
    if frame["score_low"].is_not_null().any():
        cols += UNCERTAINTY_COLUMNS
    if frame["tier"].is_not_null().any():
        cols.append("tier")
    if "tier_grade" in frame.columns and frame["tier_grade"].is_not_null().any():
        cols.append("tier_grade")
    return frame.select(cols)


def read_indicator_scores(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """indicator_scores.csv: one row per unit × indicator, scheme order within a unit."""
    return _frame(con, """
        SELECT i.* FROM run_indicator_scores i
        LEFT JOIN run_scores s ON s.run_id = i.run_id AND s.unit_id = i.unit_id
        LEFT JOIN (SELECT node_id, row_number() OVER () AS ord FROM run_weights
                   WHERE run_id = ? AND node_kind = 'indicator') w ON w.node_id = i.indicator_id
        WHERE i.run_id = ? ORDER BY s.rank NULLS LAST, i.unit_id, w.ord""",
                  [run_id, run_id]).select(INDICATOR_COLUMNS)


def read_dimension_scores(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """dimension_scores.csv: every node of the tree but the root (that is scores.csv), per unit.

    `score` is on the scheme's scale, like scores.csv's `base_score` (the HDI's dimension
    indices read 0–1), `score_100` is the node's 0–100 score that exports and the dashboard
    show; units by rank, nodes in scheme order."""
    scale = con.execute("SELECT scheme_yaml FROM runs WHERE run_id = ?", [run_id]).fetchall()
    loaded = stored_scheme(scale[0][0], run_id) if scale else None
    lo, hi = (loaded.scheme.scale.min, loaded.scheme.scale.max) if loaded else (0.0, 100.0)
    return _frame(con, """
        SELECT d.unit_id, d.dimension_id, ? + (? - ?) * d.score / 100.0 AS score, d.parent_id,
               d.depth, d.score AS score_100, d.weight, d.contribution
        FROM run_dimension_scores d
        LEFT JOIN run_scores s ON s.run_id = d.run_id AND s.unit_id = d.unit_id
        LEFT JOIN (SELECT node_id, row_number() OVER () AS ord FROM run_weights
                   WHERE run_id = ? AND node_kind = 'dimension') w ON w.node_id = d.dimension_id
        WHERE d.run_id = ? ORDER BY s.rank NULLS LAST, d.unit_id, w.ord""",
                  [lo, hi, lo, run_id, run_id]).select(DIMENSION_COLUMNS)


def flag_evidence_sql(con: duckdb.DuckDBPyConnection, lang: str, alias: str = "") -> str:
    """SQL for a run_flags row's evidence text in `lang` (English `evidence`, Chinese
    `evidence_zh`, English where a row has no Chinese).

    A database opened read-only is never migrated: one made before migration 2 still holds
    "中文 | English" in `evidence`, and is read by splitting that text here, the only place."""
    p = f"{alias}." if alias else ""
    split = con.execute(
        "SELECT count(*) = 0 FROM information_schema.columns "
        "WHERE table_name = 'run_flags' AND column_name = 'evidence_zh'"
    ).fetchall()[0][0]
    if split:
        part = 1 if lang == "zh" else 2
        return (f"CASE WHEN contains({p}evidence, ' | ') "
                f"THEN trim(split_part({p}evidence, ' | ', {part})) ELSE {p}evidence END")
    return f"coalesce({p}evidence_zh, {p}evidence)" if lang == "zh" else f"{p}evidence"


def read_flags(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """flags.csv: one row per flag raised, evidence in English and in Chinese."""
    return _frame(con, f"SELECT unit_id, flag, {flag_evidence_sql(con, 'en')} AS evidence, "
                       f"{flag_evidence_sql(con, 'zh')} AS evidence_zh FROM run_flags "
                       "WHERE run_id = ? ORDER BY unit_id, flag", [run_id])


def write_outputs(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: str | Path) -> list[Path]:
    """Write scores.csv, indicator_scores.csv, flags.csv (header only when no flags) and
    dimension_scores.csv."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "scores.csv": read_scores(con, run_id),
        "indicator_scores.csv": read_indicator_scores(con, run_id),
        "flags.csv": read_flags(con, run_id),
        "dimension_scores.csv": read_dimension_scores(con, run_id),
    }
    paths = []
    for name, frame in files.items():
        path = out / name
        frame.write_csv(path)
        paths.append(path)
    return paths


def diff_runs(con: duckdb.DuckDBPyConnection, run_a: str, run_b: str) -> pl.DataFrame:
    """Per unit: score, rank and grade in both runs and the change (B − A; rank up is > 0)."""
    return _frame(con, """
        SELECT COALESCE(b.unit_id, a.unit_id) AS unit_id,
               COALESCE(b.unit_name, a.unit_name) AS unit_name,
               a.score AS score_a, b.score AS score_b, b.score - a.score AS score_change,
               a.rank AS rank_a, b.rank AS rank_b, a.rank - b.rank AS rank_change,
               a.grade AS grade_a, b.grade AS grade_b
        FROM (SELECT * FROM run_scores WHERE run_id = ?) a
        FULL OUTER JOIN (SELECT * FROM run_scores WHERE run_id = ?) b ON a.unit_id = b.unit_id
        ORDER BY abs(COALESCE(a.rank - b.rank, 0)) DESC, rank_b NULLS LAST, unit_id""",
                  [run_a, run_b])
