"""`evaluator forms`: write the collection forms for every unit (or unit type) in the store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.forms.plan import form_fields
from evaluator.forms.workbook import FormUnit, safe_name, write_form
from evaluator.ingest.validate import PERIOD_RE
from evaluator.scheme.measures import LoadedRegistry
from evaluator.scheme.models import Scheme

Per = Literal["unit", "unit_type"]


class FormsError(EvaluatorError):
    """The forms cannot be made (bad period, no units of the schemes' types, nothing to ask)."""


@dataclass(frozen=True)
class WrittenForm:
    path: Path
    unit_type: str
    unit_id: str | None  # None for a form per unit type
    units: int
    fields: int  # figures per unit
    rows: int


def build_forms(con: duckdb.DuckDBPyConnection, schemes: Sequence[Scheme],
                registry: LoadedRegistry | None, period: str, out_dir: Path,
                per: Per = "unit") -> list[WrittenForm]:
    """One form per unit (or per unit type) of the schemes' unit types found in the store."""
    if not re.match(PERIOD_RE, period):
        raise FormsError(f"period {period!r}: write a year (2026), a quarter (2026Q1) or a month "
                         "(2026-03) / 期间格式应为 2026、2026Q1 或 2026-03")
    types = list(dict.fromkeys(t for s in schemes for t in s.unit_types))
    units = con.execute(
        "SELECT unit_id, name, unit_type FROM current_units WHERE list_contains(?, unit_type) "
        "ORDER BY unit_type, unit_id", [types]).fetchall()
    if not units:
        raise FormsError(f"the database has no units of type {', '.join(types)}: load them first "
                         "with `evaluator ingest --kind units` / 数据库中没有这些类型的单位")
    names = {s.id: (s.name.zh, s.name.en) for s in schemes}
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[WrittenForm] = []
    taken: set[Path] = set()
    for unit_type in types:
        members = [FormUnit(str(u), str(n or u)) for u, n, t in units if t == unit_type]
        fields = form_fields(schemes, registry, unit_type, period)
        if not members or not fields:
            continue
        groups = ([(m.unit_id, [m]) for m in members] if per == "unit"
                  else [(None, members)])
        for unit_id, group in groups:
            stem = safe_name(unit_id if unit_id is not None else unit_type)
            path = out_dir / f"form_{period}_{stem}.xlsx"
            if path in taken:  # two ids that differ only in characters a file name cannot hold
                path = out_dir / f"form_{period}_{stem}_{len(written) + 1}.xlsx"
            taken.add(path)
            rows = write_form(path, group, period, fields, names)
            written.append(WrittenForm(path, unit_type, unit_id, len(group), len(fields), rows))
    if not written:
        raise FormsError(f"the schemes need no figure reported by the units for {period} (every "
                         "measure comes from an existing system, or none is given that often): "
                         "there is no form to fill / 无需单位填报")
    return written
