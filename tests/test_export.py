"""Round trips: every number in the XLSX/CSV/Parquet export equals the stored run.

The runs are real: data loaded into a fresh DB and scored by `evaluator.scoring.score_run`.
"""

from __future__ import annotations

import io
import json
import math
import warnings
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from helpers.exports import Built, copy_demo
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.export import ExportError, export_run
from evaluator.export.manifest import sha256_file, verify_manifest
from evaluator.export.summary import SHOWOFF_K

# (sheet/table, DB table, key columns, numeric columns compared)
CHECKS = [
    (
        "summary",
        "run_scores",
        ["unit_id"],
        [
            "score",
            "base_score",
            "bonus",
            "deduction",
            "rank",
            "peer_rank",
            "score_declared",
            "rank_declared",
            "coverage",
        ],
    ),
    (
        "breakdown",
        "run_indicator_scores",
        ["unit_id", "indicator_id"],
        [
            "raw_value",
            "transformed_value",
            "score",
            "declared_weight",
            "weight",
            "local_weight",
            "contribution",
        ],
    ),
    (
        "dimensions",
        "run_dimension_scores",
        ["unit_id", "dimension_id"],
        ["depth", "score", "weight", "contribution"],
    ),
    (
        "survey_quality",
        "run_survey_quality",
        ["unit_id", "indicator_id"],
        [
            "responses",
            "valid",
            "effective_n",
            "raw_index",
            "index_value",
            "se",
            "ci_low",
            "ci_high",
            "top_box_share",
            "shrinkage",
        ],
    ),
    ("scheme", "run_weights", ["node_id"], ["declared_weight", "effective_weight"]),
]


@pytest.fixture(scope="module")
def built(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Built:  # type: ignore[no-untyped-def]
    return copy_demo(demo_build, tmp_path_factory.mktemp("export"))


def db_frame(built: Built, table: str, run_id: str) -> pl.DataFrame:
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table} WHERE run_id = ?", params=[run_id]).pl()
    finally:
        con.close()


def assert_numbers_equal(
    got: pl.DataFrame, want: pl.DataFrame, keys: list[str], columns: list[str], rel: float = 0.0
) -> int:
    """Each value of `columns` in `got` equals the DB's (nulls too); returns cells compared."""
    assert got.height == want.height, f"{got.height} rows exported, {want.height} stored"
    joined = want.select(keys + columns).join(
        got.select(keys + columns), on=keys, how="left", suffix="_got"
    )
    compared = 0
    for col in columns:
        for stored, exported in zip(
            joined[col].to_list(), joined[f"{col}_got"].to_list(), strict=True
        ):
            if stored is None or (isinstance(stored, float) and math.isnan(stored)):
                assert exported is None or (isinstance(exported, float) and math.isnan(exported)), (
                    col
                )
            else:
                assert exported is not None, f"{col}: stored {stored}, exported empty"
                assert math.isclose(float(exported), float(stored), rel_tol=rel, abs_tol=0.0), (
                    f"{col}: stored {stored!r}, exported {exported!r}"
                )
            compared += 1
    return compared


