"""The fast load path for plain-JSON schemes (scheme/jsonpath.py): same scheme, same lines, same
errors at the same file:line as ruamel's round-trip path."""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from ruamel.yaml import YAML

from evaluator.lint.report import lint_scheme
from evaluator.scheme.jsonpath import line_tree, nesting, plain_json
from evaluator.scheme.loader import (
    MAX_DEPTH,
    LoadedScheme,
    SchemeInvalid,
    load_scheme,
    load_scheme_text,
    parse_yaml,
)

DEMO = Path(__file__).resolve().parent.parent / "indicators" / "demo_township.yaml"


def _plain(node):
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def demo_json(indent: int | None = 1) -> str:
    return json.dumps(_plain(YAML(typ="rt").load(DEMO.read_text(encoding="utf-8"))),
                      ensure_ascii=False, indent=indent)


def _same_lines(ours, theirs, path=()) -> None:
    assert (ours.lc.line, ours.lc.col) == (theirs.lc.line, theirs.lc.col), path
    keys = list(theirs) if isinstance(theirs, dict) else list(range(len(theirs)))
    assert (list(ours) if isinstance(ours, dict) else list(range(len(ours)))) == keys, path
    for k in keys:
        at = (ours.lc.key(k), theirs.lc.key(k)) if isinstance(theirs, dict) else (
            ours.lc.item(k), theirs.lc.item(k))
        assert tuple(at[0]) == tuple(at[1]), (*path, k)
        if isinstance(theirs[k], dict | list):
            _same_lines(ours[k], theirs[k], (*path, k))
        else:
            assert ours[k] == theirs[k], (*path, k)


def test_a_json_scheme_loads_the_same_scheme_on_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "demo.json.yaml"
    path.write_text(demo_json(), encoding="utf-8")
    fast = load_scheme(path)
    assert fast.tree is None  # no YAML parse happened
    assert fast.scheme == load_scheme(DEMO).scheme
    _same_lines(fast.yaml_tree(), parse_yaml(path.read_text(encoding="utf-8"), str(path)))


def test_lint_findings_name_the_same_lines_as_the_yaml_path() -> None:
    text = demo_json(indent=2)
    fast = load_scheme_text(text, "demo.json")
    slow = LoadedScheme(scheme=fast.scheme, path=fast.path, text=text,
                        tree=parse_yaml(text, "demo.json"))
    got = [(f.rule, f.indicator, f.line, f.path) for f in lint_scheme(fast).findings]
    assert got == [(f.rule, f.indicator, f.line, f.path) for f in lint_scheme(slow).findings]
    assert got and all(line for _, _, line, _ in got)


@pytest.mark.parametrize("edit,words", [
    (lambda d: d["dimensions"][0].update(weight="heavy"), "dimensions[0].weight"),
    (lambda d: d.update(year="this year"), "year"),
])
def test_an_invalid_json_scheme_is_reported_at_its_line(edit, words) -> None:
    doc = json.loads(demo_json())
    edit(doc)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    with pytest.raises(SchemeInvalid) as fast:
        load_scheme_text(text, "s.json")
    issues = [i for i in fast.value.issues if words in i.path]
    assert issues and all(i.line for i in issues)
    key = words.rsplit(".", 1)[-1].split("[")[0]
    line = text.splitlines()[issues[0].line - 1]
    assert f'"{key}"' in line  # the line of the offending key, as ruamel counts it


@pytest.mark.parametrize("text", [
    '{"id": "a", "id": "b"}',  # duplicate key: YAML refuses it, JSON would keep the last
    '{"year": NaN}',  # not JSON
    '\ufeff{"id": "a"}',  # byte-order mark
    '{\t"id": "a"}',  # a tab
    '["a"]',  # not a mapping
    '{"id": "\\ud83d\\ude00"}',  # a surrogate pair: JSON joins it, YAML keeps two
    "id: a",  # YAML
])
def test_texts_outside_the_json_subset_take_the_yaml_path(text: str) -> None:
    assert plain_json(text, MAX_DEPTH) is None


def test_a_duplicate_key_in_json_is_still_an_error_with_its_line() -> None:
    text = demo_json().replace('"year": 2026', '"year": 2026,\n "year": 2027', 1)
    with pytest.raises(SchemeInvalid) as err:
        load_scheme_text(text, "s.json")
    assert "s.json:" in str(err.value) and "duplicate" in str(err.value).lower()


def test_deep_json_is_refused_as_deep_yaml_is() -> None:
    text = '{"extra": ' + "[" * 100 + "]" * 100 + "}"
    assert nesting(text) == 101
    assert plain_json(text, MAX_DEPTH) is None
    with pytest.raises(SchemeInvalid, match="nested more than 64 levels"):
        load_scheme_text(text, "s.json")


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
              st.floats(allow_nan=False, allow_infinity=False, width=64),
              st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                      max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text("abcxyz_[]{}\":,\\", max_size=5), inner,
                                            max_size=4)),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(st.text("abc", min_size=1, max_size=3), JSON, max_size=5),
       indent=st.sampled_from([None, 1, 2]), ascii_only=st.booleans())
def test_line_tree_matches_ruamel_on_any_json_object(doc, indent, ascii_only) -> None:
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    if plain_json(text, MAX_DEPTH) is None:
        return
    theirs = YAML(typ="rt").load(text)
    _same_lines(line_tree(text), theirs)


def test_a_big_json_scheme_validates_and_lints_with_lines(tmp_path: Path) -> None:
    from helpers.ingest import cli

    from benchmarks.scale_data import generate

    scheme = generate(tmp_path, units=5, indicators=320, answers=200, periods=1).scheme
    assert "✓" in cli("validate", scheme).output
    result = cli("lint", scheme)
    lines = [line.split("\t") for line in result.output.splitlines() if line.count("\t") == 4]
    assert len(lines) > 300  # one plain line per finding, not a 300-row table
    assert "--format json" in result.output.splitlines()[0]
    assert all(row[3].isdigit() for row in lines if row[2] != "—")  # indicator findings: a line
