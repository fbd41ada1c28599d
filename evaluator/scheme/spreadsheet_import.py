"""A filled scheme template (XLSX) → a validated scheme (`evaluator scheme import`).

Every problem is reported at once with its sheet, row, column and what to do: cells that cannot
be read (a word in a number column, a band without a score), rows that do not fit the tree
(an unknown parent, a loop), then the scheme models' own validation and whole-tree checks,
whose error paths are mapped back to the cell they came from. Nothing is returned (and the CLI
writes nothing) while any problem remains.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from evaluator.errors import EvaluatorError
from evaluator.scheme import sheet_layout as layout
from evaluator.scheme.checks import Loc, cross_check
from evaluator.scheme.messages import message
from evaluator.scheme.models import Adjustment, Scheme, SurveySource, Veto
from evaluator.scheme.salvage import data_loc, salvage_problems
from evaluator.scheme.sheet_layout import FIRST_ROW, HEADER_ROWS, Column

SPLIT = re.compile(r"[,，、]")  # list items; a cell with line breaks has one item per line
BAND_SPLIT = re.compile(r"[;；\n]")
TRUE = {"true", "yes", "y", "1", "是", "对", "√"}
FALSE = {"false", "no", "n", "0", "否", "错", "×"}
SURVEY_ONLY = {c.key for c in layout.columns_of(SurveySource, "source.")}


@dataclass(frozen=True)
class CellIssue:
    """One problem, at a sheet, row and column of the workbook (row/column None: the whole)."""

    sheet: str | None
    row: int | None
    column: int | None
    key: str | None
    message: str

    def where(self) -> str:
        parts = [f"sheet '{self.sheet}'"] if self.sheet else []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {get_column_letter(self.column)}"
                         + (f" ({self.key})" if self.key else ""))
        elif self.key:
            parts.append(f"({self.key})")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class SpreadsheetInvalid(EvaluatorError):
    """Raised with every problem found, so the office fixes the workbook in one pass."""

    def __init__(self, file: str, issues: list[CellIssue]):
        self.file = file
        self.issues = issues
        super().__init__("\n".join(f"{file}: {i}" for i in issues))


@dataclass
class _Place:
    """Where a model object came from: its sheet, row and the column of each key."""

    sheet: str
    row: int | None
    columns: dict[str, int] = field(default_factory=dict)

    def column_of(self, parts: list[str]) -> tuple[int | None, str | None]:
        """The column of the longest prefix of `parts` that names one (`name` → `name.zh`,
        `rule.bands.score` → `rule.bands`)."""
        for m in range(len(parts), 0, -1):
            key = ".".join(parts[:m])
            if key in self.columns:
                return self.columns[key], key
            for k, c in self.columns.items():
                if k.startswith(key + "."):
                    return c, k
        return None, ".".join(parts) or None


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.issues: list[CellIssue] = []
        self.places: dict[Loc, _Place] = {}
        self.setting_rows: dict[str, int] = {}  # settings key → its row

    def issue(self, sheet: str | None, row: int | None, column: int | None, key: str | None,
              text: str) -> None:
        if column is not None and any((i.sheet, i.row, i.column) == (sheet, row, column)
                                      for i in self.issues):
            return  # one message per cell: the first (usually why the cell was unreadable)
        self.issues.append(CellIssue(sheet, row, column, key, text))

    # ------------------------------------------------------------------ cells

    def cell(self, col: Column, value: Any, sheet: str, row: int, column: int) -> Any:
        """The model value of a cell, or None (empty or unreadable, reported)."""
        if value is None or (isinstance(value, str) and value == ""):
            return None
        try:
            return _parse(col, value)
        except ValueError as exc:
            self.issue(sheet, row, column, col.key, str(exc))
            return None

    def table(self, ws: Worksheet, columns: list[Column], first_col: int = 1,
              last_col: int | None = None, required: tuple[str, ...] = ()
              ) -> Iterator[tuple[int, dict[str, Any], dict[str, int]]]:
        """(row number, {key: value}, {key: column}) of every non-empty data row."""
        by_key = {c.key: c for c in columns}
        found: dict[str, int] = {}
        last_col = last_col or ws.max_column
        for j in range(first_col, last_col + 1):
            key = ws.cell(row=HEADER_ROWS, column=j).value
            if key is None or str(key).strip() == "":
                continue
            key = str(key).strip()
            if key not in by_key:
                close = difflib.get_close_matches(key, list(by_key), n=1)
                self.issue(ws.title, HEADER_ROWS, j, key,
                           f"unknown column key '{key}'"
                           + (f" (did you mean '{close[0]}'?)" if close else "")
                           + f": row {HEADER_ROWS} holds the keys the import reads; restore it "
                           "from a fresh `evaluator scheme export`")
            elif key in found:
                self.issue(ws.title, HEADER_ROWS, j, key,
                           f"column key '{key}' appears twice (also column "
                           f"{get_column_letter(found[key])}): delete one of the two columns")
            else:
                found[key] = j
        for key in required:
            if key not in found:
                self.issue(ws.title, HEADER_ROWS, None, key,
                           f"the column with key '{key}' is missing: restore it from a fresh "
                           "`evaluator scheme export`")
        for i, cells in enumerate(ws.iter_rows(min_row=FIRST_ROW, values_only=True),
                                  start=FIRST_ROW):
            values: dict[str, Any] = {}
            filled = False
            for key, j in found.items():
                raw = cells[j - 1] if j - 1 < len(cells) else None
                if raw is None or raw == "":
                    continue
                filled = True
                value = self.cell(by_key[key], raw, ws.title, i, j)
                if value is not None:
                    values[key] = value
            if filled:
                yield i, values, found

    # ------------------------------------------------------------------ sheets

    def settings(self, ws: Worksheet) -> dict[str, Any]:
        rows = {c.key: c for c in layout.settings_rows()}
        data: dict[str, Any] = {}
        for i in range(FIRST_ROW, ws.max_row + 1):
            key, value = ws.cell(row=i, column=1).value, ws.cell(row=i, column=3).value
            if key is None or str(key).strip() == "":
                if value not in (None, ""):
                    self.issue(ws.title, i, 3, None, "a value without a setting key in column A: "
                               "delete it (column A is locked; do not add settings rows)")
                continue
            key = str(key).strip()
            if key not in rows:
                self.issue(ws.title, i, 1, key, f"unknown setting '{key}': column A is locked; "
                           "restore it from a fresh `evaluator scheme export`")
                continue
            self.setting_rows[key] = i
            parsed = self.cell(rows[key], value, ws.title, i, 3)
            if parsed is not None:
                _put(data, key, parsed)
        grades: list[dict[str, Any]] = []
        for i, values, cols in self.table(ws, layout.grade_columns(), first_col=_grade_col(ws),
                                          required=("code",)):
            self.places[("grades", len(grades))] = _Place(ws.title, i, cols)
            grades.append(_nested(values))
        if grades:
            data["grades"] = grades
        return data

    def items(self, ws: Worksheet) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        vetoes: list[dict[str, Any]] = []
        adjustments: list[dict[str, Any]] = []
        veto_keys = {c.key for c in layout.columns_of(Veto)}
        adj_keys = {c.key for c in layout.columns_of(Adjustment)} - {"kind"}
        for i, values, cols in self.table(ws, layout.item_columns(), required=("kind", "id")):
            kind = values.pop("kind", None)
            if kind not in layout.ITEM_KINDS:
                self.issue(ws.title, i, cols.get("kind"), "kind",
                           f"kind {'is empty' if kind is None else repr(kind) + ' is unknown'}: "
                           f"choose {', '.join(layout.ITEM_KINDS)}")
                continue
            allowed = veto_keys if kind == "veto" else adj_keys
            for key in [k for k in values if k not in allowed]:
                self.issue(ws.title, i, cols[key], key,
                           f"'{key}' is not used by a {kind} item: clear the cell "
                           f"({kind} items use {', '.join(sorted(allowed))})")
                values.pop(key)
            target = vetoes if kind == "veto" else adjustments
            self.places[("vetoes" if kind == "veto" else "adjustments", len(target))] = _Place(
                ws.title, i, cols)
            item = _nested(values)
            if kind != "veto":
                item["kind"] = kind
            target.append(item)
        return vetoes, adjustments

    def tree(self, ws: Worksheet) -> list[dict[str, Any]]:
        dim_keys, ind_keys = layout.dimension_keys(), layout.indicator_keys()
        rows: list[tuple[int, str, str | None, dict[str, Any], dict[str, int]]] = []
        for i, values, cols in self.table(ws, layout.tree_columns(), required=("kind", "id")):
            kind, parent = values.pop("kind", None), values.pop("parent", None)
            if kind not in layout.NODE_KINDS:
                self.issue(ws.title, i, cols.get("kind"), "kind",
                           f"kind {'is empty' if kind is None else repr(kind) + ' is unknown'}: "
                           "choose dimension (a group of indicators) or indicator")
                continue
            allowed = dim_keys if kind == "dimension" else ind_keys
            for key in [k for k in values if k not in allowed]:
                other = "indicators" if kind == "dimension" else "dimensions"
                self.issue(ws.title, i, cols[key], key,
                           f"'{key}' is for {other}, not on a {kind} row: clear the cell")
                values.pop(key)
            node = self._indicator(ws.title, i, values, cols) if kind == "indicator" else (
                _nested(values))
            rows.append((i, str(kind), parent, node, cols))
        return self._assemble(ws.title, rows)

    def _indicator(self, sheet: str, row: int, values: dict[str, Any], cols: dict[str, int]
                   ) -> dict[str, Any]:
        """Rule parameters must belong to the chosen rule; a source is a measure or a survey."""
        models = layout.rule_models()
        rule_type = values.get("rule.type")
        if rule_type in models:
            params = {f"rule.{k}" for k in models[rule_type].model_fields} - {"rule.type"}
            for key in [k for k in values if k.startswith("rule.") and k != "rule.type"]:
                if key not in params:
                    self.issue(sheet, row, cols[key], key,
                               f"'{key.removeprefix('rule.')}' is not a parameter of rule type "
                               f"'{rule_type}' (its parameters: "
                               f"{', '.join(sorted(p.removeprefix('rule.') for p in params)) or 'none'}"
                               "): clear the cell or choose another rule")
                    values.pop(key)
        if "source.questions" in values or any(k in values for k in SURVEY_ONLY):
            if "source.measure" in values:
                self.issue(sheet, row, cols["source.measure"], "source.measure",
                           "a row has either a measure (outcome data) or survey questions, not "
                           "both: clear one of the two")
                values.pop("source.measure")
            if "source.rollup" in values:
                self.issue(sheet, row, cols["source.rollup"], "source.rollup",
                           "rollup applies to measures, not to survey questions: clear it")
                values.pop("source.rollup")
        return _nested(values)

    def _assemble(self, sheet: str, rows: list[tuple[int, str, str | None, dict[str, Any],
                                                     dict[str, int]]]) -> list[dict[str, Any]]:
        """Attach each row to its parent dimension, in row order."""
        dims: dict[str, dict[str, Any]] = {}
        kinds: dict[str, str] = {}
        for _, kind, _, node, _ in rows:
            nid = node.get("id")
            if isinstance(nid, str):
                kinds.setdefault(nid, kind)
                if kind == "dimension":
                    dims.setdefault(nid, node)
            if kind == "dimension":  # rows may name a parent placed further down
                node.setdefault("indicators", [])
                node.setdefault("dimensions", [])
        parent_of = {str(n["id"]): p for _, k, p, n, _ in rows if k == "dimension" and n.get("id")}
        top: list[dict[str, Any]] = []
        where: dict[int, tuple[int, dict[str, int]]] = {}
        for i, kind, parent, node, cols in rows:
            where[id(node)] = (i, cols)
            if parent is None:
                if kind == "indicator":
                    self.issue(sheet, i, cols.get("parent"), "parent",
                               "an indicator needs a parent: write the id of its dimension")
                    continue
                top.append(node)
                continue
            if parent not in dims:
                close = difflib.get_close_matches(parent, list(dims), n=1)
                what = (f"'{parent}' is an indicator, not a dimension" if kinds.get(parent) ==
                        "indicator" else f"no dimension row has id '{parent}'")
                self.issue(sheet, i, cols.get("parent"), "parent",
                           f"{what}: write the id of a dimension row"
                           + (f" (did you mean '{close[0]}'?)" if close else ""))
                continue
            if kind == "dimension" and _loops(str(node.get("id")), parent_of):
                self.issue(sheet, i, cols.get("parent"), "parent",
                           f"dimension '{node.get('id')}' is inside itself through its parents "
                           f"({' → '.join(_chain(str(node.get('id')), parent_of))}): "
                           "give one of them another parent")
                continue
            dims[parent]["indicators" if kind == "indicator" else "dimensions"].append(node)

        def place(node: dict[str, Any], loc: Loc) -> None:
            row, cols = where[id(node)]
            self.places[loc] = _Place(sheet, row, cols)
            for j, ind in enumerate(node.get("indicators", [])):
                row, cols = where[id(ind)]
                self.places[(*loc, "indicators", j)] = _Place(sheet, row, cols)
            for j, sub in enumerate(node.get("dimensions", [])):
                place(sub, (*loc, "dimensions", j))

        for k, d in enumerate(top):
            place(d, ("dimensions", k))
        return top

    # ------------------------------------------------------------------ model errors

    def at(self, loc: Loc, text: str) -> None:
        """Report `text` at the cell a model path came from (the longest known prefix)."""
        loc = data_loc(loc)
        for n in range(len(loc), 0, -1):
            place = self.places.get(loc[:n])
            if place is not None:
                column, key = place.column_of([str(p) for p in loc[n:] if not isinstance(p, int)])
                self.issue(place.sheet, place.row, column, key if column else None, text)
                return
        if loc and loc[0] in ("dimensions", "grades", "vetoes", "adjustments"):
            sheet = {"dimensions": layout.TREE, "grades": layout.SETTINGS}.get(str(loc[0]),
                                                                                layout.ITEMS)
            if any(i.sheet == sheet and i.row is None for i in self.issues):
                return  # already said for the whole sheet (e.g. "no dimension rows")
            self.issue(sheet, None, None, str(loc[0]), text)
            return
        settings = _Place(layout.SETTINGS, None, {k: 3 for k in self.setting_rows})
        column, key = settings.column_of([str(p) for p in loc])
        self.issue(layout.SETTINGS, self.setting_rows.get(key or ""), column, key, text)


def _grade_col(ws: Worksheet) -> int:
    """First column of the grade table: the first key `code` in row 3."""
    for j in range(1, ws.max_column + 1):
        if ws.cell(row=HEADER_ROWS, column=j).value == "code":
            return j
    return ws.max_column + 1


def _loops(start: str, parent_of: dict[str, str | None]) -> bool:
    seen, node = {start}, parent_of.get(start)
    while node is not None:
        if node in seen:
            return True
        seen.add(node)
        node = parent_of.get(node)
    return False


def _chain(start: str, parent_of: dict[str, str | None]) -> list[str]:
    out, node = [start], parent_of.get(start)
    while node is not None and node not in out:
        out.append(node)
        node = parent_of.get(node)
    return [*out, node] if node else out


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for p in parents:
        data = data.setdefault(p, {})
    data[last] = value


def _nested(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        _put(out, key, value)
    return out


# --------------------------------------------------------------------------- cell parsing


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any, what: str = "a number, e.g. 12 or 0.5") -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got {value!r}: type the number")
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1].strip(), 0.01
    try:
        return float(text) * scale
    except ValueError:
        raise ValueError(f"expected {what}, got {str(value)!r}: write digits only, without "
                         "units or words") from None


def _parse(col: Column, value: Any) -> Any:
    """A cell as the model value of its column kind (raises ValueError with what to do)."""
    kind = col.kind
    if kind == "text":
        return _text(value)
    if kind in ("id", "choice"):
        return _text(value).strip() or None
    if kind == "ids":
        text = _text(value)
        items = [p.strip() for p in (text.splitlines() if "\n" in text else SPLIT.split(text))]
        return [p for p in items if p] or None
    if kind == "number":
        return _number(value)
    if kind == "int":
        number = _number(value, "a whole number, e.g. 30")
        if not number.is_integer():
            raise ValueError(f"expected a whole number, got {_text(value)!r}: leave out decimals")
        return int(number)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        word = _text(value).strip().lower()
        if word in TRUE or word in FALSE:
            return word in TRUE
        raise ValueError(f"expected true or false, got {_text(value)!r}: choose from the list")
    if kind == "pair":
        parts = [p for p in (s.strip() for s in SPLIT.split(_text(value))) if p]
        if len(parts) != 2:
            raise ValueError(f"expected two numbers separated by a comma, e.g. 0.05, 0.95; got "
                             f"{_text(value)!r}")
        return [_number(p) for p in parts]
    if kind == "bands":
        bands = []
        for part in (p.strip() for p in BAND_SPLIT.split(_text(value))):
            if not part:
                continue
            pieces = re.split(r"[:：]", part)
            if len(pieces) != 2:
                raise ValueError(f"band '{part}' is not threshold:score: write bands as "
                                 "threshold:score; threshold:score, e.g. 0.95:100; 0.9:85")
            try:
                bands.append({"threshold": _number(pieces[0]), "score": _number(pieces[1])})
            except ValueError:
                raise ValueError(f"band '{part}': threshold and score must be numbers, e.g. "
                                 "0.95:100") from None
        return bands or None
    raise AssertionError(kind)


# --------------------------------------------------------------------------- entry point


def _sheet(wb: Any, name: str, reader: _Reader) -> Worksheet | None:
    """A template sheet by its name, or by the English word of its name (renamed sheets)."""
    if name in wb.sheetnames:
        return wb[name]
    word = name.split()[-1].lower()
    for title in wb.sheetnames:
        if title.lower().split()[-1:] == [word]:
            return wb[title]
    reader.issue(name, None, None, None, f"sheet '{name}' is missing: keep the sheets of the "
                 "template (export a fresh one with `evaluator scheme export`)")
    return None


def read_scheme_workbook(source: str | Path | BinaryIO | Workbook, name: str | None = None
                         ) -> Scheme:
    """The scheme of a filled template (a file, an upload, or a workbook built in memory by the
    scheme editor); `SpreadsheetInvalid` with every problem otherwise. `name` names it in
    messages."""
    if isinstance(source, Workbook):
        wb, file = source, name or "<workbook>"
    else:
        target = source if hasattr(source, "read") else Path(source)
        file = name or str(target)
        try:
            wb = load_workbook(target, data_only=True)
        except FileNotFoundError:
            raise SpreadsheetInvalid(file, [CellIssue(None, None, None, None,
                                                      "file not found: check the path")]) from None
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise SpreadsheetInvalid(file, [CellIssue(
                None, None, None, None, f"not a readable .xlsx workbook ({type(exc).__name__}): "
                "save it as Excel 2007-365 (.xlsx) and retry")]) from None
    reader = _Reader(file)
    data: dict[str, Any] = {}
    sheets = {name: _sheet(wb, name, reader) for name in (layout.SETTINGS, layout.TREE, layout.ITEMS)}
    if sheets[layout.SETTINGS] is not None:
        data.update(reader.settings(sheets[layout.SETTINGS]))
    if sheets[layout.ITEMS] is not None:
        vetoes, adjustments = reader.items(sheets[layout.ITEMS])
        data.update(vetoes=vetoes, adjustments=adjustments)
    if sheets[layout.TREE] is not None:
        data["dimensions"] = reader.tree(sheets[layout.TREE])
        if not data["dimensions"] and not reader.issues:
            reader.issue(layout.TREE, None, None, None, "no dimension rows: add at least one row "
                         "of kind dimension (with its indicators below it)")
    if any(s is None for s in sheets.values()):
        raise SpreadsheetInvalid(file, reader.issues)
    unread = bool(reader.issues)  # cells left out or rows dropped: some sums and links are off
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            text = message(err)
            if err["type"] == "missing":
                text = "required: fill this cell"
            reader.at(tuple(err["loc"]), text)
        for loc, text in salvage_problems(data, exc.errors()):  # whole-tree checks too
            if not (unread and _follows_from_unread(loc)):
                reader.at(loc, text)
        raise SpreadsheetInvalid(file, _dedupe(reader.issues)) from None
    for loc, text in cross_check(scheme):
        if not (unread and _follows_from_unread(loc)):
            reader.at(loc, text)
    if reader.issues:
        raise SpreadsheetInvalid(file, _dedupe(reader.issues))
    return scheme


def _follows_from_unread(loc: Loc) -> bool:
    """Point totals and links to other rows are only right once every cell could be read and
    every row placed in the tree: while some could not, they are not reported (they would
    blame a total for a weight that was merely unreadable)."""
    return "total_points" in loc or "linked_outcomes" in loc


def _dedupe(issues: list[CellIssue]) -> list[CellIssue]:
    seen: set[CellIssue] = set()
    out = []
    for i in issues:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return sorted(out, key=lambda i: (i.sheet or "", i.row or 0, i.column or 0))
