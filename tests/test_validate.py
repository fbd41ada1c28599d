"""`evaluator validate` on the shipped schemes and on a folder of deliberately broken ones.

Each file in tests/schemes/broken/ says what is wrong with it in its header:
    # expect[ LABEL]: KEY.PATH | message fragment
and marks the offending line with a trailing `# <-- here` (or `# <-- LABEL`). The test checks
that validate exits 1 and prints, for each expectation, `FILE:LINE KEY.PATH: …fragment…`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.scheme import SchemeInvalid, load_scheme

ROOT = Path(__file__).resolve().parent.parent
BROKEN = sorted((ROOT / "tests" / "schemes" / "broken").glob("*.yaml"))
SHIPPED = [ROOT / "indicators" / "demo_township.yaml", ROOT / "indicators" / "department.yaml",
           ROOT / "indicators" / "examples" / "trace_heavy.yaml"]
runner = CliRunner()

EXPECT = re.compile(r"^# expect(?: (\w+))?: *(\S*) *\| *(.+?) *$")
MARK = re.compile(r"# <-- (\w+)\s*$")


@dataclass
class Expectation:
    label: str
    path: str
    fragment: str
    line: int | None


def expectations(file: Path) -> list[Expectation]:
    lines = file.read_bytes().decode("utf-8", errors="replace").splitlines()
    marks = {}
    for n, text in enumerate(lines, start=1):
        m = MARK.search(text)
        if m:
            marks[m.group(1)] = n
    out = []
    for text in lines:
        m = EXPECT.match(text)
        if m:
            label = m.group(1) or "here"
            out.append(Expectation(label, m.group(2), m.group(3), marks.get(label)))
    assert out, f"{file.name} has no '# expect:' header"
    return out


def test_enough_distinct_broken_schemes() -> None:
    assert len(BROKEN) >= 15
    fragments = {e.fragment for f in BROKEN for e in expectations(f)}
    assert len(fragments) >= 15


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_schemes_validate(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "✓" in result.output


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_scheme_is_reported_at_its_line(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    printed = [ln.removeprefix("✗ ") for ln in result.output.splitlines() if ln.startswith("✗ ")]
    for e in expectations(path):
        where = f"{path}:{e.line}" if e.line else str(path)
        head = f"{where} {e.path}:" if e.path else f"{where}:"
        hits = [ln for ln in printed if ln.startswith(head) and e.fragment in ln]
        assert hits, f"expected '{head} …{e.fragment}…' in:\n" + "\n".join(printed)


def test_all_errors_are_reported_at_once() -> None:
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(ROOT / "tests" / "schemes" / "broken" / "several_errors.yaml")
    assert len(exc.value.issues) == 3
    assert [i.line for i in exc.value.issues] == [19, 25, 33]


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "file not found" in result.output


def test_unknown_key_in_brackets_is_printed_verbatim(tmp_path: Path) -> None:
    # Rich markup must not swallow user text such as "[red]" in a key name
    text = (ROOT / "indicators" / "department.yaml").read_text(encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("year: 2026\n", "year: 2026\n'[red]': 1\n"), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "[red]" in result.output


def test_efficacy_direction_lower_is_accepted_when_good_is_smaller(tmp_path: Path) -> None:
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    assert "rule: {type: efficacy, good: 15, bad: 120}" in text  # lower is better: good < bad
    load_scheme(ROOT / "indicators" / "demo_township.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("good: 15, bad: 120", "good: 120, bad: 15"), encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    [issue] = exc.value.issues
    assert issue.path.endswith("rule.good") and "smaller than bad" in issue.message


LOG_CASES = sorted((ROOT / "tests" / "schemes" / "broken").glob("log_*.yaml"))


@pytest.mark.parametrize("path", LOG_CASES, ids=lambda p: p.stem)
def test_what_validate_rejects_for_the_log_is_what_scoring_refuses(path: Path) -> None:
    """The model alone accepts these; scoring's own safety net refuses them, so validation must."""
    from ruamel.yaml import YAML

    from evaluator.scheme.models import Scheme
    from evaluator.scoring import ScoringError
    from evaluator.scoring.rules import rule_expr

    assert len(LOG_CASES) >= 5
    scheme = Scheme.model_validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")))
    with pytest.raises(ScoringError, match="cannot be log-transformed"):
        for ind in scheme.indicators():
            rule_expr(ind)


