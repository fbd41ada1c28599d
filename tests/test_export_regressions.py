"""Regressions from the acceptance test of the exports (zh text, flags, summary layout, manifest)."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.exports import Built, copy_demo
from hypothesis import given
from hypothesis import strategies as st

from evaluator.demo import build_demo
from evaluator.export import export_run
from evaluator.export.manifest import verify_manifest
from evaluator.export.runinfo import resolve_run
from evaluator.export.summary import league_sizes
from evaluator.export.tables import ExportContext, lint_warning
from evaluator.labels import Group, label
from evaluator.store import connect


@pytest.fixture(scope="module")
def built(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Built:  # type: ignore[no-untyped-def]
    return copy_demo(demo_build, tmp_path_factory.mktemp("export_regressions"))


@pytest.fixture(scope="module")
def heavy_csv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace-heavy run (lint errors) exported as CSV with cards and summaries."""
    out = tmp_path_factory.mktemp("heavy_csv")
    export_run(built.db, built.runs["heavy_2026"], fmt="csv", out=out)
    return out


def test_verify_manifest_accepts_a_str_path(heavy_csv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(heavy_csv, copy)
    assert verify_manifest(str(copy)) == [] == verify_manifest(copy)
    (copy / "flags.csv").write_text("tampered\n", encoding="utf-8")
    assert verify_manifest(str(copy)) == ["flags.csv"] == verify_manifest(copy)


def stored(built: Built, sql: str, run: str) -> pl.DataFrame:
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        return con.sql(sql, params=[run]).pl()
    finally:
        con.close()


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def test_zh_workbook_lint_sheet_and_headers_are_chinese(built: Built, tmp_path: Path) -> None:
    run = built.runs["heavy_2026"]
    export_run(built.db, run, fmt="xlsx", out=tmp_path, lang="zh", cards=False, summary=False)
    lint = pl.read_excel(tmp_path / "results.xlsx", sheet_name="方案体检")
    assert lint.columns == [
        "检查规则代码", "检查规则", "严重程度代码", "严重程度", "指标", "指标名称", "说明"
    ]
    want = stored(built, "SELECT severity, message_zh FROM run_lint WHERE run_id = ?", run)
    assert want.height == lint.height and want["message_zh"].null_count() == 0
    assert set(lint["严重程度"]) <= {"错误", "警告", "提示"} and "错误" in set(lint["严重程度"])
    assert set(lint["严重程度代码"]) <= {"error", "warning", "info"}  # codes stay codes
    assert "仅留痕指标" in set(lint["检查规则"]) and "trace_only" in set(lint["检查规则代码"])
    assert sorted(lint["说明"]) == sorted(want["message_zh"])
    assert all(has_cjk(m) for m in lint["说明"])
    flags = pl.read_excel(tmp_path / "results.xlsx", sheet_name="预警")
    assert flags.columns == ["单位编码", "单位名称", "标记代码", "标记", "依据"]
    assert "重留痕轻成效" in set(flags["标记"]) and "show_off" in set(flags["标记代码"])
    breakdown = pl.read_excel(tmp_path / "results.xlsx", sheet_name="指标明细")
    assert {"证据类型代码", "证据类型", "计分规则代码", "计分规则", "缺失处理"} <= set(breakdown.columns)
    assert set(breakdown["证据类型"]) <= {"成效", "满意度", "产出", "过程", "留痕"}
    assert "min_max" not in set(breakdown["计分规则"]) and "极差标准化" in set(breakdown["计分规则"])
    method = pl.read_excel(tmp_path / "results.xlsx", sheet_name="方法说明")
    errors = method.filter(pl.col("项目代码").str.starts_with("lint_error_"))["数值"]
    keys = method.filter(pl.col("项目代码").str.starts_with("lint_error_"))["项目"]
    assert keys.str.starts_with("严重问题 ").all()
    assert errors.len() == (want["severity"] == "error").sum()
    assert all(has_cjk(m) for m in errors)
    summary = pl.read_excel(tmp_path / "results.xlsx", sheet_name="汇总")
    english = stored(built, "SELECT message FROM run_lint WHERE run_id = ?", run)["message"]
    warning = summary["方案问题提示"][0]
    assert "形式主义问题" in warning and not any(m in warning for m in english)


def test_zh_card_and_summary_banner_is_chinese(built: Built, heavy_csv: Path) -> None:
    run = built.runs["heavy_2026"]
    errors = stored(
        built, "SELECT message, message_zh FROM run_lint WHERE run_id = ? AND severity = 'error'", run
    )
    unit = built.units["unit_id"][0]
    for path in (heavy_csv / "cards" / "zh" / f"{unit}.html", heavy_csv / "leadership_summary.zh.html"):
        banner = banner_text(path)
        assert all(m in banner for m in errors["message_zh"]), path
        assert not any(m in banner for m in errors["message"]), path
    for path in (heavy_csv / "cards" / "en" / f"{unit}.html", heavy_csv / "leadership_summary.en.html"):
        banner = banner_text(path)
        assert all(m in banner for m in errors["message"]) and not has_cjk(banner), path


def banner_text(path: Path) -> str:
    html_text = path.read_text(encoding="utf-8")
    start = html_text.index('id="lint-warning">')
    return html.unescape(html_text[start : html_text.index("</div>", start)])


def section(html_text: str, table_id: str) -> str:
    start = html_text.index(f"id='{table_id}'")
    return html_text[start : html_text.index("</table>", start)]


def cells(row_html: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html)
    ]


