"""Run warnings (constant indicator, clamped z-scores, reweighting, low coverage): stored with the
run, printed by `evaluator score`, in the export's methodology and manifest, worded zh and en.
Every figure below is counted by hand from the files the test writes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.readmodel.scheme_health import run_warnings
from evaluator.scoring.warnings import display_names, read_warnings, summary_lines

SCHEME = """
id: warn
version: "1"
name: {zh: 提示, en: Warnings}
year: 2026
unit_types: [township]
limits: {min_satisfaction_share: 0}
dimensions:
  - id: results
    name: {zh: 实绩, en: Results}
    weight: 1
    indicators:
      - {id: same, name: {zh: 相同, en: Same}, evidence: outcome, weight: 1,
         source: {measure: same}, rule: {type: min_max}}
      - {id: spread, name: {zh: 离散, en: Spread}, evidence: outcome, weight: 1,
         source: {measure: spread}, rule: {type: zscore, spread: 40}}
      - {id: patchy, name: {zh: 残缺, en: Patchy}, evidence: outcome, weight: 4,
         source: {measure: patchy}, rule: {type: goalposts, lower: 0, upper: 10}}
"""

# spread: 0,0,0,0,0,0,10 → mean 10/7, sample sd 3.78; z of the 10 is 2.27 → 50 + 40·2.27 > 100
# (clamped); z of a 0 is −0.378 → 34.9 (not clamped). patchy: only 001 and 002 have it.
UNITS = ["001", "002", "003", "004", "005", "006", "007"]
SPREAD = [0, 0, 0, 0, 0, 0, 10]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    tmp = tmp_path_factory.mktemp("warn")
    (tmp / "units.csv").write_text(
        "unit_id,name,unit_type\n" + "".join(f"{u},U{u},township\n" for u in UNITS),
        encoding="utf-8")
    rows = [f"{u},2026,same,5" for u in UNITS]
    rows += [f"{u},2026,spread,{v}" for u, v in zip(UNITS, SPREAD, strict=True)]
    rows += ["001,2026,patchy,4", "002,2026,patchy,8"]
    (tmp / "outcomes.csv").write_text("unit_id,period,measure,value\n" + "\n".join(rows) + "\n",
                                      encoding="utf-8")
    (tmp / "scheme.yaml").write_text(SCHEME, encoding="utf-8")
    db = tmp / "w.duckdb"
    runner = CliRunner()
    for kind in ("units", "outcomes"):
        r = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind, str(tmp / f"{kind}.csv")])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(tmp / "scheme.yaml"),
                            "--period", "2026", "--out", str(tmp / "out")])
    assert r.exit_code == 0, r.output
    con = duckdb.connect(str(db), read_only=True)
    run_id = con.execute("SELECT run_id FROM runs").fetchall()[0][0]
    con.close()
    return db, run_id, r.output


def test_stored_with_the_run(scored: tuple[Path, str, str]) -> None:
    db, run_id, _ = scored
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = {(w.warning, w.node_id, w.unit_id): (w.n, w.of_n, w.value)
               for w in read_warnings(con, run_id)}
    finally:
        con.close()
    # weights 1:1:4 of 6 → a unit without `patchy` is scored on 2/6 = 33% < 2/3
    low = {("low_coverage", None, u): (None, None, pytest.approx(1 / 3)) for u in UNITS[2:]}
    assert got == {
        ("constant_indicator", "same", None): (7, 7, 5.0),
        ("zscore_clamped", "spread", None): (1, 7, None),
        ("reweighted", "patchy", None): (5, 7, None),
        **low,
    }


def test_printed_by_score_in_both_languages(scored: tuple[Path, str, str]) -> None:
    out = scored[2].replace("\n", " ")
    assert "run warnings / 结果提示: 8" in out
    assert "indicator 'Same': all 7 units have the same value (5)" in out
    assert "指标“相同”：全部 7 个单位数值相同（5）" in out
    assert "indicator 'Spread': 1 of 7 units' z-scores fell outside the scale" in out
    assert "indicator 'Patchy': 5 of 7 units have no value" in out
    assert "unit 'U003 (003)': scored on indicators carrying only 33% of the weight" in out
    assert "more of the same kind" not in out  # five low-coverage units: all shown


def test_long_lists_are_cut_per_kind(scored: tuple[Path, str, str]) -> None:
    db, run_id, _ = scored
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = read_warnings(con, run_id)
        lines = summary_lines(found, "en", per_kind=2, names=display_names(con, run_id, "en"))
    finally:
        con.close()
    assert lines[-3:] == ["unit 'U003 (003)': scored on indicators carrying only 33% of the "
                          "weight (below 67%); its score and rank rest on little data",
                          "unit 'U004 (004)': scored on indicators carrying only 33% of the "
                          "weight (below 67%); its score and rank rest on little data",
                          "… and 3 more of the same kind"]
    assert summary_lines(found, "zh", per_kind=2)[-1] == "……另有 3 条同类提示"


def test_in_the_export_methodology_and_manifest(scored: tuple[Path, str, str],
                                                tmp_path: Path) -> None:
    db, run_id, _ = scored
    r = CliRunner().invoke(app, ["export", "--db", str(db), "--format", "csv", "--out",
                                 str(tmp_path / "x"), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text(encoding="utf-8"))
    kinds = [w["warning"] for w in manifest["run_warnings"]]
    assert kinds == ["constant_indicator", "zscore_clamped", "reweighted"] + ["low_coverage"] * 5
    assert manifest["run_warnings"][0]["message_zh"].startswith("指标“相同”：全部 7 个单位")
    method = pl.read_csv(next((tmp_path / "x").glob("methodology*.csv")), infer_schema=False)
    rows = method.filter(pl.col("项目代码").str.starts_with("run_warning_"))  # zh headers
    assert rows.height == 8
    assert rows["项目"][0] == "结果提示 1"
    assert rows["数值"][2].startswith("指标“残缺”：5/7 个单位缺少数据，其权重已按比例分给其余指标")


def test_dashboard_read_model_words_them_in_the_page_language(
        scored: tuple[Path, str, str]) -> None:
    db, run_id, _ = scored
    con = duckdb.connect(str(db), read_only=True)
    try:
        zh, en = run_warnings(con, run_id, "zh"), run_warnings(con, run_id, "en")
    finally:
        con.close()
    assert zh.count == en.count == 8
    assert zh.all["warning_name"].to_list()[:3] == ["指标数值全部相同", "z 分数被截断",
                                                    "缺失数据重新分配权重"]
    assert en.summary[0].startswith("indicator 'Same': all 7 units")
    assert len(en.summary) == 8  # at most five a kind: five low-coverage units fit


def test_a_complete_run_has_none(tmp_path: Path) -> None:
    """The HDI of all 191 countries: no constant, no z-score, nothing missing → no warning."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    runner, db = CliRunner(), str(tmp_path / "h.duckdb")
    for kind in ("units", "outcomes"):
        r = runner.invoke(app, ["ingest", "--db", db, "--kind", kind,
                                str(examples / "hdi-full" / f"{kind}.csv")])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["score", "--db", db, "--scheme",
                            str(examples / "hdi" / "scheme.yaml"), "--period", "2021"])
    assert r.exit_code == 0, r.output
    assert "run warnings" not in r.output
    con = duckdb.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM run_warnings").fetchall() == [(0,)]
    finally:
        con.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_scheme_health_page_shows_them(monkeypatch: pytest.MonkeyPatch, lang: str,
                                           scored: tuple[Path, str, str]) -> None:
    """The real Streamlit page on the run's snapshot (published by `score`)."""
    from helpers.dashboard import run_page

    at = run_page(monkeypatch, scored[0], "scheme", lang)
    shown = "\n".join(w.value for w in at.warning)
    if lang == "zh":
        assert "- 指标“相同”：全部 7 个单位数值相同（5）" in shown
        assert "单位“U007（007）”：仅有占总权重 33% 的指标有数据" in shown
    else:
        assert "- indicator 'Same': all 7 units have the same value (5)" in shown
        assert "unit 'U007 (007)': scored on indicators carrying only 33%" in shown
    assert "indicator 'Same'" not in shown if lang == "zh" else "相同" not in shown


