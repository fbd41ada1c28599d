# ruff: noqa: E501  (bilingual instruction texts: splitting sentences hurts reading)
"""Scheme → a documented XLSX template an assessment office can edit (`evaluator scheme export`).

Sheets: instructions; settings (one row per scheme setting, and the grade table beside it);
indicators (the dimension tree and its indicators, one row each, `parent` naming the dimension);
items (veto, bonus and deduction items). Row 1 holds the Chinese header, row 2 the English one,
row 3 the key the import reads (`evaluator.scheme.spreadsheet_import`). Every closed list has a
dropdown drawn from the models (sheet `lists`, hidden); headers, keys and explanations are
locked (sheet protection without a password: it prevents slips, not determined edits).
"""

from __future__ import annotations

import inspect
from enum import Enum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel

from evaluator.export.printing import A4, LINE_PT, MARGIN_IN, page_setup, wrapped_lines
from evaluator.labels import CATALOGUE, Group
from evaluator.scheme import sheet_layout as layout
from evaluator.scheme.models import DEFAULT_GRADES, Dimension, Scheme
from evaluator.scheme.sheet_layout import FIRST_ROW, Column

SPARE_ROWS = 200  # empty editable rows below the last filled one
HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
KEY_FILL = PatternFill("solid", fgColor="F2F2F2")
LOCKED_FILL = PatternFill("solid", fgColor="F7F7F7")
KEY_FONT = Font(color="808080", size=8, italic=True)
UNLOCKED = Protection(locked=False)


# --------------------------------------------------------------------------- values


def value_at(data: Any, key: str) -> Any:
    """The value at a dotted column key of a model dump (`rule.threshold`), None when absent."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def cell_value(column: Column, value: Any) -> Any:
    """A model value as the cell shows it (lists joined, bands as `threshold:score; …`)."""
    if value is None:
        return None
    if column.kind == "bands":
        return "; ".join(f"{_num(b['threshold'])}:{_num(b['score'])}" for b in value)
    if column.kind == "ids":  # one per line when an id itself holds a comma (ids have no spaces)
        return "".join(f"{v}\n" for v in value) if any("," in v for v in value) else ", ".join(value)
    if column.kind == "pair":
        return ", ".join(str(_num(v)) for v in value)
    if column.kind == "bool":
        return "true" if value else "false"
    if isinstance(value, float):
        return _num(value)
    return value


def _num(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def tree_rows(scheme: Scheme) -> list[dict[str, Any]]:
    """One dict per node, depth first in file order, keyed by column key (cell values)."""
    columns = layout.tree_columns()
    rows: list[dict[str, Any]] = []

    def add(kind: str, parent: str | None, data: dict[str, Any]) -> None:
        row = {c.key: cell_value(c, value_at(data, c.key)) for c in columns[2:]}
        row.update(kind=kind, parent=parent)
        rows.append(row)

    def walk(dim: Dimension, parent: str | None) -> None:
        add("dimension", parent, dim.model_dump(mode="json", exclude={"indicators", "dimensions"}))
        for ind in dim.indicators:
            add("indicator", dim.id, ind.model_dump(mode="json"))
        for sub in dim.dimensions:
            walk(sub, dim.id)

    for d in scheme.dimensions:
        walk(d, None)
    return rows


def item_rows(scheme: Scheme) -> list[dict[str, Any]]:
    columns = layout.item_columns()
    out = []
    for kind, item in [*(("veto", v) for v in scheme.vetoes),
                       *((a.kind, a) for a in scheme.adjustments)]:
        data = item.model_dump(mode="json")
        out.append({**{c.key: cell_value(c, value_at(data, c.key)) for c in columns}, "kind": kind})
    return out


# --------------------------------------------------------------------------- writing


def _set(cell: Cell, value: Any) -> None:
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula


def _protect(ws: Worksheet) -> None:
    """Lock the sheet against slips; rows can still be inserted, deleted, sorted and filtered."""
    p = ws.protection
    p.sheet = True
    p.insertRows = p.deleteRows = p.formatColumns = p.formatRows = False
    p.sort = p.autoFilter = False


class _Lists:
    """The hidden `lists` sheet: one column per closed list, referenced by the dropdowns."""

    def __init__(self, wb: Workbook):
        self.ws = wb.create_sheet(layout.LISTS)
        self.ws.sheet_state = "hidden"
        self.refs: dict[tuple[str, ...], str] = {}

    def ref(self, values: tuple[str, ...]) -> str:
        if values not in self.refs:
            col = len(self.refs) + 1
            for i, v in enumerate(values, start=1):
                self.ws.cell(row=i, column=col, value=v)
            letter = get_column_letter(col)
            self.refs[values] = (f"{quote_sheetname(layout.LISTS)}!${letter}$1:${letter}$"
                                 f"{len(values)}")
        return self.refs[values]


def _validation(ws: Worksheet, column: Column, cells: str, lists: _Lists,
                list_ref: str | None = None) -> None:
    """Dropdown for closed lists, number checks for numbers, and the field's note as prompt."""
    prompt = (column.note or column.en)[:250]
    title = column.en[:32]
    if list_ref or column.choices:
        dv = DataValidation(type="list", formula1=list_ref or lists.ref(column.choices),
                            allow_blank=True, showDropDown=False)
        dv.error = f"choose from the list / 请从下拉列表选择 ({column.key})"
    elif column.kind in ("number", "int"):
        dv = DataValidation(type="whole" if column.kind == "int" else "decimal",
                            operator="between", formula1="-1E+300", formula2="1E+300",
                            allow_blank=True)
        dv.error = f"a number / 请填写数字 ({column.key})"
    else:
        dv = DataValidation(allow_blank=True)
    dv.errorTitle = "evaluator"
    dv.showErrorMessage = dv.type is not None
    dv.promptTitle, dv.prompt, dv.showInputMessage = title, prompt, True
    dv.add(cells)
    ws.add_data_validation(dv)


