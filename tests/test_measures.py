"""The measure registry, the linter's one duplicate-request function, and the other offices'
schemes shipped beside the demo scheme."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.lint import lint_scheme
from evaluator.lint.requests import repeated_requests
from evaluator.readmodel import duplicate_table
from evaluator.scheme import SchemeInvalid, load_scheme
from evaluator.scheme.measures import find_registry, load_registry
from evaluator.scoring import score_run
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
INDICATORS = ROOT / "indicators"
REGISTRY = INDICATORS / "measures.yaml"
OFFICES = [INDICATORS / "demo_township.yaml", INDICATORS / "discipline_township.yaml",
           INDICATORS / "civil_affairs_township.yaml"]
BESIDE = [*OFFICES, INDICATORS / "department.yaml"]  # every scheme the registry applies to
runner = CliRunner()

GOOD = """\
measures:
  - id: m_a
    name: {zh: 甲, en: A}
    definition: {zh: 甲的定义, en: Definition of A}
    unit: {zh: 次, en: times}
    owner: {zh: 办公室, en: Office}
    origin: unit
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the registry


def test_shipped_registry_validates_and_covers_every_shipped_scheme() -> None:
    result = runner.invoke(app, ["validate", str(REGISTRY)])
    assert result.exit_code == 0, result.output
    assert "measure registry, 23 measures" in result.output
    result = runner.invoke(app, ["lint", str(REGISTRY)])
    assert result.exit_code == 2 and "measure registry, not a scheme" in result.output
    reg = load_registry(REGISTRY)
    assert not reg.likely_duplicates()
    for path in BESIDE:
        assert find_registry(path) == REGISTRY
        report = lint_scheme(load_scheme(path), registry=reg)
        assert not report.has_errors, [f.message for f in report.errors]
        assert not [f for f in report.findings if f.rule == "unregistered_measure"]


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (GOOD.replace("    origin: unit\n", "    orign: unit\n"), 7, "unknown key 'orign': did you mean "
     "'origin'?"),
    (GOOD.replace("origin: unit", "origin: units"), 7, "unknown value 'units': did you mean 'unit'?"),
    (GOOD.replace("    unit: {zh: 次, en: times}\n", "    unit: times\n"), 5,
     "expected a bilingual text"),
    (GOOD + "    min: 5\n    max: 1\n", 2, "max (1.0) must be greater than min (5.0)"),
    (GOOD + GOOD.replace("measures:\n", ""), 8, "measure id 'm_a' is already registered"),
    ("measures: [\n", None, "not valid YAML"),
])
def test_registry_errors_are_located(tmp_path: Path, text: str, line: int | None,
                                     fragment: str) -> None:
    path = write(tmp_path / "measures.yaml", text)
    with pytest.raises(SchemeInvalid) as exc:
        load_registry(path)
    assert any(fragment in i.message and (line is None or i.line == line) for i in exc.value.issues), (
        [str(i) for i in exc.value.issues])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_near_identical_definitions_are_likely_duplicates(tmp_path: Path) -> None:
    twin = GOOD.replace("measures:\n", "").replace("m_a", "m_b").replace(
        "Definition of A", "Definition of A.").replace("甲的定义", "甲的定义。")
    other = twin.replace("m_b", "m_c").replace("Definition of A.", "Something else entirely").replace(
        "甲的定义。", "完全不同的东西")
    path = write(tmp_path / "measures.yaml", GOOD + twin + other)
    dups = load_registry(path).likely_duplicates()
    assert [(d.first, d.second) for d in dups] == [("m_a", "m_b")]
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and "'m_a' and 'm_b' have near-identical definitions" in result.output


