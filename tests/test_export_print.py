"""What readers of the exports see: Chinese everywhere in zh, codes beside names, printing on A4
at a legible size, grade colours, report cards, and CSV ids that stay text in LibreOffice."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from helpers.exports import Built, copy_demo
from helpers.office import SOFFICE, convert

from evaluator.export import export_run
from evaluator.export.printing import MIN_SCALE
from evaluator.export.runinfo import resolve_run
from evaluator.export.tables import ExportContext, frame
from evaluator.labels import CATALOGUE, Group
from evaluator.runs import stored_scheme
from evaluator.scheme.weights import weight_table
from evaluator.store import connect

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def built(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Built:  # type: ignore[no-untyped-def]
    return copy_demo(demo_build, tmp_path_factory.mktemp("export_print"))


@pytest.fixture(scope="module")
def zh_book(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zh_book")
    export_run(built.db, built.runs["demo_2026"], fmt="xlsx", out=out, lang="zh")
    return out


def sheet(book: Path, name: str) -> pl.DataFrame:
    return pl.read_excel(book / "results.xlsx", sheet_name=name)


# --------------------------------------------------------------------------- Chinese is Chinese


def test_zh_workbook_shows_names_not_codes(zh_book: Path) -> None:
    """township/rural/threshold/show_off/reweight/FALSE were printed as they are stored."""
    summary = sheet(zh_book, "汇总")
    assert set(summary["单位类型"]) == {"乡镇"} and set(summary["单位类型代码"]) == {"township"}
    assert set(summary["同类组"]) <= {"农村", "城镇"} and "rural" in set(summary["同类组代码"])
    assert set(summary["定等依据"].drop_nulls()) <= {"按分数线定等", "一票否决封顶", "等次名额所限"}
    assert set(summary["等次"]) <= {"优秀", "良好", "一般", "较差"}
    vetoed = summary.filter(pl.col("一票否决项编码").is_not_null())
    assert vetoed.height and set(vetoed["一票否决项"]) == {"发生重大安全生产事故"}
    flagged = summary["预警标记"].drop_nulls()
    assert flagged.len() and not any(re.search(r"[a-z_]{4,}", f) for f in flagged)
    breakdown = sheet(zh_book, "指标明细")
    assert set(breakdown["是否插补"]) <= {"是", "否"}  # never TRUE/FALSE
    assert "reweight" not in set(breakdown["缺失处理"]) and "剔除并重新分配权重" in set(breakdown["缺失处理"])
    assert "missing" not in " ".join(breakdown["数据处理"].drop_nulls())
    flags = sheet(zh_book, "预警")
    assert set(flags["标记"]) <= {lab.zh for lab in CATALOGUE[Group.flag].values()}
    quality = sheet(zh_book, "满意度调查质量")
    assert {"单位名称", "指标名称"} <= set(quality.columns) and set(quality["小样本"]) <= {"是", "否"}
    reference = sheet(zh_book, "计分参照值")
    assert "threshold" not in set(reference["参照值"]) and "中位数" in set(reference["参照值"])


def test_zh_methodology_names_sections_and_keys(zh_book: Path) -> None:
    method = sheet(zh_book, "方法说明")
    assert method.columns == ["类别代码", "类别", "项目代码", "项目", "数值"]
    assert all(HAN.search(x) for x in method["类别"]) and all(HAN.search(x) for x in method["项目"])
    values = dict(zip(method["项目代码"], method["数值"], strict=True))
    assert values["published"] == "是" and values["uncertainty"] == "否"  # the demo releases its runs
    assert HAN.search(values["trace_policy"]) and HAN.search(values["batch_1"])


def test_codes_keep_their_stable_codes_in_every_language(built: Built, tmp_path: Path) -> None:
    """Both languages carry the same code columns; only headers and name columns differ."""
    for lang in ("en", "zh"):
        export_run(built.db, built.runs["demo_2026"], fmt="parquet", out=tmp_path / lang,
                   lang=lang, cards=False, summary=False)
    en, zh = (pl.read_parquet(tmp_path / lang / "summary.parquet") for lang in ("en", "zh"))
    for col in ("unit_id", "grade", "unit_type", "peer_group", "veto", "flags", "grade_reason"):
        assert en[col].equals(zh[col]), col
    assert en["grade_name"].to_list() != zh["grade_name"].to_list()


def test_zh_pointers_name_sheets_that_exist(built: Built, tmp_path: Path) -> None:
    """The zh summary sent readers to a “预警” sheet that did not exist."""
    run = built.runs["heavy_2026"]
    export_run(built.db, run, fmt="xlsx", out=tmp_path, lang="zh", cards=False)
    names = openpyxl.load_workbook(tmp_path / "results.xlsx", read_only=True).sheetnames
    text = html.unescape((tmp_path / "leadership_summary.zh.html").read_text("utf-8"))
    quoted = set(re.findall(r"“([^”]+)”表", text))
    assert quoted and quoted <= set(names)


def test_trace_only_is_the_schemes_one_definition(built: Built) -> None:
    """The scheme sheet's trace_only comes from scheme.weights.is_trace_only (was re-derived)."""
    con = connect(built.db, read_only=True)
    try:
        run = resolve_run(con, built.runs["heavy_2026"])
        loaded = stored_scheme(run.scheme_yaml, run.run_id)
        assert loaded is not None
        got = frame(ExportContext(con, run, loaded.scheme), "scheme")
    finally:
        con.close()
    want = {w.node_id: w.trace_only for w in weight_table(loaded.scheme) if w.kind == "indicator"}
    shown = dict(got.filter(pl.col("node_kind") == "indicator").select("node_id", "trace_only").rows())
    assert shown == want and any(want.values())