def _header(ws: Worksheet, columns: list[Column], first_col: int = 1) -> None:
    for j, c in enumerate(columns, start=first_col):
        for row, text in ((1, c.zh), (2, c.en), (3, c.key)):
            cell = ws.cell(row=row, column=j, value=text)
            cell.fill = KEY_FILL if row == 3 else HEAD_FILL
            cell.font = KEY_FONT if row == 3 else Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        width = max(10, min(28, max(len(c.en), 2 * len(c.zh)) + 2))
        ws.column_dimensions[get_column_letter(j)].width = width


def _table(ws: Worksheet, columns: list[Column], rows: list[dict[str, Any]], lists: _Lists,
           first_col: int = 1, refs: dict[str, str] | None = None) -> None:
    """Header rows, data rows and editable spare rows, with one validation per column."""
    _header(ws, columns, first_col)
    last = FIRST_ROW + len(rows) + SPARE_ROWS
    for j, c in enumerate(columns, start=first_col):
        for i in range(FIRST_ROW, last + 1):
            ws.cell(row=i, column=j).protection = UNLOCKED
        for i, row in enumerate(rows, start=FIRST_ROW):
            _set(ws.cell(row=i, column=j), row.get(c.key))
        letter = get_column_letter(j)
        _validation(ws, c, f"{letter}{FIRST_ROW}:{letter}{last}", lists, (refs or {}).get(c.key))