def test_what_scoring_reads_from_its_tables_equals_the_stored_rows(demo_db: Path) -> None:
    """A run computes its flags and warnings from the engine's tables; read back from the
    stored run (the queries' default), they are the same rows."""
    from evaluator.scheme import load_scheme
    from evaluator.scoring.engine import DuckDBEngine
    from evaluator.scoring.flags import FLAG_COLUMNS, flag_rows
    from evaluator.scoring.warnings import COLUMNS, warnings_output

    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        run, path = con.execute("SELECT run_id, scheme_id FROM runs ORDER BY created_at DESC "
                                "LIMIT 1").fetchall()[0]
        scheme = load_scheme(Path(__file__).resolve().parents[1] / f"indicators/{path}.yaml")
        engine = DuckDBEngine(con)
        for table, columns, query in (
                ("run_flags", FLAG_COLUMNS, flag_rows(scheme.scheme, run)),
                ("run_warnings", COLUMNS, warnings_output(run).query)):
            stored = con.sql(f"SELECT {', '.join(columns[1:])} FROM {table} WHERE run_id = $r "
                             "ORDER BY ALL", params={"r": run}).pl()
            again = engine.fetch_polars(query).drop(pl.first()).sort(pl.all())
            assert stored.height > 0, table
            assert again.rows() == stored.rows(), table
    finally:
        con.close()
