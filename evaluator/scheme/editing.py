"""The scheme editor's draft: the template's four tables as plain rows, checked like an import.

A draft is what the office edits in the dashboard: settings, grades, the indicator tree and the
veto/bonus/deduction items, row by row with the template's column keys. It is checked by the
spreadsheet import itself (the rows are laid into an in-memory workbook), so the editor and
`evaluator scheme import` accept and refuse exactly the same things, with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from evaluator.scheme import sheet_layout as layout
from evaluator.scheme.models import DEFAULT_GRADES, Scheme
from evaluator.scheme.sheet_layout import FIRST_ROW, HEADER_ROWS
from evaluator.scheme.spreadsheet import (
    GRADE_COL,
    blank_settings,
    cell_value,
    item_rows,
    tree_rows,
    value_at,
)
from evaluator.scheme.spreadsheet_import import CellIssue, SpreadsheetInvalid, read_scheme_workbook

Row = dict[str, Any]
TABLES = ("settings", "grades", "tree", "items")
SHEET_OF = {layout.SETTINGS: "settings", layout.TREE: "tree", layout.ITEMS: "items"}


@dataclass
class Draft:
    """Rows of the four tables, keyed by the template's column keys (cell values)."""

    settings: dict[str, Any]
    grades: list[Row] = field(default_factory=list)
    tree: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)


def draft_of(scheme: Scheme | None) -> Draft:
    """The draft of a scheme, or of a blank one (defaults filled in)."""
    if scheme is None:
        grades = [{c.key: cell_value(c, value_at(g, c.key)) for c in layout.grade_columns()}
                  for g in DEFAULT_GRADES]
        settings = {c.key: cell_value(c, value_at(blank_settings(), c.key))
                    for c in layout.settings_rows()}
        return Draft(settings, grades)
    data = scheme.model_dump(mode="json")
    return Draft(
        {c.key: cell_value(c, value_at(data, c.key)) for c in layout.settings_rows()},
        [{c.key: cell_value(c, value_at(g, c.key)) for c in layout.grade_columns()}
         for g in data["grades"]],
        tree_rows(scheme),
        item_rows(scheme),
    )


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def workbook_of(draft: Draft) -> Workbook:
    """The draft laid out as the template (keys in row 3, data from row 4), in memory."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = layout.SETTINGS
    ws.cell(row=HEADER_ROWS, column=1, value="key")
    for i, c in enumerate(layout.settings_rows(), start=FIRST_ROW):
        ws.cell(row=i, column=1, value=c.key)
        value = draft.settings.get(c.key)
        ws.cell(row=i, column=3, value=None if _blank(value) else value)
    _rows(ws, layout.grade_columns(), draft.grades, GRADE_COL)
    _rows(wb.create_sheet(layout.TREE), layout.tree_columns(), draft.tree)
    _rows(wb.create_sheet(layout.ITEMS), layout.item_columns(), draft.items)
    return wb


def _rows(ws: Any, columns: list[layout.Column], rows: list[Row], first_col: int = 1) -> None:
    for j, c in enumerate(columns, start=first_col):
        ws.cell(row=HEADER_ROWS, column=j, value=c.key)
        for i, row in enumerate(rows, start=FIRST_ROW):
            value = row.get(c.key)
            if not _blank(value):
                ws.cell(row=i, column=j, value=value)


@dataclass(frozen=True)
class Problem:
    """A draft problem at a table row (0-based index) and column key, or the whole draft."""

    table: str | None
    index: int | None
    key: str | None
    message: str

    def row_text(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


def _problem(issue: CellIssue) -> Problem:
    table = SHEET_OF.get(issue.sheet or "")
    if table == "settings" and issue.column is not None and issue.column >= GRADE_COL:
        table = "grades"
    index = issue.row - FIRST_ROW if issue.row is not None and issue.row >= FIRST_ROW else None
    if table == "settings":
        return Problem(table, None, issue.key, issue.message)
    return Problem(table, index, issue.key, issue.message)


def check(draft: Draft) -> tuple[Scheme | None, list[Problem]]:
    """The draft's scheme, or None with every problem (table, row index, column key)."""
    try:
        return read_scheme_workbook(workbook_of(draft), "draft"), []
    except SpreadsheetInvalid as exc:
        return None, [_problem(i) for i in exc.issues]