def _settings(ws: Worksheet, scheme: Scheme | None, lists: _Lists) -> None:
    """Key/value rows (A–E) and the grade table (G onwards)."""
    data = scheme.model_dump(mode="json") if scheme else blank_settings()
    head = [("设置项", "setting", "key"), ("说明", "description", "description"),
            ("值", "value", "value")]
    for j, (zh, en, key) in enumerate(head, start=1):
        for row, text in ((1, zh), (2, en), (3, key)):
            cell = ws.cell(row=row, column=j, value=text)
            cell.fill = KEY_FILL if row == 3 else HEAD_FILL
            cell.font = KEY_FONT if row == 3 else Font(bold=True)
    for i, c in enumerate(layout.settings_rows(), start=FIRST_ROW):
        ws.cell(row=i, column=1, value=c.key).font = KEY_FONT
        desc = ws.cell(row=i, column=2, value=f"{c.zh} / {c.en}" + (f" — {c.note}" if c.note else ""))
        desc.alignment = Alignment(wrap_text=True, vertical="top")
        for j in (1, 2):
            ws.cell(row=i, column=j).fill = LOCKED_FILL
        value = ws.cell(row=i, column=3)
        value.protection = UNLOCKED
        value.alignment = Alignment(wrap_text=True, vertical="top")
        _set(value, cell_value(c, value_at(data, c.key)))
        _validation(ws, c, f"C{i}", lists)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 46
    ws.column_dimensions["C"].width = 30
    grades = [g.model_dump(mode="json") for g in scheme.grades] if scheme else DEFAULT_GRADES
    columns = layout.grade_columns()
    rows = [{c.key: cell_value(c, value_at(g, c.key)) for c in columns} for g in grades]
    _table(ws, columns, rows, lists, first_col=GRADE_COL)
    ws.freeze_panes = "A4"


GRADE_COL = 5  # the grade table starts in column E (D stays empty between the two tables)


