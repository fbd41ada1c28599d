"""`evaluator check`: gaps found before scoring match what the demo generator left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.ingest import DATA, cli, ingest, load_base

from evaluator.completeness import check_completeness
from evaluator.demo import DEMO_SCHEME, INGEST_ORDER
from evaluator.demo_data import generate
from evaluator.pseudonym import ENV_VAR
from evaluator.scheme import load_scheme
from evaluator.store import connect

TINY_SCHEME = """
id: tiny
name: {zh: 小方案, en: Tiny scheme}
year: 2026
unit_types: [township]
survey: {min_sample: 1}
dimensions:
  - id: all
    name: {zh: 全部, en: All}
    indicators:
      - id: income
        name: {zh: 收入增速, en: Income growth}
        evidence: outcome
        source: {measure: income_growth_pct}
        rule: {type: target}
      - id: sat
        name: {zh: 满意度, en: Satisfaction}
        evidence: satisfaction
        source: {questions: [q_overall], scale: {min: 1, max: 5}}
        rule: {type: direct}
"""


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cc")
    files = generate(root / "demo", units=40, seed=11)
    db = root / "cc.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, "cc")
        for kind in INGEST_ORDER:
            result = ingest(db, kind, files.path(kind))
            assert result.exit_code == 0, result.output
    return db, files


@pytest.mark.parametrize("period", ["2025", "2026"])
def test_gaps_match_the_planted_truth(demo_db, period: str) -> None:
    db, files = demo_db
    con = connect(db, read_only=True)
    report = check_completeness(con, load_scheme(DEMO_SCHEME), period)
    con.close()
    assert report.units == 40
    truth = {(m["unit_id"], m["measure"], m["kind"]) for m in files.truth["missing"]
             if m["period"] == period}
    found = {(g.unit_id, g.source, g.kind) for g in report.missing}
    assert found == truth
    small = {(g.unit_id, g.kind) for g in report.small_samples}
    assert small == {(u, "small_sample") for u in files.truth["small_sample"]}
    assert len(report.small_samples) == 4 * len(files.truth["small_sample"])  # 4 indicators
    assert all(g.have < g.need == 30 for g in report.small_samples)
    assert not report.ok


def test_a_quarter_or_month_is_checked_on_its_own(demo_db) -> None:
    db, files = demo_db
    con = connect(db, read_only=True)
    report = check_completeness(con, load_scheme(DEMO_SCHEME), "2026Q1")
    con.close()
    per_measure: dict[str, int] = {}
    for g in report.missing:
        per_measure[g.source] = per_measure.get(g.source, 0) + 1
    # annual measures have no 2026Q1 value: every unit lacks them for that period
    assert per_measure["income_growth_pct"] == 40
    # quarterly values match the quarter, monthly ones its three months; only dropped blocks lack
    dropped = {(m["unit_id"], m["measure"]) for m in files.truth["missing"]
               if m["period"] == "2026" and m["kind"] == "missing"}
    for measure in ("clinic_wait_minutes", "hotline_response_hours", "meetings_held"):
        lacking = {g.unit_id for g in report.missing if g.source == measure}
        assert lacking == {u for u, m in dropped if m == measure}, measure
    assert all(g.need == 1 and g.kind == "missing" for g in report.missing)


def test_check_command_informs_and_strict_fails(demo_db) -> None:
    db, _ = demo_db
    result = cli("check", "--db", db, "--scheme", DEMO_SCHEME, "--period", "2026")
    assert result.exit_code == 0, result.output
    assert "by indicator" in result.output and "small_sample" not in result.output
    assert "样本量不足" in result.output
    strict = cli("check", "--db", db, "--scheme", DEMO_SCHEME, "--period", "2026", "--strict")
    assert strict.exit_code == 1


def test_complete_data_passes_strict(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    load_base(db)
    scheme = tmp_path / "tiny.yaml"
    scheme.write_text(TINY_SCHEME, encoding="utf-8")
    no_targets = cli("check", "--db", db, "--scheme", scheme, "--period", "2026", "--strict")
    assert no_targets.exit_code == 1  # income uses a target rule and no targets are loaded yet
    assert "No target" in no_targets.output
    more = tmp_path / "more.csv"
    more.write_text("unit_id,period,measure,value\n0202,2026,income_growth_pct,3.1\n"
                    "0201,2026,income_growth_pct,5.0\n")
    targets = tmp_path / "targets.csv"
    targets.write_text((DATA / "targets.csv").read_text()
                       + "0201,2026,income_growth_pct,6\n0202,2026,income_growth_pct,5\n")
    surveys = tmp_path / "s.csv"
    surveys.write_text("response_id,unit_id,period,question,answer\n" + "".join(
        f"R{u},{u},2026,q_overall,4\n" for u in ("0101", "0102", "0201", "0202")))
    for kind, path in (("outcomes", more), ("targets", targets), ("surveys", surveys)):
        result = ingest(db, kind, path)
        assert result.exit_code == 0, result.output
    ok = cli("check", "--db", db, "--scheme", scheme, "--period", "2026", "--strict")
    assert ok.exit_code == 0, ok.output
    assert "数据完整" in ok.output


def test_no_units_of_the_scheme_type(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    assert ingest(db, "questions", DATA / "questions.csv").exit_code == 0
    result = cli("check", "--db", db, "--scheme", DEMO_SCHEME, "--strict")
    assert result.exit_code == 1
    assert "no units of type township" in result.output


def test_check_on_a_missing_db_or_bad_scheme(tmp_path: Path) -> None:
    missing = cli("check", "--db", tmp_path / "none.duckdb", "--scheme", DEMO_SCHEME)
    assert missing.exit_code == 1 and "no such database" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n")
    db = tmp_path / "t.duckdb"
    load_base(db)
    result = cli("check", "--db", db, "--scheme", bad)
    assert result.exit_code == 1 and "invalid scheme" in result.output
