"""Write one collection form as XLSX: sheet `form` (one row per figure to fill) and instructions.

The first row of `form` is exactly `unit_id, period, measure, value`, then columns for people
(names, definitions, unit of measurement, valid range, the schemes that use the figure), so the
filled file loads as it is with `evaluator ingest --kind form`. Ids and the period are written as
text (leading zeros stay), every cell but `value` is locked (the sheet is protected without a
password: against slips, not against intent), and each `value` cell only accepts a number in the
measure's range, with a bilingual prompt and error message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import xlsxwriter

from evaluator.export.printing import LINE_PT, wrapped_lines
from evaluator.forms.plan import FormField

FORM_SHEET = "form"
INSTRUCTIONS_SHEET = "说明 instructions"
HEADERS = ("unit_id", "period", "measure", "value")
PEOPLE = (
    ("单位名称 / unit name", 16),
    ("数据项名称", 20),
    ("measure name", 22),
    ("定义", 30),
    ("definition", 34),
    ("计量单位 / unit", 14),
    ("填报范围 / valid values", 16),
    ("使用方案 / used by", 30),
)


@dataclass(frozen=True)
class FormUnit:
    unit_id: str
    name: str


def safe_name(text: str) -> str:
    """A file-name-safe form of an id (letters, digits, CJK, '.', '-' and '_' kept)."""
    return re.sub(r"[^\w.\-]+", "_", text).strip("._") or "unit"


def range_text(field: FormField) -> str:
    lo, hi = field.bounds
    kind = "整数 whole number" if field.is_integer else "数值 number"
    if lo is not None and hi is not None:
        return f"{kind} {lo:g} – {hi:g}"
    if lo is not None:
        return f"{kind} ≥ {lo:g}"
    if hi is not None:
        return f"{kind} ≤ {hi:g}"
    return kind


def _validation(field: FormField) -> dict[str, object]:
    """Excel data validation for the value cell: number (or whole number) within the range."""
    lo, hi = field.bounds
    rule: dict[str, object] = {"validate": "integer" if field.is_integer else "decimal"}
    if lo is not None and hi is not None:
        rule |= {"criteria": "between", "minimum": lo, "maximum": hi}
    elif lo is not None:
        rule |= {"criteria": ">=", "value": lo}
    elif hi is not None:
        rule |= {"criteria": "<=", "value": hi}
    else:
        rule |= {"criteria": "between", "minimum": -1e300, "maximum": 1e300}
    shown = range_text(field)
    rule |= {
        "input_title": "填写数值 Enter a number",
        "input_message": f"{shown}。只填数字，不带单位。\nDigits only, no unit.",
        "error_title": "数值无效 Invalid value",
        "error_message": f"请输入{shown}。\nPlease enter a {shown.split(' ', 1)[1]}.",
        "error_type": "stop",
    }
    return rule


def write_form(path: Path, units: Sequence[FormUnit], period: str, fields: Sequence[FormField],
               scheme_names: dict[str, tuple[str, str]]) -> int:
    """Write the form for `units` (one or all of a unit type) and return its number of rows."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": f"数据采集表 collection form {period}",
                       "comments": "made by evaluator forms; load with evaluator ingest --kind form"})
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
                          "valign": "top", "locked": True})
    locked = wb.add_format({"locked": True, "text_wrap": True, "valign": "top", "font_color": "#333333"})
    value = wb.add_format({"locked": False, "bg_color": "#FFF2CC", "border": 1, "valign": "top"})
    ws = wb.add_worksheet(FORM_SHEET)
    for col, name in enumerate(HEADERS):
        ws.write_string(0, col, name, head)
    for k, (name, width) in enumerate(PEOPLE):
        ws.write_string(0, len(HEADERS) + k, name, head)
        ws.set_column(len(HEADERS) + k, len(HEADERS) + k, width)
    ws.set_row(0, LINE_PT * 2)
    ws.set_column(0, 1, 9)
    ws.set_column(2, 2, 24)
    ws.set_column(3, 3, 12)
    used_by = {f.measure: "; ".join(f"{s} {scheme_names.get(s, (s, s))[0]}" for s in f.scheme_ids)
               for f in fields}
    row = 1
    for unit in units:
        for f in fields:
            info = f.info
            first = f.requests[0].indicator
            ws.write_string(row, 0, unit.unit_id, locked)
            ws.write_string(row, 1, period, locked)
            ws.write_string(row, 2, f.measure, locked)
            ws.write_blank(row, 3, None, value)
            ws.data_validation(row, 3, row, 3, _validation(f))
            texts = (
                unit.name,
                info.name.zh if info else first.name.zh,
                info.name.en if info else first.name.en,
                info.definition.zh if info else "",
                info.definition.en if info else "",
                f"{info.unit.zh} / {info.unit.en}" if info else "",
                range_text(f),
                used_by[f.measure],
            )
            for k, text in enumerate(texts):
                ws.write_string(row, len(HEADERS) + k, text, locked)
            lines = max(wrapped_lines(text, width) for text, (_, width) in zip(texts, PEOPLE, strict=True))
            ws.set_row(row, LINE_PT * max(lines, wrapped_lines(f.measure, 24)))
            row += 1
    ws.freeze_panes(1, 4)
    ws.set_paper(9)  # A4, landscape, one page wide, the header row on every page
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True,
                    "format_columns": True, "format_rows": True})
    _instructions(wb, units, period, fields, scheme_names)
    wb.close()
    return row - 1