def blank_settings() -> dict[str, Any]:
    """The model defaults of the scheme settings (a blank template shows them; required ones
    such as id and year stay empty)."""
    out: dict[str, Any] = {}
    for name, field in Scheme.model_fields.items():
        if name in layout.SCHEME_LISTS or field.is_required():
            continue
        value = field.get_default(call_default_factory=True)
        out[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else (
            value.value if isinstance(value, Enum) else value)
    return out


def grade_code_ref() -> str:
    letter = get_column_letter(GRADE_COL)  # the code column is the first of the grade table
    return f"{quote_sheetname(layout.SETTINGS)}!${letter}${FIRST_ROW}:${letter}${FIRST_ROW + 50}"


INSTRUCTIONS: list[tuple[str, str]] = [
    ("考核方案模板", "Scheme template"),
    ("本文件由 evaluator scheme export 生成；填好后用 evaluator scheme import 文件 --out 方案.yaml 读回。",
     "Written by `evaluator scheme export`; read it back with `evaluator scheme import FILE --out SCHEME.yaml`."),
    ("灰色单元格（表头、第3行的键名、说明列）已锁定，请勿修改；白色单元格可填写。可插入、删除、排序行。",
     "Grey cells (headers, the keys in row 3, explanations) are locked; fill the white cells. "
     "Rows may be inserted, deleted and sorted."),
    ("「设置」表：每行一项方案设置，在“值”列填写；右侧为等次表（从优到差，最后一档可不填最低分）。",
     "'settings': one scheme setting per row, fill the 'value' column; the grade table is on the "
     "right (best first; the last band may leave its minimum score empty)."),
    ("「指标」表：每行一个维度或指标。类型选 dimension 或 indicator；上级维度填维度编号（顶层维度留空）；"
     "把指标移到另一个维度，只需改它的上级维度。",
     "'indicators': one dimension or indicator per row. kind is dimension or indicator; parent is "
     "the id of its dimension (empty for a top-level dimension); to move an indicator, change its parent."),
    ("数据来源：成效/产出/过程/留痕指标填“数据项”；满意度指标填“问卷题目”（逗号分隔）和答题分值上下限。",
     "Data source: fill 'measure' for outcome data, or 'survey questions' (comma-separated) and the "
     "answer scale for a satisfaction index."),
    ("计分规则：只填所选规则用到的参数列，其他规则的参数列留空。分档写成 阈值:得分; 阈值:得分，如 0.95:100; 0.9:85。",
     "Scoring rule: fill only the parameter columns of the chosen rule. Bands are written "
     "threshold:score; threshold:score, e.g. 0.95:100; 0.9:85."),
    ("列表（关联成效指标、问卷题目、被考核单位类型、屏蔽规则）用英文逗号分隔。",
     "Lists (linked outcomes, questions, unit types, silenced lint rules) are comma-separated."),
    ("「奖惩」表：一票否决（veto：事件发生即限定最高等次，可限定最高分）、加分项（bonus）、扣分项（deduction：每次分值×事件值，不超过累计上限）。",
     "'items': veto (the event caps the grade, optionally the score), bonus and deduction "
     "(points per event × its value, within the cap)."),
    ("读回时会检查全部内容，一次列出所有错误（工作表、行、列和修改方法），有错误时不写出任何文件。",
     "The import checks everything and lists every error at once (sheet, row, column, what to do); "
     "nothing is written while any error remains."),
]


def _instructions(ws: Worksheet) -> None:
    ws.column_dimensions["A"].width = 60
    ws.column_dimensions["B"].width = 60
    evidence, rules = CATALOGUE[Group.evidence], CATALOGUE[Group.rule]
    headings = {0, len(INSTRUCTIONS) + 1, len(INSTRUCTIONS) + len(evidence) + 3}
    lines: list[tuple[str, str]] = [*INSTRUCTIONS, ("", ""), ("证据类型", "Evidence classes")]
    lines += [(f"{code}：{lab.zh}", f"{code}: {lab.en}") for code, lab in evidence.items()]
    lines += [("", ""), ("计分规则（公式见 docs/scheme.md）", "Scoring rules (formulas in docs/scheme.md)")]
    lines += [(f"{code}：{rules[code].zh if code in rules else code}", f"{code}: {_doc(model)}")
              for code, model in layout.rule_models().items()]
    for i, (zh, en) in enumerate(lines):
        for j, text in ((1, zh), (2, en)):
            cell = ws.cell(row=i + 1, column=j, value=text)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if i in headings:
                cell.font = Font(bold=True, size=13 if i == 0 else 11)


def _doc(model: type) -> str:
    return " ".join((inspect.getdoc(model) or "").split())


def build_workbook(scheme: Scheme | None) -> Workbook:
    """The template for `scheme`, or a blank one (defaults filled in) when None."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = layout.INSTRUCTIONS
    _instructions(ws)
    lists = _Lists(wb)
    settings = wb.create_sheet(layout.SETTINGS, 1)
    _settings(settings, scheme, lists)
    tree = wb.create_sheet(layout.TREE, 2)
    tree_cols = layout.tree_columns()
    id_letter = get_column_letter([c.key for c in tree_cols].index("id") + 1)
    nodes = tree_rows(scheme) if scheme else []
    last = FIRST_ROW + len(nodes) + SPARE_ROWS
    _table(tree, tree_cols, nodes, lists, refs={
        "parent": f"${id_letter}${FIRST_ROW}:${id_letter}${last}"})
    tree.freeze_panes = f"{get_column_letter([c.key for c in tree_cols].index('name.zh') + 1)}4"
    items = wb.create_sheet(layout.ITEMS, 3)
    _table(items, layout.item_columns(), item_rows(scheme) if scheme else [], lists,
           refs={"max_grade": grade_code_ref()})
    items.freeze_panes = "A4"
    for sheet in (ws, settings, tree, items):
        _protect(sheet)
        _fit_for_print(sheet, header_rows=0 if sheet is ws else 3)
    return wb


def _fit_for_print(ws: Worksheet, header_rows: int) -> None:
    """Rows tall enough for their wrapped text, A4 with the header rows on every page: what the
    office prints, not lines drawn over each other or a column cut off at the page edge."""
    widths = [ws.column_dimensions[get_column_letter(j)].width or 8.43
              for j in range(1, ws.max_column + 1)]
    for row in ws.iter_rows():
        lines = max((wrapped_lines(str(c.value), widths[c.column - 1]) for c in row
                     if c.value is not None and c.alignment.wrap_text), default=1)
        if lines > 1:
            ws.row_dimensions[row[0].row].height = LINE_PT * lines
    setup = page_setup(widths, set(), id_columns=1)
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    ws.page_margins.left = ws.page_margins.right = MARGIN_IN
    if setup.fit_width:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    else:
        ws.page_setup.scale = setup.scale
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"


def write_template(scheme: Scheme | None, path: str | Path) -> Path:
    """Write the template atomically (a temporary file renamed into place)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    build_workbook(scheme).save(tmp)
    tmp.replace(path)
    return path