def test_xlsx_round_trip_polars_and_openpyxl(built: Built, tmp_path: Path) -> None:
    run = built.runs["demo_2026"]
    res = export_run(built.db, run, fmt="xlsx", out=tmp_path)
    book = tmp_path / "results.xlsx"
    assert res.run_id == run and book in res.files
    total = 0
    for sheet, table, keys, cols in CHECKS:
        got = pl.read_excel(book, sheet_name=sheet)
        # xlsxwriter writes 16 significant digits: equal to within one part in 1e14
        total += assert_numbers_equal(got, db_frame(built, table, run), keys, cols, rel=1e-14)
    assert total > 2000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # openpyxl warns on anything it must repair
        wb = openpyxl.load_workbook(book, read_only=True)
    ws = wb["summary"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    assert wb.sheetnames[0] == "summary" and {"unit_id", "score", "rank", "grade"} <= set(head)
    stored = {
        u: (s, r, g)
        for u, s, r, g in db_frame(built, "run_scores", run)
        .select("unit_id", "score", "rank", "grade")
        .iter_rows()
    }
    seen = {
        row[head.index("unit_id")]: (
            row[head.index("score")],
            row[head.index("rank")],
            row[head.index("grade")],
        )
        for row in rows[1:]
    }
    assert seen == stored
    assert "methodology" in wb.sheetnames and "appeals" in wb.sheetnames


def test_xlsx_chinese_headers(built: Built, tmp_path: Path) -> None:
    export_run(
        built.db,
        built.runs["demo_2026"],
        fmt="xlsx",
        out=tmp_path,
        lang="zh",
        cards=False,
        summary=False,
    )
    wb = openpyxl.load_workbook(tmp_path / "results.xlsx", read_only=True)
    assert wb.sheetnames == ["汇总", "指标明细", "维度得分", "满意度调查质量", "预警", "漏斗图数据",
                             "增值评价", "指标体系", "计分参照值", "方案体检", "申诉", "方法说明",
                             "排名可靠性", "去掉指标的影响"]
    got = pl.read_excel(tmp_path / "results.xlsx", sheet_name="汇总")
    assert got.columns[:2] == ["单位编码", "单位名称"] and "得分" in got.columns


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_round_trip_is_exact(built: Built, tmp_path: Path, encoding: str) -> None:
    run = built.runs["demo_2026"]
    export_run(
        built.db, run, fmt="csv", out=tmp_path, encoding=encoding, cards=False, summary=False
    )
    raw = (tmp_path / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    for sheet, table, keys, cols in CHECKS:
        text = (tmp_path / f"{sheet}.csv").read_bytes().decode(encoding)
        got = pl.read_csv(
            io.StringIO(text),
            infer_schema_length=None,
            schema_overrides={k: pl.String for k in keys},
        )
        assert_numbers_equal(got, db_frame(built, table, run), keys, cols)
    names = pl.read_csv(io.StringIO(raw.decode(encoding)), schema_overrides={"unit_id": pl.String})
    assert names.sort("unit_id")["unit_name"].to_list() == built.units["name"].to_list()


def test_parquet_round_trip_is_exact(built: Built, tmp_path: Path) -> None:
    run = built.runs["demo_2025"]
    export_run(built.db, run, fmt="parquet", out=tmp_path, cards=False, summary=False)
    for sheet, table, keys, cols in CHECKS:
        got = pl.read_parquet(tmp_path / f"{sheet}.parquet")
        assert_numbers_equal(got, db_frame(built, table, run), keys, cols)


def test_manifest_covers_every_file_with_its_sha256(built: Built, tmp_path: Path) -> None:
    res = export_run(built.db, None, fmt="csv", out=tmp_path)
    manifest = json.loads(res.manifest.read_text(encoding="utf-8"))
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == on_disk - {"manifest.json"}
    assert all(sha256_file(tmp_path / p) == h for p, h in listed.items())
    assert manifest["run_id"] == built.runs["heavy_2026"]  # latest run when --run is left out
    assert verify_manifest(tmp_path) == []
    (tmp_path / "summary.csv").write_text("tampered", encoding="utf-8")
    assert verify_manifest(tmp_path) == ["summary.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial")]


@pytest.mark.slow
def test_large_breakdown_is_split_across_sheets_and_written_as_parquet(
    built: Built, tmp_path: Path
) -> None:
    run = built.runs["demo_2026"]
    res = export_run(
        built.db, run, fmt="xlsx", out=tmp_path, max_sheet_rows=100, cards=False, summary=False
    )
    stored = db_frame(built, "run_indicator_scores", run)
    wb = openpyxl.load_workbook(tmp_path / "results.xlsx", read_only=True)
    parts = [s for s in wb.sheetnames if s.startswith("breakdown")]
    assert parts == ["breakdown"] + [f"breakdown_{i}" for i in range(2, len(parts) + 1)]
    assert len(parts) == -(-stored.height // 100)
    assert all(wb[s].max_row <= 101 for s in parts)
    got = pl.concat([pl.read_excel(tmp_path / "results.xlsx", sheet_name=s) for s in parts])
    assert_numbers_equal(
        got, stored, ["unit_id", "indicator_id"], ["score", "contribution"], rel=1e-14
    )
    pq = pl.read_parquet(tmp_path / "breakdown.parquet")
    assert_numbers_equal(pq, stored, ["unit_id", "indicator_id"], ["score", "contribution"])
    assert res.notes and "breakdown.parquet" in res.notes[0]
    method = pl.read_excel(tmp_path / "results.xlsx", sheet_name="methodology")
    assert (
        method.filter(pl.col("section") == "notes")["value"].str.contains("breakdown.parquet").all()
    )
    full = openpyxl.load_workbook(tmp_path / "results.xlsx")
    assert "breakdown.parquet" in full["summary"]["A1"].comment.text


@pytest.mark.slow
def test_lint_errors_are_said_on_summary_methodology_and_every_card(
    built: Built, tmp_path: Path
) -> None:
    res = export_run(built.db, built.runs["heavy_2026"], fmt="xlsx", out=tmp_path)
    summary = pl.read_excel(tmp_path / "results.xlsx", sheet_name="summary")
    assert summary["scheme_warning"].str.starts_with("Scored under a scheme with formalism").all()
    wb = openpyxl.load_workbook(tmp_path / "results.xlsx")
    assert "formalism problems" in wb["summary"]["A1"].comment.text
    assert "formalism problems" in wb["methodology"]["A1"].comment.text
    method = pl.read_excel(tmp_path / "results.xlsx", sheet_name="methodology")
    assert method.filter(pl.col("key") == "scheme_warning").height == 1
    cards = [f for f in res.files if "cards" in f.parts]
    assert len(cards) == 2 * built.units.height
    assert all('id="lint-warning"' in f.read_text(encoding="utf-8") for f in cards)
    first = built.units["unit_id"][0]
    zh = (tmp_path / "cards" / "zh" / f"{first}.html").read_text(encoding="utf-8")
    assert "形式主义问题" in zh


def test_clean_scheme_has_no_warning(built: Built, tmp_path: Path) -> None:
    export_run(built.db, built.runs["demo_2026"], fmt="csv", out=tmp_path)
    assert (
        pl.read_csv(tmp_path / "summary.csv")["scheme_warning"].null_count() == built.units.height
    )
    assert all(
        "lint-warning" not in f.read_text(encoding="utf-8")
        for f in (tmp_path / "cards" / "en").iterdir()
    )


def test_cards_and_summary_show_stored_figures(built: Built, tmp_path: Path) -> None:
    run = built.runs["demo_2026"]
    export_run(built.db, run, fmt="parquet", out=tmp_path)
    scores = db_frame(built, "run_scores", run)
    for unit_id, score, rank in scores.select("unit_id", "score", "rank").iter_rows():
        card = (tmp_path / "cards" / "en" / f"{unit_id}.html").read_text(encoding="utf-8")
        assert f'<span id="score">{score:,.2f}' in card
        assert f"of {scores.height} units" in card and f'<div class="v">{rank}<' in card
    lead = (tmp_path / "leadership_summary.en.html").read_text(encoding="utf-8")
    prev = db_frame(built, "run_scores", built.runs["demo_2025"]).select("unit_id", "score")
    change = (
        scores.join(prev, on="unit_id", suffix="_prev")
        .with_columns((pl.col("score") - pl.col("score_prev")).alias("d"))
        .sort("d", descending=True)
    )
    assert "Biggest movers (2025 → 2026)" in lead
    assert f"{change['d'][0]:+.2f}" in lead and f"{change['d'][-1]:+.2f}" in lead
    flagged = (
        db_frame(built, "run_flags", run)
        .filter(pl.col("flag") == "show_off")
        .join(scores.select("unit_id", "rank"), on="unit_id")
        .sort("rank")
    )
    assert flagged.height
    showoff = lead.split("Show-off flags")[1]
    for i, unit_id in enumerate(flagged["unit_id"]):  # the best-ranked SHOWOFF_K are listed
        name = built.units.filter(pl.col("unit_id") == unit_id)["name"][0]
        assert (name in showoff) == (i < SHOWOFF_K), name
    if flagged.height > SHOWOFF_K:
        assert f"{flagged.height - SHOWOFF_K} more unit(s) flagged" in showoff
    assert "年度考核结果领导摘要" in (tmp_path / "leadership_summary.zh.html").read_text("utf-8")


def test_cli_export_contract(built: Built, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "x"
    res = runner.invoke(
        app, ["export", "--db", str(built.db), "--format", "xlsx", "--out", str(out), "--no-cards"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "results.xlsx").exists() and (out / "manifest.json").exists()
    assert not (out / "cards").exists() and (out / "leadership_summary.en.html").exists()
    bad = runner.invoke(
        app,
        [
            "export",
            "--db",
            str(built.db),
            "--run",
            "nope",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert bad.exit_code == 1 and "no run 'nope'" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(
        app,
        [
            "export",
            "--db",
            str(tmp_path / "none.duckdb"),
            "--format",
            "csv",
            "--out",
            str(tmp_path / "z"),
        ],
    )
    assert missing.exit_code == 1 and "no such database" in missing.output


def test_export_errors_are_clear(built: Built, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot create the output folder"):
        export_run(built.db, None, fmt="csv", out=blocker / "sub")
    with pytest.raises(ExportError, match="unknown format"):
        export_run(built.db, None, fmt="docx", out=tmp_path)
    empty = tmp_path / "empty.duckdb"
    from evaluator.store import connect

    connect(empty).close()
    with pytest.raises(ExportError, match="no runs yet"):
        export_run(empty, None, fmt="csv", out=tmp_path / "o")


def test_a_temporary_folder_that_fails_is_named(built: Built, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The workbook's sheet rows are written to the temporary folder first: when it fails
    (here it does not exist; on a full disk, ENOSPC), the error names it and nothing is
    published."""
    import tempfile

    gone = tmp_path / "no-such-tmp"
    monkeypatch.setattr(tempfile, "tempdir", str(gone))
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="nothing was published") as failed:
        export_run(built.db, None, fmt="xlsx", out=out, cards=False, summary=False)
    assert f"temporary folder {gone}" in str(failed.value)
    assert not any(out.iterdir())


def test_xlsx_summary_equals_scores_csv(built: Built, tmp_path: Path) -> None:
    """CONTRACT: the summary sheet's unit_id and score are those of `score --out`'s scores.csv."""
    from evaluator.runs import write_outputs

    run = built.runs["demo_2026"]
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        write_outputs(con, run, tmp_path / "score_out")
    finally:
        con.close()
    scores = pl.read_csv(tmp_path / "score_out" / "scores.csv",
                         schema_overrides={"unit_id": pl.String})
    export_run(built.db, run[:-3], fmt="xlsx", out=tmp_path / "x", cards=False, summary=False)
    sheet = pl.read_excel(tmp_path / "x" / "results.xlsx", sheet_name="summary")
    assert sheet.select("unit_id", "score", "rank", "grade").equals(
        scores.select("unit_id", "score", "rank", "grade"))
