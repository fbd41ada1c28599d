"""The formalism linter: each rule on a scheme built to trigger it, the shipped schemes, the CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.labels import Group, codes
from evaluator.lint import LintReport, Severity, builtin_rules, lint_scheme, rule_ids
from evaluator.lint.docs import rules_markdown
from evaluator.lint.lexicon import default_lexicon, english_pattern
from evaluator.scheme import load_scheme

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "indicators" / "demo_township.yaml"
TRACE_HEAVY = ROOT / "indicators" / "examples" / "trace_heavy.yaml"
DEPARTMENT = ROOT / "indicators" / "department.yaml"
runner = CliRunner()


# --------------------------------------------------------------------------- scheme builders


def ind(id_: str, evidence: str = "outcome", weight: float = 1.0, **extra: Any) -> dict[str, Any]:
    """A valid indicator; `extra` overrides any key."""
    base: dict[str, Any] = {
        "id": id_,
        "name": {"zh": f"指标{id_}", "en": f"Indicator {id_}"},
        "evidence": evidence,
        "source": {"measure": f"m_{id_}"},
        "rule": {"type": "min_max"},
        "burden_minutes": 10,
        "weight": weight,
    }
    if evidence == "satisfaction":
        base["source"] = {"questions": [f"q_{id_}"], "scale": {"min": 1, "max": 5}}
        base["rule"] = {"type": "direct"}
        base["burden_minutes"] = 0
    if evidence == "trace":
        base["rule"] = {"type": "pass_fail", "threshold": 1}
    base.update(extra)
    return base


def scheme(*dims: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "id": "t", "name": {"zh": "测试", "en": "Test"}, "year": 2026, "unit_types": ["township"],
        "dimensions": list(dims), **top,
    }  # fmt: skip


def dim(id_: str, *indicators: dict[str, Any], weight: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "name": {"zh": f"维度{id_}", "en": f"Dim {id_}"}, "weight": weight,
            "indicators": list(indicators), **extra}


def healthy() -> dict[str, Any]:
    """Outcome-first, satisfaction 40%, one linked trace at 5%: lints without warnings."""
    return scheme(
        dim("results", ind("income", weight=30), ind("safety", weight=20, direction="lower",
            rule={"type": "goalposts", "lower": 0, "upper": 10}), weight=55),
        dim("sat", ind("sat_all", "satisfaction"), weight=40),
        dim("records", ind("meetings", "trace", linked_outcomes=["safety"]), weight=5),
    )


def write(tmp_path: Path, data: dict[str, Any], name: str = "s.yaml") -> Path:
    # JSON is YAML; indent puts every key on its own line, so line numbers are meaningful
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def lint(tmp_path: Path, data: dict[str, Any]) -> LintReport:
    return lint_scheme(load_scheme(write(tmp_path, data)))


def by_rule(report: LintReport, rule: str) -> list[Any]:
    return [f for f in report.findings if f.rule == rule]


def line_of_text(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the line containing `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, t in enumerate(lines) if after in t)
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


# --------------------------------------------------------------------------- shipped schemes


def test_healthy_builder_is_clean(tmp_path: Path) -> None:
    report = lint(tmp_path, healthy())
    assert [f.rule for f in report.findings if f.severity is not Severity.info] == []


def test_demo_scheme_has_no_errors_and_names_its_trace_only_indicator() -> None:
    report = lint_scheme(load_scheme(DEMO))
    assert not report.has_errors
    assert [f.indicator for f in by_rule(report, "trace_only")] == ["posts_liked"]
    # app_checkin is linked to a process indicator, silenced in the file with a reason
    assert [(f.rule, f.indicator) for f in report.suppressed] == [
        ("trace_linked_to_non_outcome", "app_checkin")
    ]
    s = report.summary
    assert s["indicator_count"] == 16
    assert s["trace_weight_share"] == pytest.approx(0.08)
    assert s["satisfaction_share"] == pytest.approx(0.32)
    assert s["trace_weight_share_effective"] == pytest.approx(0.06)


def test_trace_heavy_scheme_errors_on_trace_share_by_hand() -> None:
    report = lint_scheme(load_scheme(TRACE_HEAVY))
    assert [f.rule for f in report.errors] == ["trace_weight_share"]
    s = report.summary
    assert s["trace_weight_share"] == pytest.approx(0.5)
    assert s["satisfaction_share"] == 0
    # minutes × reports/year: 30·1 + 20·1 + 15·4 + 20·4 + 10·12 + 20·1 + 60·12 + 30·12 + 2·250
    # + 15·50 + 120·4 + 10·50 = 3640 minutes
    assert s["burden_hours_per_unit_year"] == pytest.approx(3640 / 60, abs=1e-6)
    assert s["reports_per_unit_year"] == 1 + 1 + 4 + 4 + 12 + 1 + 12 + 12 + 250 + 50 + 4 + 50
    assert s["top_burdens"][0] == {"indicator": "safety_photos", "hours": 12.5}
    rules = {f.rule for f in report.findings}
    assert {"trace_only", "satisfaction_missing", "burden_hours", "reports_per_year",
            "high_frequency", "trace_policy_lenient", "trace_ranked"} <= rules


def test_department_scheme_is_clean() -> None:
    loaded = load_scheme(DEPARTMENT)
    assert loaded.scheme.unit_types == ["department"]
    report = lint_scheme(loaded)
    assert [f for f in report.findings if f.severity is not Severity.info] == []


# --------------------------------------------------------------------------- CLI


def test_cli_exit_codes_and_json_contract(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["lint", str(DEMO), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert {"findings", "summary"} <= doc.keys()
    for f in doc["findings"]:
        assert {"rule", "severity", "indicator", "message"} <= f.keys()
        assert f["severity"] in ("info", "warning", "error")
    assert {"indicator_count", "trace_weight_share", "burden_hours_per_unit_year"} <= doc["summary"].keys()
    assert 0 <= doc["summary"]["trace_weight_share"] <= 1

    bad = runner.invoke(app, ["lint", str(TRACE_HEAVY), "--format", "json"])
    assert bad.exit_code == 1
    assert any(f["severity"] == "error" for f in json.loads(bad.stdout)["findings"])

    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    unreadable = runner.invoke(app, ["lint", str(broken)])
    assert unreadable.exit_code == 2
    assert "broken.yaml:" in unreadable.output
    missing = runner.invoke(app, ["lint", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    invalid = runner.invoke(app, ["lint", str(write(tmp_path, scheme()))])  # no dimensions
    assert invalid.exit_code == 2 and "dimensions" in invalid.output


@pytest.mark.parametrize("case", ["yaml_syntax", "invalid", "missing", "directory", "not_utf8"])
def test_cli_json_on_an_unreadable_scheme_is_still_json(case: str, tmp_path: Path) -> None:
    """stdout is a JSON object with the validation errors (exit 2); stderr keeps the text."""
    path = tmp_path / "s.yaml"
    if case == "yaml_syntax":
        path.write_text("id: x\nname：[unclosed\n", encoding="utf-8")
    elif case == "invalid":
        path = write(tmp_path, scheme())  # no dimensions
    elif case == "directory":
        path.mkdir()
    elif case == "not_utf8":
        path.write_bytes("id: 乡镇\n".encode("gbk"))
    result = runner.invoke(app, ["lint", str(path), "--format", "json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["scheme"] is None and doc["summary"] is None and doc["findings"] == []
    assert doc["file"] == str(path)
    assert doc["errors"] and all(e.keys() == {"line", "path", "message"} for e in doc["errors"])
    for e in doc["errors"]:
        assert e["message"] in result.stderr and "Traceback" not in result.stderr
    if case == "invalid":
        assert any(e["path"] == "dimensions" and e["line"] for e in doc["errors"])
    if case == "yaml_syntax":
        assert doc["errors"][0]["line"] == 2 and "replace '：' with ':'" in doc["errors"][0]["message"]


def test_cli_json_of_a_readable_scheme_has_no_errors() -> None:
    doc = json.loads(runner.invoke(app, ["lint", str(DEMO), "--format", "json"]).stdout)
    assert doc["errors"] == [] and doc["scheme"] == "demo_township"


def test_cli_text_output_in_both_languages() -> None:
    en = runner.invoke(app, ["lint", str(TRACE_HEAVY)], env={"COLUMNS": "200"})
    assert en.exit_code == 1
    assert "trace_weight_share" in en.output and "1 error(s)" in en.output
    zh = runner.invoke(app, ["lint", str(TRACE_HEAVY), "--lang", "zh"], env={"COLUMNS": "200"})
    assert "留痕类指标占申报总权重的 50.0%" in zh.output and "错误 1" in zh.output


def test_cli_weights_table_and_json() -> None:
    res = runner.invoke(app, ["weights", str(DEMO), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["node_id"]: r for r in json.loads(res.stdout)}
    assert rows["posts_liked"]["declared"] == pytest.approx(0.02)
    assert rows["posts_liked"]["effective"] == 0
    assert rows["posts_liked"]["trace_only"] is True
    assert rows["work_traces"]["kind"] == "dimension"
    text = runner.invoke(app, ["weights", str(DEMO), "--lang", "zh"], env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "申报权重" in text.output and "posts_liked" in text.output


# --------------------------------------------------------------------------- rules one by one


def test_trace_only_points_at_evidence_line(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][2]["indicators"].append(ind("likes", "trace", weight=0.1))
    path = write(tmp_path, data)
    report = lint_scheme(load_scheme(path))
    [f] = by_rule(report, "trace_only")
    assert f.indicator == "likes" and f.severity is Severity.warning
    assert f.line == line_of_text(path, '"evidence"', after='"id": "likes"')
    assert f.path == "dimensions[2].indicators[1].evidence"
    assert "likes" in report.summary["trace_only"]


def test_trace_share_uses_declared_weight_and_lint_limit(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][2]["weight"] = 12  # 12 / 107 = 11.2% > 10%
    report = lint(tmp_path, data)
    [f] = by_rule(report, "trace_weight_share")
    assert f.severity is Severity.error and "11.2%" in f.message and "11.2%" in f.message_zh
    assert report.summary["trace_weight_share"] == pytest.approx(12 / 107, abs=1e-6)
    # the scoring policy does not excuse it; the lint limit does
    data["trace_policy"] = {"max_share": 1.0, "trace_only_factor": 1.0}
    assert by_rule(lint(tmp_path, data), "trace_weight_share")
    assert by_rule(lint(tmp_path, data), "trace_policy_lenient")
    data["limits"] = {"max_trace_share": 0.15}
    assert not by_rule(lint(tmp_path, data), "trace_weight_share")


def test_process_trace_share(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"].append(
        ind("response", "process", weight=30, linked_outcomes=["income"]))
    # process: 55 · 30/80 = 20.6%, trace 5% → 25.6% < 30%
    assert not by_rule(lint(tmp_path, data), "process_trace_share")
    data["limits"] = {"max_process_trace_share": 0.25}
    [f] = by_rule(lint(tmp_path, data), "process_trace_share")
    assert "25.6%" in f.message


@pytest.mark.parametrize(
    ("evidence", "name_en", "name_zh", "hit"),
    [
        ("outcome", "Safety meetings held", "安全指标", True),
        ("output", "App check-ins per cadre", "指标", True),
        ("outcome", "Checkin rate", "指标", True),
        ("outcome", "Likely voters reached", "指标", False),  # 'likes' is a whole word only
        ("outcome", "Household income", "工作台账完整率", True),  # zh is a substring match
        ("outcome", "Household income", "群众收入", False),
        ("trace", "Meetings held", "会议次数", False),  # traces are allowed to read like traces
        ("satisfaction", "Satisfaction with meetings", "会议满意度", False),
    ],
)
def test_paperwork_wording(tmp_path: Path, evidence: str, name_en: str, name_zh: str,
                           hit: bool) -> None:
    data = healthy()
    extra = {"linked_outcomes": ["income"]} if evidence == "trace" else {}
    data["dimensions"][0]["indicators"].append(
        ind("odd", evidence, weight=0.1, name={"zh": name_zh, "en": name_en}, **extra))
    found = by_rule(lint(tmp_path, data), "paperwork_wording")
    assert bool(found) is hit
    if hit:
        assert found[0].indicator == "odd" and "paperwork" in found[0].message


def test_paperwork_wording_in_description_and_silencing(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"][0]["description"] = {
        "zh": "以上报材料为准", "en": "as stated in the materials submitted"}
    report = lint(tmp_path, data)
    [f] = by_rule(report, "paperwork_wording")
    assert "materials submitted" in f.message or "材料" in f.message_zh
    data["dimensions"][0]["indicators"][0]["lint"] = {
        "ignore": ["paperwork_wording"], "reason": "statistics bureau figure"}
    report = lint(tmp_path, data)
    assert not by_rule(report, "paperwork_wording")
    assert [s.rule for s in report.suppressed] == ["paperwork_wording"]
    assert not by_rule(report, "lint_ignore")


def test_lint_ignore_unknown_rule_and_missing_reason(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"][0]["lint"] = {"ignore": ["paperwrok_wording"]}
    found = by_rule(lint(tmp_path, data), "lint_ignore")
    assert {f.severity for f in found} == {Severity.warning, Severity.info}
    assert "paperwrok_wording" in found[0].message


def test_trace_linked_to_non_outcome(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"].append(
        ind("cases", "output", weight=5))
    data["dimensions"][2]["indicators"].append(
        ind("photos", "trace", linked_outcomes=["cases", "meetings", "income"]))
    [f] = by_rule(lint(tmp_path, data), "trace_linked_to_non_outcome")
    assert f.indicator == "photos"
    assert "cases (output)" in f.message and "meetings (trace)" in f.message
    assert "income (" not in f.message  # the outcome link is fine


def test_frequency_reports_and_burden(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][2]["indicators"][0].update(frequency="weekly", burden_minutes=30)
    data["dimensions"][0]["indicators"][0].update(frequency="daily", burden_minutes=0)
    report = lint(tmp_path, data)
    # the daily one costs units nothing (collected automatically): not a reporting burden
    assert [f.indicator for f in by_rule(report, "high_frequency")] == ["meetings"]
    # income daily but 0 min → 0 reports; safety 1; sat 0; meetings 50
    assert report.summary["reports_per_unit_year"] == 51
    assert report.summary["burden_hours_per_unit_year"] == pytest.approx((10 + 30 * 50) / 60)
    assert not by_rule(report, "burden_hours")
    data["limits"] = {"max_burden_hours": 20, "max_reports_per_year": 50}
    report = lint(tmp_path, data)
    [b] = by_rule(report, "burden_hours")
    assert "25.2 hours" in b.message
    [r] = by_rule(report, "reports_per_year")
    assert "51 reports" in r.message
    path = write(tmp_path, data)
    assert r.line == line_of_text(path, '"max_reports_per_year"')
    [top] = by_rule(report, "top_burdens")
    assert top.severity is Severity.info and top.message.index("meetings") < top.message.index("safety")


def test_burden_undeclared(tmp_path: Path) -> None:
    data = healthy()
    del data["dimensions"][0]["indicators"][1]["burden_minutes"]
    report = lint(tmp_path, data)
    assert [f.indicator for f in by_rule(report, "burden_undeclared")] == ["safety"]
    assert report.summary["burden_undeclared"] == ["safety"]


def test_duplicate_data_requests(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"].append(
        ind("income_again", weight=1, source={"measure": "m_income", "rollup": "last"}))
    data["dimensions"][1]["indicators"].append(
        ind("sat_two", "satisfaction",
            source={"questions": ["q_new", "q_sat_all"], "scale": {"min": 1, "max": 5}}))
    found = by_rule(lint(tmp_path, data), "duplicate_data_request")
    assert [(f.indicator, f.severity) for f in found] == [
        ("income_again", Severity.warning), ("sat_two", Severity.warning)]
    assert "m_income" in found[0].message and "income" in found[0].message
    assert "q_sat_all" in found[1].message and "q_new" not in found[1].message


def test_too_many_indicators(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][0]["indicators"] += [ind(f"x{i}", weight=0.01) for i in range(28)]
    assert len(load_scheme(write(tmp_path, data)).scheme.indicators()) == 32
    [f] = by_rule(lint(tmp_path, data), "too_many_indicators")
    assert "32 indicators" in f.message and "30" in f.message
    data["limits"] = {"max_indicators": 40}
    assert not by_rule(lint(tmp_path, data), "too_many_indicators")


def test_satisfaction_missing_and_low(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][1]["weight"] = 10  # 10 / 70 = 14.3%
    [low] = by_rule(lint(tmp_path, data), "satisfaction_share_low")
    assert "14.3%" in low.message and low.severity is Severity.warning
    del data["dimensions"][1]
    report = lint(tmp_path, data)
    assert not by_rule(report, "satisfaction_share_low")
    [miss] = by_rule(report, "satisfaction_missing")
    assert miss.severity is Severity.warning and not report.has_errors
    data["limits"] = {"require_satisfaction": True}
    report = lint(tmp_path, data)
    assert by_rule(report, "satisfaction_missing")[0].severity is Severity.error
    assert report.has_errors


def test_geometric_zero(tmp_path: Path) -> None:
    # HDI-like: a geometric mean over goalposts, which give 0 at the lower goalpost
    data = scheme(
        dim("health", ind("le", rule={"type": "goalposts", "lower": 20, "upper": 85})),
        dim("income", ind("gni", rule={"type": "efficacy", "good": 10, "bad": 1, "floor": 40})),
        aggregation="geometric",
    )
    report = lint(tmp_path, data)
    found = by_rule(report, "geometric_zero")
    # 'health' (an arithmetic dimension over one zero-capable indicator) can be 0; 'income' cannot
    assert [(f.indicator, f.path) for f in found] == [(None, "dimensions[0]")]
    data["dimensions"][1]["aggregation"] = "geometric"
    data["dimensions"][1]["indicators"].append(ind("pf", rule={"type": "pass_fail", "threshold": 1}))
    found = by_rule(lint(tmp_path, data), "geometric_zero")
    assert ("pf", "dimensions[1].indicators[1].rule") in [(f.indicator, f.path) for f in found]
    assert "gni" not in [f.indicator for f in found]


def test_satisfaction_from_outcomes_and_trace_ranked(tmp_path: Path) -> None:
    data = healthy()
    data["dimensions"][1]["indicators"][0]["source"] = {"measure": "sat_typed_in"}
    data["dimensions"][2]["indicators"][0]["rule"] = {"type": "percentile"}
    report = lint(tmp_path, data)
    [s] = by_rule(report, "satisfaction_from_outcomes")
    assert s.severity is Severity.info and "sat_typed_in" in s.message
    [r] = by_rule(report, "trace_ranked")
    assert r.indicator == "meetings"


# --------------------------------------------------------------------------- rule set and docs


def test_rule_set_is_documented() -> None:
    rules = builtin_rules()
    assert len(rules) >= 15 and len(rule_ids()) == len(rules)
    docs = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    for r in rules:
        assert r.description() and r.severity in Severity
        assert r.id in codes(Group.lint_rule), f"name {r.id} (zh, en) in evaluator/labels.py"
        assert r.title("zh") != r.id and r.title("en") != r.id
        assert f"`{r.id}`" in docs, f"docs/lint.md does not describe {r.id}"
    assert set(codes(Group.lint_rule)) == rule_ids(), "the catalogue names a rule that is gone"
    assert rules_markdown() in docs, "docs/lint.md is stale: python -m evaluator.lint.docs"


def test_every_finding_is_bilingual_and_located() -> None:
    report = lint_scheme(load_scheme(TRACE_HEAVY))
    for f in report.findings:
        assert f.message and f.message_zh and f.message != f.message_zh
        assert f.line is not None and f.line >= 1


# --------------------------------------------------------------------------- properties


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


@given(term=st.sampled_from([t.term for t in default_lexicon().terms if t.lang == "en"]),
       left=WORD, right=st.text(alphabet="abcdfghijklmnopqrtuvwxyz", min_size=1, max_size=6))
def test_english_terms_match_whole_words_only(term: str, left: str, right: str) -> None:
    pat = english_pattern(term)
    assert pat.search(f"{left} {term.upper()} {right}")
    assert pat.search(f"({term})")
    assert not pat.search(f"{left}{term}")  # glued on the left: another word
    assert not pat.search(f"{term}{right}")  # glued on the right (no plural s/e start)


@given(weights=st.lists(st.floats(0.1, 100), min_size=4, max_size=4),
       k=st.floats(0.01, 1000), limit=st.floats(0.01, 0.99))
def test_trace_share_matches_hand_formula_and_is_scale_free(
    tmp_path_factory: pytest.TempPathFactory, weights: list[float], k: float, limit: float
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    evs = ["outcome", "trace", "satisfaction", "trace"]
    base = scheme(dim("d", *[ind(f"i{j}", ev, weight=w, linked_outcomes=["i0"] if ev == "trace" else [])
                             for j, (ev, w) in enumerate(zip(evs, weights, strict=True))]),
                  limits={"max_trace_share": limit})
    share = (weights[1] + weights[3]) / sum(weights)
    scaled = copy.deepcopy(base)
    for i in scaled["dimensions"][0]["indicators"]:
        i["weight"] *= k
    a, b = lint(tmp, base), lint(tmp, scaled)
    assert a.summary["trace_weight_share"] == pytest.approx(share, abs=1e-6)
    assert b.summary["trace_weight_share"] == pytest.approx(share, abs=1e-5)
    if abs(share - limit) > 1e-6:
        assert bool(by_rule(a, "trace_weight_share")) is (share > limit)


def test_zero_absorbing_means_other_than_the_geometric_warn_too(tmp_path: Path) -> None:
    """The harmonic mean and a power mean with power ≤ 0 are 0 (or undefined) at one zero child,
    as the geometric mean is; a positive power is not."""
    for agg, power, warns in (("harmonic", None, True), ("generalised", -1.0, True),
                              ("generalised", 2.0, False), ("arithmetic", None, False)):
        data = scheme(
            dim("health", ind("le", rule={"type": "goalposts", "lower": 20, "upper": 85})),
            dim("income", ind("gni", rule={"type": "goalposts", "lower": 1, "upper": 9})),
            aggregation=agg, **({"power": power} if power is not None else {}),
        )
        found = by_rule(lint(tmp_path, data), "geometric_zero")
        assert bool(found) is warns, (agg, power)
        if warns:
            assert ("调和" if agg == "harmonic" else "幂") in found[0].message_zh