@pytest.fixture(scope="module")
def demo_csv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_csv")
    export_run(built.db, built.runs["demo_2026"], fmt="csv", out=out)
    return out


def test_card_flags_show_label_and_the_languages_evidence(built: Built, demo_csv: Path) -> None:
    flags = stored(
        built, "SELECT unit_id, flag, evidence_zh, evidence FROM run_flags WHERE run_id = ?",
        built.runs["demo_2026"],
    )
    assert {"show_off", "small_sample"} <= set(flags["flag"])
    for flag in ("show_off", "small_sample"):
        unit, _, zh_part, en_part = flags.filter(pl.col("flag") == flag).row(0)
        assert " | " not in zh_part and " | " not in en_part  # two columns, nothing to split
        for lang, own, other in (("zh", zh_part, en_part), ("en", en_part, zh_part)):
            card = html.unescape((demo_csv / "cards" / lang / f"{unit}.html").read_text("utf-8"))
            listed = card[card.index(FLAGS_HEADING[lang]) :]
            name = label(Group.flag, flag, lang)
            assert name != flag and f"<b>{name}</b>" in listed
            assert f"<b>{flag}</b>" not in listed
            assert own in listed and other not in listed


FLAGS_HEADING = {"zh": "预警提示", "en": "Flags"}


def test_card_contributions_add_up_to_the_base_score(built: Built, demo_csv: Path) -> None:
    run = built.runs["demo_2026"]
    scores = stored(built, "SELECT unit_id, base_score FROM run_scores WHERE run_id = ?", run)
    decimals = 2 + 2  # demo scale: 2 decimals; contributions get two more
    for unit_id, base in scores.head(15).iter_rows():
        card = (demo_csv / "cards" / "en" / f"{unit_id}.html").read_text("utf-8")
        table = section(card, "indicators")
        body = table[table.index("<tbody>") : table.index("</tbody>")]
        last = [cells(r)[-1].replace(",", "") for r in re.findall(r"<tr>(.*?)</tr>", body)]
        shown = [float(v) for v in last if v != "—"]  # a missing indicator contributes nothing
        assert all(len(f"{v:.10f}".rstrip("0").split(".")[1]) <= decimals for v in shown)
        total = float(cells(table[table.index("<tfoot>") :])[-1].replace(",", ""))
        assert total == round(base, decimals)
        assert abs(sum(shown) - base) <= len(shown) * 0.5 * 10**-decimals + 1e-9
        assert "add up to the weighted base score" in card


def test_summary_showoff_table_has_headers_labels_and_one_language(built: Built, demo_csv: Path) -> None:
    flagged = stored(
        built,
        "SELECT evidence FROM run_flags WHERE run_id = ? AND flag = 'show_off'",
        built.runs["demo_2026"],
    )
    assert flagged.height
    for lang, head in (("zh", ["排名", "单位", "依据"]), ("en", ["Rank", "Unit", "Why"])):
        lead = (demo_csv / f"leadership_summary.{lang}.html").read_text("utf-8")
        table = section(lead, "showoff")
        assert cells(table[table.index("<thead>") : table.index("</thead>")]) == head
        text_shown = html.unescape(table)
        assert " | " not in text_shown
        if lang == "en":
            assert not any(has_cjk(c) for r in re.findall(r"<tr>(.*?)</tr>", table)[1:] for c in cells(r)[2:])
        assert "<td class='name'>" in table  # unit names never wrap per character


def test_summary_lists_each_unit_once_when_there_are_few(tmp_path: Path) -> None:
    small = build_demo(tmp_path / "small.duckdb", units=9, periods=("2026",))
    out = tmp_path / "out"
    export_run(small.db, fmt="csv", out=out, cards=False)
    lead = (out / "leadership_summary.en.html").read_text("utf-8")
    listed = []
    for table_id in ("top", "bottom"):
        body = section(lead, table_id).split("<tbody>")[1]
        listed += [cells(r)[1] for r in re.findall(r"<tr>(.*?)</tr>", body)]
    assert len(listed) == len(set(listed)) == 9
    assert "Top 5" in lead and "Bottom 4" in lead


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=20))
def test_league_sizes_never_overlap(units: int, k: int) -> None:
    top, bottom = league_sizes(units, k)
    assert top + bottom <= units and top <= k and bottom <= k
    assert top + bottom == min(units, 2 * k)
    assert bottom <= top <= bottom + 1 or top == k


def test_summary_banner_names_a_few_lint_errors_and_counts_the_rest(built: Built) -> None:
    con = connect(built.db, read_only=True)
    try:
        run = resolve_run(con, built.runs["heavy_2026"])
        assert run.lint_errors >= 1
        for lang, more in (("en", "more in the “lint” sheet"), ("zh", "见“方案体检”表")):
            ctx = ExportContext(con, run, None, lang=lang)
            full = lint_warning(ctx)
            assert more not in full
            assert lint_warning(ctx, limit=run.lint_errors) == full
            short = lint_warning(ctx, limit=0)
            assert f"{run.lint_errors} " in short and more in short and len(short) < len(full)
    finally:
        con.close()
