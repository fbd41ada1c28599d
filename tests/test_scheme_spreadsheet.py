"""Scheme ⇄ XLSX template: round trips, a template filled by hand, broken workbooks, the CLI.

Round trip: YAML → XLSX → scheme gives the same model (so the same scores) for every shipped
scheme and for generated ones (the strategy of test_scheme_roundtrip). Broken workbooks are
edited copies of a real export, each refused with the sheet, row and column at fault.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers.office import convert
from helpers.scheme_strategies import schemes
from hypothesis import given, settings
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from evaluator.scheme import load_scheme
from evaluator.scheme import sheet_layout as layout
from evaluator.scheme.loader import load_scheme_text
from evaluator.scheme.models import Scheme
from evaluator.scheme.spreadsheet import build_workbook, write_template
from evaluator.scheme.spreadsheet_import import SpreadsheetInvalid, read_scheme_workbook

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["indicators/demo_township.yaml", "indicators/department.yaml",
           "indicators/examples/trace_heavy.yaml", "examples/hdi/scheme.yaml"]
EVALUATOR = [sys.executable, "-m", "evaluator"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVALUATOR, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, check=False)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", SHIPPED)
def test_shipped_schemes_round_trip(path: str, tmp_path: Path) -> None:
    scheme = load_scheme(ROOT / path).scheme
    xlsx = write_template(scheme, tmp_path / "s.xlsx")
    assert read_scheme_workbook(xlsx) == scheme


NO_LINT = {"ignore": [], "reason": None}


def same_meaning(a: Any, b: Any, path: str = "") -> str | None:
    """Where two model dumps differ in meaning, or None. Numbers agree to 15 significant
    digits (a spreadsheet cell holds no more: Excel keeps 15, openpyxl writes 16), and an
    empty per-indicator `lint` setting is the same as none."""
    if isinstance(a, float) or isinstance(b, float):
        return None if math.isclose(a, b, rel_tol=1e-15) else f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            x, y = a.get(k), b.get(k)
            if k == "lint" and x in (None, NO_LINT) and y in (None, NO_LINT):
                continue
            found = same_meaning(x, y, f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True))
                     if (d := same_meaning(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path}: {a!r} != {b!r}"


@pytest.mark.slow
@settings(max_examples=25)
@given(data=schemes())
def test_generated_schemes_round_trip(data: dict[str, Any], tmp_path_factory: Any) -> None:
    scheme = Scheme.model_validate(data)
    path = tmp_path_factory.mktemp("rt") / "g.xlsx"
    write_template(scheme, path)
    again = read_scheme_workbook(path)
    assert same_meaning(scheme.model_dump(mode="json"), again.model_dump(mode="json")) is None


@pytest.mark.slow
def test_round_trip_scores_the_same(demo_db: Path, tmp_path: Path) -> None:
    """Same model means same numbers; checked once end to end through the CLI on demo data."""
    db = tmp_path / "d.duckdb"
    shutil.copy(demo_db, db)
    xlsx, yaml = tmp_path / "demo.xlsx", tmp_path / "demo.yaml"
    assert run_cli("scheme", "export", "indicators/demo_township.yaml", "--xlsx", str(xlsx)
                   ).returncode == 0
    assert run_cli("scheme", "import", str(xlsx), "--out", str(yaml)).returncode == 0
    for scheme, out in (("indicators/demo_township.yaml", "a"), (str(yaml), "b")):
        done = run_cli("score", "--db", str(db), "--scheme", scheme, "--period", "2026",
                       "--out", str(tmp_path / out))
        assert done.returncode == 0, done.stderr
    for name in ("scores.csv", "indicator_scores.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()


def test_template_is_documented_and_protected(tmp_path: Path) -> None:
    scheme = load_scheme(ROOT / "indicators/demo_township.yaml").scheme
    wb = build_workbook(scheme)
    assert wb.sheetnames[:4] == [layout.INSTRUCTIONS, layout.SETTINGS, layout.TREE, layout.ITEMS]
    tree = wb[layout.TREE]
    keys = [tree.cell(row=3, column=j).value for j in range(1, tree.max_column + 1)]
    assert keys == [c.key for c in layout.tree_columns()]
    assert tree.cell(row=1, column=keys.index("weight") + 1).value == "权重（分值）"
    assert tree.cell(row=2, column=keys.index("weight") + 1).value == "weight (points)"
    for ws in (wb[layout.SETTINGS], tree, wb[layout.ITEMS]):
        assert ws.protection.sheet
        assert ws.cell(row=3, column=1).protection.locked  # keys locked
        assert not ws.cell(row=layout.FIRST_ROW, column=3).protection.locked  # values editable
    assert wb[layout.SETTINGS].cell(row=layout.FIRST_ROW, column=1).protection.locked
    # every closed list has a dropdown with exactly the model's values
    lists = wb[layout.LISTS]
    dropdowns: dict[str, list[str]] = {}
    for dv in tree.data_validations.dataValidation:
        formula = dv.formula1.replace("'", "") if dv.formula1 else ""
        if dv.type != "list" or not formula.startswith("lists!"):
            continue
        col = str(dv.sqref).split(":")[0].rstrip("0123456789")
        rng = formula.split("!")[1].replace("$", "")
        dropdowns[keys[openpyxl.utils.column_index_from_string(col) - 1]] = [
            c.value for row in lists[rng] for c in row]
    for c in layout.tree_columns():
        if c.choices:
            assert dropdowns[c.key] == list(c.choices), c.key
    assert dropdowns["evidence"] == ["outcome", "satisfaction", "output", "process", "trace"]
    assert "pass_fail" in dropdowns["rule.type"] and "goalposts" in dropdowns["rule.type"]


# --------------------------------------------------------------------------- filled by hand


def _fill_by_hand(path: Path) -> None:
    """What an office clerk types into a blank template (numbers as numbers, 是/否, 20%)."""
    wb = openpyxl.load_workbook(path)
    s = wb[layout.SETTINGS]
    rows = {s.cell(row=i, column=1).value: i for i in range(4, s.max_row + 1)}
    for key, value in {"id": "hand_made", "name.zh": "手填方案", "name.en": "Filled by hand",
                       "year": 2026, "unit_types": "township", "version": 1,
                       "trace_policy.max_share": "10%"}.items():
        s.cell(row=rows[key], column=3, value=value)
    t = wb[layout.TREE]
    col = {t.cell(row=3, column=j).value: j for j in range(1, t.max_column + 1)}
    lines = [
        {"kind": "dimension", "id": "results", "name.zh": "实绩", "name.en": "Results",
         "weight": 70},
        {"kind": "indicator", "parent": "results", "id": "income", "name.zh": "收入增速",
         "name.en": "Income growth", "evidence": "outcome", "source.measure": "income_growth_pct",
         "rule.type": "goalposts", "rule.lower": 0, "rule.upper": 10, "weight": 40,
         "frequency": "annual", "burden_minutes": 30, "department": "统计局"},
        {"kind": "indicator", "parent": "results", "id": "complaints", "name.zh": "诉求办结率",
         "name.en": "Complaints resolved", "evidence": "outcome",
         "source.measure": "complaint_resolution_rate", "rule.type": "bands",
         "rule.bands": "0.95：100；0.9：85", "weight": 30, "frequency": "quarterly"},
        {"kind": "dimension", "id": "people", "name.zh": "群众评价", "name.en": "Citizens",
         "weight": 30},
        {"kind": "indicator", "parent": "people", "id": "satisfaction", "name.zh": "群众满意度",
         "name.en": "Satisfaction", "evidence": "satisfaction",
         "source.questions": "q_overall，q_service", "source.scale.min": 1, "source.scale.max": 5,
         "rule.type": "direct", "weight": 25},
        {"kind": "indicator", "parent": "people", "id": "meetings", "name.zh": "会议次数",
         "name.en": "Meetings held", "evidence": "trace", "linked_outcomes": "complaints",
         "source.measure": "meetings_held", "source.rollup": "sum", "rule.type": "pass_fail",
         "rule.threshold": 4, "weight": 5, "transform.log": "否"},
    ]
    for i, line in enumerate(lines, start=4):
        for key, value in line.items():
            t.cell(row=i, column=col[key], value=value)
    it = wb[layout.ITEMS]
    icol = {it.cell(row=3, column=j).value: j for j in range(1, it.max_column + 1)}
    for key, value in {"kind": "veto", "id": "major_accident", "name.zh": "重大安全事故",
                       "name.en": "Major accident", "event": "major_safety_accident",
                       "max_grade": "fair"}.items():
        it.cell(row=4, column=icol[key], value=value)
    wb.save(path)


@pytest.mark.slow
def test_blank_template_filled_by_hand_in_libreoffice_imports(tmp_path: Path) -> None:
    blank = tmp_path / "blank.xlsx"
    assert run_cli("scheme", "export", "--xlsx", str(blank)).returncode == 0
    _fill_by_hand(blank)
    saved = convert(blank, "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(saved)
    assert wb[layout.TREE].protection.sheet  # LibreOffice kept the protection …
    assert wb[layout.TREE].data_validations.dataValidation  # … and the dropdowns
    out = tmp_path / "hand.yaml"
    done = run_cli("scheme", "import", str(saved), "--out", str(out))
    assert done.returncode == 0, done.stderr
    scheme = load_scheme(out).scheme
    assert [d.id for d in scheme.dimensions] == ["results", "people"]
    assert scheme.version == "1" and scheme.trace_policy.max_share == pytest.approx(0.1)
    bands = scheme.indicator("complaints").rule
    assert [(b.threshold, b.score) for b in bands.bands] == [(0.95, 100), (0.9, 85)]  # type: ignore[union-attr]
    assert scheme.indicator("satisfaction").source.questions == ["q_overall", "q_service"]  # type: ignore[union-attr]
    assert scheme.indicator("meetings").linked_outcomes == ["complaints"]
    assert scheme.vetoes[0].max_grade == "fair"
    assert [g.code for g in scheme.grades] == ["excellent", "good", "fair", "poor"]
    assert run_cli("lint", str(out)).returncode in (0, 1)


# --------------------------------------------------------------------------- broken workbooks

Edit = Callable[[openpyxl.Workbook], None]


def _cols(ws: Worksheet) -> dict[str, int]:
    return {str(ws.cell(row=3, column=j).value): j for j in range(1, ws.max_column + 1)}


def _row_of(ws: Worksheet, ident: str) -> int:
    idcol = _cols(ws)["id"]
    return next(i for i in range(4, ws.max_row + 1) if ws.cell(row=i, column=idcol).value == ident)


def tree_cell(ident: str, key: str, value: Any) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[layout.TREE]
        ws.cell(row=_row_of(ws, ident), column=_cols(ws)[key]).value = value
    return edit


def setting(key: str, value: Any) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[layout.SETTINGS]
        row = next(i for i in range(4, ws.max_row + 1) if ws.cell(row=i, column=1).value == key)
        ws.cell(row=row, column=3).value = value
    return edit


def drop_sheet(name: str) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        del wb[name]
    return edit


def rename_key(old: str, new: str) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[layout.TREE]
        ws.cell(row=3, column=_cols(ws)[old], value=new)
    return edit


def item_cell(row: int, key: str, value: Any) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[layout.ITEMS]
        ws.cell(row=row, column=_cols(ws)[key]).value = value
    return edit


def grade_cell(row: int, key: str, value: Any) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[layout.SETTINGS]
        ws.cell(row=row, column=_cols(ws)[key]).value = value
    return edit


TREE, SET, ITEMS = layout.TREE, layout.SETTINGS, layout.ITEMS
# (kind of breakage, edit, sheet, key at fault or None, words the message must contain)
BROKEN: list[tuple[str, Edit, str, str | None, str]] = [
    ("word in a number cell", tree_cell("income_growth", "weight", "twelve"), TREE, "weight",
     "expected a number"),
    ("negative weight", tree_cell("income_growth", "weight", -3), TREE, "weight",
     "must be 0 or more"),
    ("evidence not in the list", tree_cell("income_growth", "evidence", "paperwork"), TREE,
     "evidence", "unknown value 'paperwork'"),
    ("unknown rule type", tree_cell("income_growth", "rule.type", "minmax"), TREE, "rule.type",
     "did you mean 'min_max'"),
    ("parameter of another rule", tree_cell("income_growth", "rule.threshold", 3), TREE,
     "rule.threshold", "not a parameter of rule type"),
    ("goalposts in the wrong order", tree_cell("school_dropout", "rule.lower", 99), TREE,
     "rule.type", "wrong order"),  # a check across the rule's cells: shown at its type
    ("band without a score", tree_cell("complaint_resolution", "rule.bands", "0.95; 0.9:85"), TREE,
     "rule.bands", "threshold:score"),
    ("unknown parent", tree_cell("income_growth", "parent", "developmnt"), TREE, "parent",
     "did you mean 'development'"),
    ("indicator as parent", tree_cell("school_dropout", "parent", "income_growth"), TREE,
     "parent", "is an indicator"),
    ("indicator without parent", tree_cell("income_growth", "parent", None), TREE, "parent",
     "needs a parent"),
    ("dimension inside itself", tree_cell("development", "parent", "development"), TREE,
     "parent", "inside itself"),
    ("unknown linked outcome", tree_cell("meetings_held", "linked_outcomes", "nothing_here"),
     TREE, "linked_outcomes", "not an indicator of this scheme"),
    ("duplicate id", tree_cell("school_dropout", "id", "income_growth"), TREE, "id",
     "duplicate id"),
    ("measure and questions", tree_cell("income_growth", "source.questions", "q_overall"), TREE,
     "source.measure", "not both"),
    ("indicator column on a dimension row", tree_cell("development", "evidence", "outcome"),
     TREE, "evidence", "not on a dimension row"),
    ("unknown kind", tree_cell("income_growth", "kind", "indikator"), TREE, "kind",
     "is unknown"),
    ("required name cleared", tree_cell("income_growth", "name.en", None), TREE, "name.en",
     "required"),
    ("points do not add up", tree_cell("development", "weight", 31), SET, "total_points",
     "add up to"),
    ("year not a whole number", setting("year", 2026.5), SET, "year", "whole number"),
    ("share out of range", setting("trace_policy.max_share", 3), SET, "trace_policy.max_share",
     "between 0 and 1"),
    ("bad boolean", setting("limits.require_satisfaction", "maybe"), SET,
     "limits.require_satisfaction", "true or false"),
    ("grades not falling", grade_cell(5, "min_score", 99), SET, "min_score", "best first"),
    ("veto with an unknown grade", item_cell(4, "max_grade", "terrible"), ITEMS, "max_grade",
     "not a grade code"),
    ("veto with bonus points", item_cell(4, "points", 5), ITEMS, "points", "not used by a veto"),
    ("header key edited", rename_key("rule.upper", "rule.uper"), TREE, "rule.uper",
     "did you mean 'rule.upper'"),
    ("sheet deleted", drop_sheet(layout.ITEMS), ITEMS, None, "is missing"),
]


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "demo.xlsx"
    return write_template(load_scheme(ROOT / "indicators/demo_township.yaml").scheme, path)


def _broken(src: Path, dest: Path, edits: list[Edit]) -> Path:
    wb = openpyxl.load_workbook(src)
    for edit in edits:
        edit(wb)
    wb.save(dest)
    return dest


@pytest.mark.parametrize("what, edit, sheet, key, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_workbook_is_refused_at_the_cell(
    what: str, edit: Edit, sheet: str, key: str | None, words: str, demo_template: Path,
    tmp_path: Path,
) -> None:
    path = _broken(demo_template, tmp_path / "broken.xlsx", [edit])
    with pytest.raises(SpreadsheetInvalid) as caught:
        read_scheme_workbook(path)
    hits = [i for i in caught.value.issues if words in i.message]
    assert hits, [str(i) for i in caught.value.issues]
    issue = hits[0]
    assert issue.sheet == sheet
    if key is not None:
        assert issue.key == key, str(issue)
        assert issue.row is not None and issue.column is not None, str(issue)
        wb = openpyxl.load_workbook(path)
        if sheet in wb.sheetnames and issue.row > 3:
            header = wb[sheet].cell(row=3, column=issue.column).value
            assert header in (key, "value"), (header, str(issue))
    assert f"sheet '{sheet}'" in str(issue)


def test_every_error_at_once_and_nothing_written(demo_template: Path, tmp_path: Path) -> None:
    path = _broken(demo_template, tmp_path / "many.xlsx", [
        tree_cell("income_growth", "weight", "twelve"),
        tree_cell("school_dropout", "evidence", "paperwork"),
        setting("year", "next year"),
        item_cell(4, "max_grade", "terrible"),
    ])
    out = tmp_path / "out.yaml"
    done = run_cli("scheme", "import", str(path), "--out", str(out))
    assert done.returncode == 1
    assert not out.exists() and not list(tmp_path.glob(".out.yaml*"))
    err = " ".join(done.stderr.split())
    assert "4 error(s)" in err
    for words in ("expected a number", "paperwork", "next year", "terrible"):
        assert words in err
    assert "Traceback" not in done.stderr
    row = _row_of(openpyxl.load_workbook(path)[TREE], "income_growth")
    weight_col = get_column_letter(_cols(openpyxl.load_workbook(path)[TREE])["weight"])
    assert f"sheet '{TREE}', row {row}, column {weight_col} (weight)" in err


def test_cli_refuses_unreadable_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    done = run_cli("scheme", "import", str(junk), "--out", str(tmp_path / "x.yaml"))
    assert done.returncode == 1 and "not a readable .xlsx" in done.stderr
    done = run_cli("scheme", "import", str(tmp_path / "missing.xlsx"), "--out", str(tmp_path / "x.yaml"))
    assert done.returncode == 1 and "file not found" in done.stderr
    done = run_cli("scheme", "export", "indicators/nope.yaml", "--xlsx", str(tmp_path / "x.xlsx"))
    assert done.returncode == 1 and not (tmp_path / "x.xlsx").exists()


def test_import_writes_readable_yaml_and_lints(demo_template: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    done = run_cli("scheme", "import", str(demo_template), "--out", str(out), "--lang", "zh")
    assert done.returncode == 0, done.stderr
    assert "形式主义检查" in done.stdout  # the linter's report, as for any scheme
    text = out.read_text()
    assert text.startswith("# Imported from demo.xlsx")
    assert load_scheme_text(text).scheme == load_scheme(ROOT / "indicators/demo_township.yaml").scheme
    # trace_heavy imports (exit 0) although the linter reports errors on it
    xlsx = tmp_path / "th.xlsx"
    write_template(load_scheme(ROOT / "indicators/examples/trace_heavy.yaml").scheme, xlsx)
    done = run_cli("scheme", "import", str(xlsx), "--out", str(tmp_path / "th.yaml"))
    assert done.returncode == 0 and "error" in done.stdout


def test_an_uploaded_template_reads_from_memory(demo_template: Path) -> None:
    """The editor's upload: the same reader on the uploaded bytes, named by the file."""
    scheme = read_scheme_workbook(io.BytesIO(demo_template.read_bytes()), "upload.xlsx")
    assert scheme == load_scheme(ROOT / "indicators/demo_township.yaml").scheme
    with pytest.raises(SpreadsheetInvalid) as caught:
        read_scheme_workbook(io.BytesIO(b"not a workbook"), "upload.xlsx")
    assert caught.value.file == "upload.xlsx"


def test_template_prints_its_wrapped_text_without_overlap(tmp_path: Path) -> None:
    """Office software does not grow rows for wrapped text a library wrote: without set heights
    the instructions printed line over line, and a 180-character-wide sheet was cut at the edge."""
    from evaluator.export.printing import A4, LINE_PT, wrapped_lines

    path = write_template(load_scheme(ROOT / "indicators/demo_township.yaml").scheme,
                          tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    for name in (layout.INSTRUCTIONS, layout.SETTINGS, layout.TREE, layout.ITEMS):
        ws = wb[name]
        assert int(ws.page_setup.paperSize) == A4, name
        for row in ws.iter_rows():
            for c in row:
                if c.value is None or not c.alignment.wrap_text:
                    continue
                width = ws.column_dimensions[get_column_letter(c.column)].width
                need = LINE_PT * wrapped_lines(str(c.value), width)
                if need > LINE_PT:
                    assert (ws.row_dimensions[c.row].height or 0) >= need, (name, c.coordinate)
    guide = wb[layout.INSTRUCTIONS]
    assert guide.sheet_properties.pageSetUpPr.fitToPage and guide.page_setup.fitToWidth == 1
