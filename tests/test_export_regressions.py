"""Regressions from the acceptance test of the exports (zh text, flags, summary layout, manifest)."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from test_export_fixtures import Built, copy_demo

from evaluator.export import export_run
from evaluator.export.manifest import verify_manifest


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
    lint = pl.read_excel(tmp_path / "results.xlsx", sheet_name="lint")
    assert lint.columns == ["检查规则", "严重程度", "指标", "说明"]
    want = stored(built, "SELECT severity, message_zh FROM run_lint WHERE run_id = ?", run)
    assert want.height == lint.height and want["message_zh"].null_count() == 0
    assert set(lint["严重程度"]) <= {"错误", "警告", "提示"} and "错误" in set(lint["严重程度"])
    assert sorted(lint["说明"]) == sorted(want["message_zh"])
    assert all(has_cjk(m) for m in lint["说明"])
    flags = pl.read_excel(tmp_path / "results.xlsx", sheet_name="flags")
    assert flags.columns == ["单位编码", "标记", "依据说明"]
    breakdown = pl.read_excel(tmp_path / "results.xlsx", sheet_name="breakdown")
    assert "证据类型" in breakdown.columns and "计分规则" in breakdown.columns
    method = pl.read_excel(tmp_path / "results.xlsx", sheet_name="methodology")
    errors = method.filter(pl.col("项目").str.starts_with("lint_error_"))["数值"]
    assert errors.len() == (want["severity"] == "error").sum()
    assert all(has_cjk(m) for m in errors)
    summary = pl.read_excel(tmp_path / "results.xlsx", sheet_name="summary")
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