def _instructions(wb: xlsxwriter.Workbook, units: Sequence[FormUnit], period: str,
                  fields: Sequence[FormField], scheme_names: dict[str, tuple[str, str]]) -> None:
    ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
    title = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 60)
    ws.set_column(1, 1, 60)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    who = units[0].name if len(units) == 1 else f"{len(units)} 个单位 units"
    schemes = [f"{s}: {zh} / {en}" for s, (zh, en) in scheme_names.items()]
    lines: list[tuple[str, str]] = [
        ("一表报送、多方共享：数据采集表", "One form, shared by many: data collection form"),
        (f"单位：{who}；期间：{period}；共 {len(fields)} 项数据",
         f"Unit: {who}; period: {period}; {len(fields)} figure(s) to report"),
        ("本表汇总了下列考核方案需要由本单位填报的全部数据，每项只填一次，各方案共享使用：",
         "This form gathers every figure the assessment schemes below need from your unit; "
         "each is asked once and shared by all of them:"),
        *[(s, s) for s in schemes],
        ("填写方法", "How to fill it in"),
        ("1. 只在工作表 form 的黄色 value 列填写数值；其他单元格已锁定，请勿修改、插入或删除行列。",
         "1. Type numbers only in the yellow `value` column of sheet `form`; the other cells "
         "are locked: do not change, insert or delete rows or columns."),
        ("2. 只填数字，不带单位、百分号或文字；比例按小数填写（如 93% 填 0.93）；"
         "每个单元格的有效范围见“填报范围”列。",
         "2. Digits only, without units, % signs or words; fractions as decimals (93% is 0.93); "
         "the valid range of each cell is in the `valid values` column."),
        ("3. 每一项都必须填写：有空值或无效值的文件将被整份退回（不会部分导入），请改正后重新报送。",
         "3. Every figure is required: a file with an empty or invalid value is refused as a "
         "whole (nothing of it is loaded); correct it and send it again."),
        ("4. 用 Excel、WPS 或 LibreOffice 填写均可，请保存为 .xlsx 格式，文件名可以不改。",
         "4. Excel, WPS or LibreOffice all work; save as .xlsx (the file name may stay)."),
        ("5. 填好后交回考核办，由考核办用 evaluator ingest --kind form 导入。",
         "5. Return the file to the assessment office, which loads it with "
         "`evaluator ingest --kind form`."),
        (f"生成时间：{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
         f"Made on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"),
    ]
    ws.write_string(0, 0, lines[0][0], title)
    ws.write_string(0, 1, lines[0][1], title)
    for r, (zh, en) in enumerate(lines[1:], start=2):
        fmt = bold if zh == "填写方法" else wrap
        ws.write_string(r, 0, zh, fmt)
        ws.write_string(r, 1, en, fmt)
        ws.set_row(r, LINE_PT * max(wrapped_lines(zh, 60), wrapped_lines(en, 60)))
    ws.protect()