def test_unregistered_measure_warns_only_when_a_registry_applies(tmp_path: Path) -> None:
    scheme = tmp_path / "s.yaml"
    shutil.copy(INDICATORS / "discipline_township.yaml", scheme)
    text = scheme.read_text(encoding="utf-8").replace("petition_cases_per_10k", "petition_case_per_10k")
    write(scheme, text)
    # no registry beside it: nothing
    result = runner.invoke(app, ["lint", str(scheme), "--format", "json"])
    assert result.exit_code == 0
    assert not [f for f in json.loads(result.output)["findings"] if f["rule"] == "unregistered_measure"]
    # --registry, or measures.yaml beside the scheme: a warning at the indicator's source line
    for args in (["--registry", str(REGISTRY)], []):
        if not args:
            shutil.copy(REGISTRY, tmp_path / "measures.yaml")
        result = runner.invoke(app, ["lint", str(scheme), "--format", "json", *args])
        assert result.exit_code == 0, result.output
        [f] = [f for f in json.loads(result.output)["findings"] if f["rule"] == "unregistered_measure"]
        assert f["severity"] == "warning" and f["indicator"] == "petitions"
        assert "did you mean 'petition_cases_per_10k'" in f["message"]
        assert "petition_case_per_10k" in f["message_zh"]
        line = next(n for n, t in enumerate(text.splitlines(), 1) if "petition_case_per_10k" in t)
        assert f["line"] == line
    write(tmp_path / "measures.yaml", "measures: 3\n")
    result = runner.invoke(app, ["lint", str(scheme)])
    assert result.exit_code == 2 and "measures.yaml:1" in result.output


# --------------------------------------------------------------------------- one duplicate function


def test_lint_and_scheme_health_agree_on_duplicates_item_by_item(tmp_path: Path) -> None:
    """Two survey indicators sharing one question of different lists: both the linter and the
    Scheme health table report that question (the page compared whole lists and saw nothing)."""
    text = (INDICATORS / "demo_township.yaml").read_text(encoding="utf-8").replace(
        "source: {questions: [q_fairness], scale: {min: 1, max: 5}}",
        "source: {questions: [q_fairness, q_overall], scale: {min: 1, max: 5}}")
    loaded = load_scheme(write(tmp_path / "s.yaml", text))
    [rep] = repeated_requests([loaded.scheme])
    assert (rep.kind, rep.item, [r.indicator_id for r in rep.requests]) == (
        "question", "q_overall", ["sat_overall", "sat_fairness"])
    found = [f for f in lint_scheme(loaded).findings if f.rule == "duplicate_data_request"]
    assert [f.indicator for f in found] == ["sat_fairness"] and "q_overall" in found[0].message
    table = duplicate_table([loaded.scheme], "en")
    assert table.to_dicts() == [{"source": "survey question: q_overall",
                                 "indicator_ids": "sat_overall, sat_fairness",
                                 "indicator_names": "Overall satisfaction, Satisfaction with fairness"}]
    assert duplicate_table([loaded.scheme], "zh")["source"].to_list() == ["问卷题目：q_overall"]


def test_shipped_offices_share_measures() -> None:
    schemes = [load_scheme(p).scheme for p in OFFICES]
    shared = {r.item: r.scheme_ids for r in repeated_requests(schemes) if len(r.scheme_ids) > 1}
    assert shared["complaint_resolution_rate"] == [
        "demo_township", "discipline_township", "civil_affairs_township"]
    assert shared["meetings_held"] == ["demo_township", "discipline_township"]
    assert shared["documents_issued"] == ["demo_township", "civil_affairs_township"]


# --------------------------------------------------------------------------- scored on the demo data


def test_other_offices_score_on_the_demo_data(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        for path in OFFICES[1:]:
            loaded = load_scheme(path)
            run = score_run(con, loaded, "2026", publish_snapshot=False)
            n, scored, missing = con.execute(
                "SELECT count(DISTINCT unit_id), count(score), "
                "(SELECT count(*) FROM run_indicator_scores WHERE run_id = ? AND raw_value IS NULL) "
                "FROM run_scores WHERE run_id = ?", [run, run]).fetchall()[0]
            assert n == scored == 120, path.name
            assert missing < 0.05 * 120 * len(loaded.scheme.indicators()), path.name
    finally:
        con.close()