def test_hdi_with_positive_goalposts_validates_and_builds_every_rule() -> None:
    from evaluator.scoring.rules import rule_expr

    loaded = load_scheme(ROOT / "examples" / "hdi" / "scheme.yaml")
    for ind in loaded.scheme.indicators():
        rule_expr(ind)  # raises ScoringError if validation let a bad log parameter through


FULLWIDTH = st.sampled_from([chr(c) for c in range(0xFF01, 0xFF5F)] + ["、", "。", "【", "】", "“"])
PLAIN = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd"),
                              whitelist_characters="_.-", max_codepoint=0x9FFF), min_size=1)


@given(head=PLAIN, ch=FULLWIDTH, tail=PLAIN)
def test_an_id_with_fullwidth_punctuation_names_it_and_its_ascii_twin(
        head: str, ch: str, tail: str) -> None:
    from evaluator.scheme.hints import fullwidth, id_problem

    assume(not any(fullwidth(c) for c in head + tail))
    problem = id_problem(head + ch + tail)
    found = fullwidth(ch)
    assert problem is not None and found is not None
    assert f"'{ch}'" in problem and f"'{found[1]}'" in problem


@given(value=PLAIN)
def test_plain_ids_including_chinese_ones_pass(value: str) -> None:
    from evaluator.scheme.hints import fullwidth, id_problem

    assume(not any(fullwidth(c) for c in value))
    assert id_problem(value) is None
    assert id_problem(value + " x") is not None and "space" in str(id_problem(value + " x"))


DEMO_LINES = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8").splitlines()
KEY_LINE = re.compile(r"^( +)(- )?([a-z_]+): ")
KEY_LINES = [n for n, text in enumerate(DEMO_LINES) if KEY_LINE.match(text)][::4]  # keep it fast


@pytest.mark.parametrize("how", ["fullwidth_colon", "ideographic_indent", "tab_indent"])
def test_a_typing_slip_on_any_key_line_is_reported_at_that_line(how: str) -> None:
    """Break each key line of the demo scheme in turn; whenever the YAML no longer parses, the
    first issue names the character at the line it was typed on, not where the parser stopped."""
    from evaluator.scheme.loader import parse_yaml

    assert len(KEY_LINES) > 25
    failures = 0
    for n in KEY_LINES:
        m = KEY_LINE.match(DEMO_LINES[n])
        assert m
        lines = list(DEMO_LINES)
        if how == "fullwidth_colon":
            lines[n] = lines[n].replace(": ", "：", 1)
            want = "replace '：' with ':'"
        elif how == "ideographic_indent":
            lines[n] = "\u3000" * (len(m.group(1)) // 2) + lines[n].lstrip(" ")
            want = "U+3000): indent with ordinary spaces"
        else:
            lines[n] = "\t" + lines[n].lstrip(" ")
            want = "the indentation contains a tab"
        try:
            parse_yaml("\n".join(lines) + "\n", "s.yaml")
        except SchemeInvalid as exc:
            failures += 1
            first = exc.issues[0]
            assert first.line == n + 1 and want in first.message, (n + 1, exc.issues)
    assert failures > 10  # most slips break the YAML; the rest are caught as field errors


def test_a_scheme_with_its_own_grade_codes_validates_and_scores(tmp_path: Path) -> None:
    """Grade codes such as A, B, Excellent or 2-star are the scheme's own (CONTRACT), end to end."""
    import polars as pl

    hdi = ROOT / "examples" / "hdi"
    text = (hdi / "scheme.yaml").read_text(encoding="utf-8")
    for old, new in (("very_high", "A"), ("code: high", "code: B"), ("medium", "Excellent"),
                     ("code: low", "code: 2-star")):
        assert old in text
        text = text.replace(old, new)
    scheme = tmp_path / "s.yaml"
    scheme.write_text(text, encoding="utf-8")
    assert [g.code for g in load_scheme(scheme).scheme.grades] == ["A", "B", "Excellent", "2-star"]
    db, out = tmp_path / "db.duckdb", tmp_path / "out"
    for kind in ("units", "outcomes"):
        result = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                     str(hdi / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(scheme), "--period",
                                 "2021", "--out", str(out)])
    assert result.exit_code == 0, result.output
    grades = dict(pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})
                  .select("unit_id", "grade").iter_rows())
    assert grades["CHE"] == "A" and grades["CHN"] == "B"
    assert grades["IND"] == "Excellent" and grades["NER"] == "2-star"


