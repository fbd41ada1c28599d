"""Grade colours follow the scheme's order (one palette for dashboard and exports), and a
scheme's own grade codes and scale decimals are shown as the scheme says, on a real scored run."""

from __future__ import annotations

import colorsys
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from helpers.dashboard import ROOT, run_page, texts

from evaluator.export.html import CSS, grade_class
from evaluator.grades_palette import BEST, MIDDLE, WORST, colour_of, grade_colour, grade_colours
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.snapshot import publish_snapshot
from evaluator.store import connect

CODES = ["A", "B", "C"]  # best first: named 一类 / 二类 / 三类


def _rgb(c: str) -> tuple[int, ...]:
    return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))


# --------------------------------------------------------------------------- the palette


@pytest.mark.parametrize("n", range(2, 9))
def test_best_is_green_worst_is_red_in_between_interpolated(n):
    colours = [grade_colour(i, n) for i in range(n)]
    assert colours[0] == BEST and colours[-1] == WORST
    assert len(set(colours)) == n  # every grade its own colour
    if n % 2:
        assert colours[n // 2] == MIDDLE
    # the hue runs from green down to red without turning back (monotone along the scale)
    hues = [colorsys.rgb_to_hsv(*(v / 255 for v in _rgb(c)))[0] for c in colours]
    assert hues == sorted(hues, reverse=True)
    light = [grade_colour(i, n, light=True) for i in range(n)]
    assert all(sum(_rgb(a)) > sum(_rgb(b)) for a, b in zip(light, colours, strict=True))


@pytest.mark.parametrize("light", [False, True])
def test_good_is_a_green_not_olive(light):
    """Four grades (the default scheme): the second is clearly green. Mixing green into amber
    gave olive (#9e982d: red ≈ green, dark), which reads as "dirty", not "good"."""
    r, g, b = _rgb(grade_colour(1, 4, light=light))
    h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
    assert 75 / 360 < h < 150 / 360 and g - r > (12 if light else 25) and v > 0.6
    fair = _rgb(grade_colour(2, 4, light=light))
    assert fair[0] > fair[1]  # fair is on the warm side


def test_codes_not_in_the_scheme_are_grey_not_a_rank():
    assert colour_of("Z", CODES) == colour_of(None, CODES) != grade_colour(0, 3)
    assert grade_colours(CODES) == {c: grade_colour(i, 3) for i, c in enumerate(CODES)}


def test_html_exports_use_the_same_palette():
    """The report cards' and summary's badge classes resolve to the shared palette's colours."""
    for i, code in enumerate(CODES):
        cls = grade_class(code, CODES)
        assert f".{cls} {{ background: {grade_colour(i, 3, light=True)}; }}" in CSS
    assert grade_class("excellent", ["excellent", "good", "fair", "poor"]) != grade_class(
        "poor", ["excellent", "good", "fair", "poor"]
    )


# --------------------------------------------------------------------------- a scheme's own grades


@pytest.fixture(scope="module")
def custom_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data scored under the demo scheme with grades A/B/C and a 0–10 scale, 1 decimal."""
    tmp = tmp_path_factory.mktemp("grades")
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    start, end = text.index("grades:"), text.index("vetoes:")
    text = (
        text[:start]
        + "grades:\n"
        "  - {code: A, name: {zh: 一类, en: Class A}, min_score: 8.5, max_share: 0.2}\n"
        "  - {code: B, name: {zh: 二类, en: Class B}, min_score: 6.5}\n"
        "  - {code: C, name: {zh: 三类, en: Class C}}\n\n"
        + text[end:]
    )
    text = text.replace("scale: {min: 0, max: 100, decimals: 2}", "scale: {min: 0, max: 10, decimals: 1}")
    text = text.replace("max_grade: fair", "max_grade: B")
    scheme = tmp / "custom.yaml"
    scheme.write_text(text, encoding="utf-8")
    db = tmp / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    score_run(con, load_scheme(scheme), "2026", publish_snapshot=False)
    con.close()
    publish_snapshot(db)
    return db


def _figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_custom_grades_coloured_by_order_and_named_in_the_kpi(monkeypatch, custom_db, lang):
    """Acceptance #4: 一类/二类/三类 got arbitrary colours (worst cyan) and '优秀比例'."""
    at = run_page(monkeypatch, custom_db, "overview", lang)
    bars = _figures(at)[0]["data"][0]
    assert bars["x"] == (["一类", "二类", "三类"] if lang == "zh" else ["Class A", "Class B", "Class C"])
    assert bars["marker"]["color"] == [grade_colour(i, 3) for i in range(3)]
    labels = [m.label for m in at.metric]
    assert ("最高等次（一类）比例" if lang == "zh" else "Share in the top grade (Class A)") in labels
    assert "优秀比例" not in labels


def test_default_grades_keep_the_excellent_label(monkeypatch, demo_db, tmp_path):
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    publish_snapshot(db)
    at = run_page(monkeypatch, db, "overview", "zh")
    assert "优秀比例" in [m.label for m in at.metric]
    share = next(m.value for m in at.metric if m.label == "优秀比例")
    assert share.endswith("%") and "." in share  # one decimal, as the exports show it
    bars = _figures(at)[0]["data"][0]
    assert bars["marker"]["color"][0] == BEST and bars["marker"]["color"][-1] == WORST


def test_xlsx_export_fills_grades_with_the_same_palette(custom_db, tmp_path):
    from evaluator.export import export_run

    export_run(custom_db, None, fmt="xlsx", out=tmp_path, cards=False, summary=False)
    wb = openpyxl.load_workbook(next(tmp_path.glob("*.xlsx")))
    ws = wb["summary"] if "summary" in wb.sheetnames else wb.worksheets[0]
    head = [c.value for c in ws[1]]
    code_col = openpyxl.utils.get_column_letter(head.index("grade") + 1)
    shown_col = openpyxl.utils.get_column_letter(head.index("grade_name") + 1)
    fills = {}
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            if rule.dxf is None or rule.dxf.fill is None:
                continue  # number formats of measured values
            # the colour sits on the grade people read, decided by the stable code beside it
            assert str(rng.sqref).startswith(shown_col)
            cell, code = rule.formula[0].split("=")
            assert cell == f"${code_col}2"
            fills[code.strip('"')] = "#" + rule.dxf.fill.bgColor.rgb[-6:].lower()
    assert fills == grade_colours(CODES, light=True)
    assert ws.column_dimensions[code_col].hidden  # the code is kept, but does not print



def test_scores_use_the_schemes_decimals(monkeypatch, custom_db):
    """A 0–10 scale with 1 decimal shows 7.4, not 7.40 (overview table and unit profile)."""
    at = run_page(monkeypatch, custom_db, "overview", "en")
    score = at.dataframe[0].value["Score"]
    assert all(len(str(v).split(".")[-1]) <= 1 for v in score)
    at = run_page(monkeypatch, custom_db, "unit", "en")
    value = at.metric[0].value
    assert len(value.split(".")[-1]) == 1, value
    assert "Class" in texts(at) or any("Class" in m.value for m in at.metric)