# --------------------------------------------------------------------------- printing


def test_workbook_prints_on_a4_legibly_with_repeated_headers(zh_book: Path) -> None:
    wb = openpyxl.load_workbook(zh_book / "results.xlsx")
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.paperSize == 9, ws.title  # A4, not Letter
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.print_area, ws.title
        fitted = ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
        assert fitted or (setup.scale or 100) >= MIN_SCALE, ws.title
    summary = wb["汇总"]
    assert summary.page_setup.orientation == "landscape"
    assert not summary.sheet_properties.pageSetUpPr.fitToPage  # 28 columns are never squeezed
    assert summary.print_title_cols == "$A:$B"  # unit id and name on every page across
    head = [c.value for c in summary[1]]
    hidden = {head[i] for i in range(len(head))
              if summary.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].hidden}
    assert {"等次代码", "单位类型代码", "同类组代码", "一票否决项编码", "预警标记代码"} <= hidden
    assert not hidden & {"单位编码", "单位名称", "得分", "等次", "排名"}


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_prints_the_workbook_on_a4_at_a_legible_size(zh_book: Path, tmp_path: Path) -> None:
    """The 23-column summary printed at ~4.5 pt on Letter; now A4 and at least ~8 pt."""
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    book = tmp_path / "results.xlsx"
    shutil.copy(zh_book / "results.xlsx", book)
    pdf = convert(book, "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())  # type: ignore[union-attr]
    assert sorted((round(width), round(height))) == [595, 842]  # A4 in points
    bbox = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    heights = sorted(float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)"[^>]*yMax="([\d.]+)"', bbox))
    assert heights and heights[len(heights) // 2] >= 7.0  # median glyph box, points


# --------------------------------------------------------------------------- CSV ids


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_ids_stay_text_in_libreoffice(built: Built, tmp_path: Path, encoding: str) -> None:
    """0518 became 518 when LibreOffice guessed types; the manifest's import filter keeps it."""
    out = tmp_path / "csv"
    export_run(built.db, built.runs["demo_2026"], fmt="csv", out=out, lang="zh", encoding=encoding,
               cards=False, summary=False)
    raw = (out / "summary.csv").read_bytes().decode(encoding)
    first_id = raw.splitlines()[1].split(",")[0]
    assert first_id.startswith("0") and '="' not in raw and "'0" not in raw  # values verbatim
    spec = json.loads((out / "manifest.json").read_text("utf-8"))["csv_import"]["summary.csv"]
    assert "单位编码" in spec["text_columns"]
    ws = openpyxl.load_workbook(convert(out / "summary.csv", "xlsx", tmp_path,
                                        infilter=spec["libreoffice_infilter"])).active
    assert ws["A2"].value == first_id  # the id, leading zero and all, as text
    assert HAN.search(ws["B2"].value)  # the encoding was read right
    assert isinstance(ws["G2"].value, float)  # scores are still numbers


# --------------------------------------------------------------------------- report cards


@pytest.fixture(scope="module")
def cards(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cards")
    export_run(built.db, built.runs["demo_2026"], fmt="csv", out=out, summary=False)
    return out / "cards"


def vetoed_unit(built: Built) -> str:
    con = connect(built.db, read_only=True)
    try:
        return str(con.execute("SELECT min(unit_id) FROM run_scores WHERE run_id = ? AND veto IS NOT NULL",
                               [built.runs["demo_2026"]]).fetchall()[0][0])
    finally:
        con.close()


def test_card_names_the_veto_and_the_unit_type(built: Built, cards: Path) -> None:
    unit = vetoed_unit(built)
    en = html.unescape((cards / "en" / f"{unit}.html").read_text("utf-8"))
    zh = html.unescape((cards / "zh" / f"{unit}.html").read_text("utf-8"))
    assert "major_safety_accident" not in en and "major_safety_accident" not in zh
    assert "Veto: Major safety accident" in en and "一票否决：发生重大安全生产事故" in zh
    sub_en = re.search(r'<p class="sub">(.*?)</p>', en).group(1)  # type: ignore[union-attr]
    sub_zh = re.search(r'<p class="sub">(.*?)</p>', zh).group(1)  # type: ignore[union-attr]
    assert "township" not in sub_zh and "乡镇" in sub_zh and not re.search(r"rural|urban", sub_zh)
    assert "Township" in sub_en and re.search(r"Rural|Urban", sub_en)


def test_card_values_are_written_for_people(built: Built, cards: Path) -> None:
    """Counts printed as 66.00 and values unrounded (68.70356988): counts whole, three digits."""
    unit = built.units["unit_id"][0]
    card = html.unescape((cards / "en" / f"{unit}.html").read_text("utf-8"))
    table = card[card.index("id='indicators'"):]
    raw = [re.sub(r"<[^>]+>", "", row.split("</td>")[2]) for row in table.split("<tr>")[2:]
           if row.count("</td>") >= 7]
    assert raw and not any(re.fullmatch(r"[\d,]+\.00", v) for v in raw)
    assert not any(re.search(r"\.0*[1-9]\d{3,}", v) for v in raw), raw  # 68.70356988


def test_radar_labels_are_whole(built: Built, cards: Path) -> None:
    """Dimension names were cut at 24 characters ("Development and livelihoo")."""
    unit = built.units["unit_id"][0]
    card = html.unescape((cards / "en" / f"{unit}.html").read_text("utf-8"))
    labels = [" ".join(re.findall(r"<tspan[^>]*>(.*?)</tspan>", t))
              for t in re.findall(r"<text[^>]*>(?:<title>.*?</title>)(.*?)</text>", card)]
    titles = re.findall(r"<text[^>]*><title>(.*?)</title>", card)
    assert titles and labels == titles