@pytest.mark.parametrize("code", ["-a", "a b", "优秀", "a.b", ""])
def test_grade_codes_stay_ids(code: str, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "hdi" / "scheme.yaml").read_text(encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("code: very_high", f"code: '{code}'"), encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    assert any(i.path == "grades[0].code" for i in exc.value.issues), exc.value.issues


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_no_error_is_reported_where_nothing_is_wrong(path: Path) -> None:
    """Every issue sits on a marked line (the YAML parser's own 'stopped here' line aside): the
    cross-checks that run after a field error must not report what the patching caused."""
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    marked = {n for n, text in enumerate(lines, start=1) if MARK.search(text)}
    if not marked:
        pytest.skip("no line marked: a file-level error")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    stray = [str(i) for i in exc.value.issues
             if i.line not in marked and "the parser stopped here" not in i.message]
    assert stray == []


def test_field_errors_do_not_hide_tree_errors_nor_invent_them(tmp_path: Path) -> None:
    """A bad weight next to a total_points sum: the sum is not reported (the weight is wrong);
    a duplicate id and a dangling link elsewhere are; a link to an indicator that exists but is
    itself invalid is not called dangling."""
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    edits = [
        # a weight in dimension 'development', whose total_points is 30
        ("weight: 12\n      - id: school_dropout", "weight: twelve\n      - id: school_dropout"),
        ("- id: clinic_wait", "- id: income_growth"),  # a duplicate id
        # an indicator that two trace indicators link to becomes invalid
        ("evidence: outcome\n        source: {measure: complaint_resolution_rate}",
         "evidence: outcom\n        source: {measure: complaint_resolution_rate}"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    messages = [i.message for i in exc.value.issues]
    assert any("expected a number" in m and "'twelve'" in m for m in messages)
    assert any(m.startswith("unknown value 'outcom'") for m in messages)
    assert any(m.startswith("duplicate id 'income_growth'") for m in messages)
    assert not any("total_points" in m for m in messages), messages
    assert not any("linked_outcomes names" in m for m in messages), messages
    assert len(messages) == 3, messages


def test_a_patched_direction_does_not_invent_an_efficacy_error(tmp_path: Path) -> None:
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    old = "direction: lower\n        rule: {type: efficacy, good: 15, bad: 120}"
    assert text.count(old) == 1
    path = tmp_path / "s.yaml"
    path.write_text(text.replace(old, old.replace("lower", "down")), encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    assert [i.message for i in exc.value.issues] == ["unknown value 'down' (valid: higher, lower)"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    weight: 30\n", "    wieght: 30\n"),  # a top-level dimension: the root sum
        ("weight: 12\n      - id: school_dropout", "wieght: 12\n      - id: school_dropout"),
    ],
)
def test_a_misspelled_key_is_reported_without_its_knock_on_sum(tmp_path: Path, old, new) -> None:
    """Issue 9: `wieght: 30` reported "weights add up to 42, not total_points 100" first (the
    dropped key left the default weight); only the real cause is reported now."""
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    messages = [i.message for i in exc.value.issues]
    assert messages[0].startswith("unknown key 'wieght': did you mean 'weight'?"), messages
    assert not any("add up to" in m for m in messages), messages


def test_a_misspelled_unrelated_key_keeps_the_real_sum_error(tmp_path: Path) -> None:
    """Only the field the typo meant is treated as patched: a wrong sum elsewhere still shows."""
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    text = text.replace("burden_minutes:", "burden_minuts:", 1)
    text = text.replace("weight: 12\n      - id: school_dropout", "weight: 13\n      - id: school_dropout")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeInvalid) as exc:
        load_scheme(path)
    messages = [i.message for i in exc.value.issues]
    assert any("burden_minuts" in m for m in messages)
    assert any("total_points 30" in m for m in messages), messages
