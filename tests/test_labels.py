"""The one label catalogue: complete, consistent, and the only source of domain names."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from evaluator.labels import CATALOGUE, LANGS, Group, codes, label, pair, rows
from evaluator.scheme.models import Evidence, Frequency, MissingPolicy, Rule

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_label_has_both_languages_and_chinese_is_chinese() -> None:
    for group, entries in CATALOGUE.items():
        assert entries, group
        for code, lab in entries.items():
            assert lab.zh.strip() and lab.en.strip(), (group, code)
            assert HAN.search(lab.zh), f"{group}.{code}: zh name has no Chinese: {lab.zh!r}"
            assert not HAN.search(lab.en), f"{group}.{code}: en name has Chinese: {lab.en!r}"
            assert not list(string.Formatter().parse(lab.zh))[0][1], "labels are names, not templates"


def test_scheme_enums_are_all_named() -> None:
    """A new evidence class, frequency, missing rule or scoring rule needs a name everywhere."""
    assert set(codes(Group.evidence)) == {e.value for e in Evidence}
    assert set(codes(Group.frequency)) == {f.value for f in Frequency}
    assert set(codes(Group.missing_policy)) == {m.value for m in MissingPolicy}
    rule_types = {a.__args__[0] for a in Rule.__args__[0].__args__  # type: ignore[attr-defined]
                  for a in [a.model_fields["type"].annotation]}
    assert set(codes(Group.rule)) == rule_types


def test_flag_kinds_and_exclusions_are_named() -> None:
    from evaluator.scoring.flags import FLAG_KINDS
    from evaluator.scoring.surveys import EXCLUSION_REASONS

    assert set(FLAG_KINDS) <= set(codes(Group.flag))
    assert set(EXCLUSION_REASONS) == set(codes(Group.exclusion))


def test_ingest_kinds_are_named() -> None:
    from evaluator.ingest.kinds import KINDS

    assert set(KINDS) <= set(codes(Group.batch_kind))


def test_one_term_per_concept() -> None:
    """The drift the catalogue ended: the outcome class is 成效 (never 实绩) in every name, and
    survey stuffing has one name."""
    for (_group, _code, zh, _en) in rows():
        assert "实绩" not in zh
    assert label(Group.flag, "survey_stuffing", "zh") == "问卷疑似刷量"
    assert label(Group.evidence, "outcome", "zh") == "成效"


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_codes_stay_as_they_are(lang: str) -> None:
    assert label(Group.flag, "a_new_flag", lang) == "a_new_flag"
    assert label(Group.flag, None, lang) == ""
    assert pair(Group.flag, "a_new_flag") is None
    assert label(Group.flag, "show_off", lang) == pair(Group.flag, "show_off").get(lang)  # type: ignore[union-attr]


def test_the_catalogue_imports_nothing_of_the_project() -> None:
    """The linter (and anything) may import it without the read side or the store."""
    tree = ast.parse((ROOT / "evaluator" / "labels.py").read_text("utf-8"))
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith("evaluator")}


# Where the drifting copies used to live: no second table of (zh, en) names for these codes.
COPIES = [
    "evaluator/export", "evaluator/lint", "evaluator/cli", "evaluator/readmodel",
    "evaluator/completeness.py", "dashboards",
]
CODE_NAMES = ["show_off", "survey_stuffing", "speeder", "straightline", "out_of_scale", "reweight"]


def _names_code(code: str, text: str) -> re.Match[str] | None:
    """`code` mapped to a Chinese name: `"code": ("中", …)`, `code = "中"`, `"code": {"zh": "中"}`,
    `code=Label(zh="中")`, `code=dict(zh="中")`."""
    return re.search(rf"[\"']?{code}[\"']?\s*[:=]\s*(?:\w+\()?[\(\{{\[]?\s*"
                     rf"(?:[\"']?zh[\"']?\s*[:=]\s*)?[\"'][^\"']*[\u4e00-\u9fff]", text)


def test_the_copy_detector_sees_every_shape() -> None:
    shapes = ['"v_show_off": ("刷量", "x")', 'show_off = "刷量"', '"show_off": {"zh": "刷量"}',
              "show_off=Label(zh='刷量', en='x')", "show_off=dict(zh='刷量')", "'show_off': ['刷量']"]
    assert all(_names_code("show_off", s) for s in shapes)
    assert not _names_code("show_off", 'label(Group.flag, "show_off", lang)')
    assert not _names_code("show_off", '"show_off": ("show-off", "x")')


def test_no_second_table_names_domain_codes() -> None:
    """No module outside the catalogue maps a domain code to a Chinese name of its own."""
    for where in COPIES:
        base = ROOT / where
        for path in [base] if base.is_file() else base.rglob("*.py"):
            text = path.read_text("utf-8")
            for code in CODE_NAMES:
                hit = _names_code(code, text)
                assert hit is None, f"{path.relative_to(ROOT)} names {code} itself: {hit.group(0)!r}"
