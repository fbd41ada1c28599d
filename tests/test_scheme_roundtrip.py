"""Any valid scheme survives YAML → model → YAML → model unchanged in meaning (model equality).

The strategy builds schemes from every part of the language (all rule types, both source kinds,
nested dimensions, grades, vetoes, adjustments, policies, lint settings) with arbitrary printable
text, so the dumper's quoting and the loader's parsing are both exercised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.scheme_strategies import schemes
from hypothesis import given

from evaluator.scheme import load_scheme
from evaluator.scheme.checks import cross_check
from evaluator.scheme.dump import dump_scheme
from evaluator.scheme.loader import load_scheme_text
from evaluator.scheme.models import Scheme

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@given(data=schemes())
def test_any_valid_scheme_round_trips(data: dict[str, Any]) -> None:
    scheme = Scheme.model_validate(data)
    assert cross_check(scheme) == []  # the strategy only builds valid schemes
    text = dump_scheme(scheme)
    again = load_scheme_text(text, "roundtrip.yaml").scheme
    assert again == scheme
    assert dump_scheme(again) == text  # and the text is stable


@pytest.mark.parametrize("path", ["indicators/demo_township.yaml", "indicators/department.yaml",
                                  "indicators/examples/trace_heavy.yaml"])
def test_shipped_schemes_round_trip(path: str) -> None:
    scheme = load_scheme(ROOT / path).scheme
    text = dump_scheme(scheme, header="generated")
    assert text.startswith("# generated\n")
    assert load_scheme_text(text).scheme == scheme
