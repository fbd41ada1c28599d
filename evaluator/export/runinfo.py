"""Which run is exported, and the scheme it was scored under (re-read from the run's own text).

A run is self-describing: `runs.scheme_yaml` holds the scheme text, so exports never depend on
the scheme file still existing or being unchanged on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
from pydantic import ValidationError

from evaluator.scheme.loader import SchemeInvalid, parse_yaml
from evaluator.scheme.models import REPORTS_PER_YEAR, Scheme


class ExportError(Exception):
    """A user-caused export problem (no runs, unknown run, unwritable folder); says what to do."""


@dataclass(frozen=True)
class RunInfo:
    """The `runs` row of the exported run plus what the export derives from it."""

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
    lint_messages: list[str] = field(default_factory=list)

    def scheme_name(self, lang: str) -> str:
        name = self.scheme_name_zh if lang == "zh" else self.scheme_name_en
        return name or self.scheme_id


_RUN_COLUMNS = (
    "run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh, scheme_name_en, "
    "scheme_hash, scheme_yaml, batch_ids, parameters, code_version, coalesce(lint_errors, 0), "
    "coalesce(published, false), note"
)


def resolve_run(con: duckdb.DuckDBPyConnection, run_id: str | None) -> RunInfo:
    """The named run (full id or unique prefix), or the latest one when `run_id` is None."""
    from evaluator.runs import RunNotFound
    from evaluator.runs import resolve_run as resolve_id

    try:
        full = resolve_id(con, run_id)
    except RunNotFound as exc:
        raise ExportError(f"{exc} / 未找到考核运行记录") from None
    found = con.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [full]).fetchall()
    row = found[0]
    params = row[10]
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except json.JSONDecodeError:
            params = {"raw": params}
    lint = [
        f"{r[0]} ({r[1] or 'scheme'}): {r[2]}"
        for r in con.execute(
            "SELECT rule, indicator, message FROM run_lint WHERE run_id = ? AND severity = 'error' "
            "ORDER BY rule, indicator",
            [row[0]],
        ).fetchall()
    ]
    return RunInfo(
        run_id=row[0],
        created_at=row[1],
        period=row[2],
        scheme_id=row[3],
        scheme_version=row[4],
        scheme_name_zh=row[5],
        scheme_name_en=row[6],
        scheme_hash=row[7],
        scheme_yaml=row[8],
        batch_ids=list(row[9] or []),
        parameters=params if isinstance(params, dict) else {},
        code_version=row[11],
        lint_errors=max(int(row[12]), len(lint)),
        published=bool(row[13]),
        note=row[14],
        lint_messages=lint,
    )


def scheme_from_text(text: str, where: str = "stored scheme") -> Scheme | None:
    """The scheme model from a run's stored YAML; None if this version can no longer read it.

    Exports then fall back to what the run tables hold (ids instead of names), never fail.
    """
    try:
        tree = parse_yaml(text, where)
        return Scheme.model_validate(tree)
    except (SchemeInvalid, ValidationError, TypeError, ValueError):
        return None


def burden_hours(scheme: Scheme) -> float:
    """Reporting hours per unit per year the scheme imposes (declared minutes × reports a year)."""
    minutes = sum((i.burden_minutes or 0.0) * REPORTS_PER_YEAR[i.frequency] for i in scheme.indicators())
    return minutes / 60.0
