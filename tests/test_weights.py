"""Declared and effective weights: hand-worked examples and invariants of the trace policy."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator.scheme.models import Scheme
from evaluator.scheme.weights import weight_table

EVIDENCE = ["outcome", "satisfaction", "output", "process", "trace"]


def _indicator(i: int, evidence: str, weight: float, linked: bool) -> dict:
    return {
        "id": f"i{i}",
        "name": {"zh": f"指标{i}", "en": f"Indicator {i}"},
        "evidence": evidence,
        "linked_outcomes": ["anchor"] if linked and evidence == "trace" else [],
        "source": {"measure": f"m{i}"},
        "rule": {"type": "min_max"},
        "weight": weight,
    }


def _scheme(indicators: list[dict], policy: dict | None = None) -> Scheme:
    anchor = _indicator(0, "outcome", 1.0, False) | {"id": "anchor"}
    return Scheme.model_validate({
        "id": "t", "name": {"zh": "测试", "en": "Test"}, "year": 2026, "unit_types": ["township"],
        "trace_policy": policy or {},
        "dimensions": [
            {"id": "d1", "name": {"zh": "一", "en": "One"}, "weight": 2, "indicators": [anchor]},
            {"id": "d2", "name": {"zh": "二", "en": "Two"}, "weight": 2, "indicators": indicators},
        ],
    })


def _by_id(scheme: Scheme) -> dict:
    return {row.node_id: row for row in weight_table(scheme)}


def test_hand_worked_trace_policy() -> None:
    # d1 (0.5): anchor outcome 0.5. d2 (0.5): trace-only i1 (w 1), linked trace i2 (w 1),
    # outcome i3 (w 2) -> declared 0.125, 0.125, 0.25.
    scheme = _scheme([
        _indicator(1, "trace", 1, linked=False),
        _indicator(2, "trace", 1, linked=True),
        _indicator(3, "outcome", 2, linked=False),
    ], {"trace_only_factor": 0.0, "max_share": 0.10, "freed_weight": "outcomes"})
    w = _by_id(scheme)
    assert w["i1"].declared == pytest.approx(0.125)
    assert w["i1"].trace_only and w["i1"].effective == 0
    # step 1 leaves trace i2 at 0.125 > 0.10 -> scaled to 0.10; freed = 0.125 + 0.025 = 0.15
    assert w["i2"].effective == pytest.approx(0.10)
    # freed goes to outcomes anchor (0.5) and i3 (0.25) in proportion 2:1
    assert w["anchor"].effective == pytest.approx(0.5 + 0.15 * 2 / 3)
    assert w["i3"].effective == pytest.approx(0.25 + 0.15 / 3)
    assert w["d2"].effective == pytest.approx(0.10 + 0.30)
    assert w["i3"].effective_local == pytest.approx(0.30 / 0.40)


def test_demo_scheme_effective_weights_sum_to_one() -> None:
    from evaluator.scheme import load_scheme

    scheme = load_scheme("indicators/demo_township.yaml").scheme
    rows = weight_table(scheme)
    assert math.fsum(r.effective for r in rows if r.kind == "indicator") == pytest.approx(1.0)
    assert math.fsum(r.declared for r in rows if r.kind == "indicator") == pytest.approx(1.0)


indicator_specs = st.lists(
    st.tuples(st.sampled_from(EVIDENCE), st.floats(0.01, 10), st.booleans()), min_size=1, max_size=8
)


@given(
    specs=indicator_specs,
    factor=st.floats(0, 1),
    max_share=st.floats(0, 1),
    freed=st.sampled_from(["outcomes", "all"]),
)
def test_trace_policy_invariants(specs, factor, max_share, freed) -> None:
    scheme = _scheme(
        [_indicator(i + 1, ev, w, linked) for i, (ev, w, linked) in enumerate(specs)],
        {"trace_only_factor": factor, "max_share": max_share, "freed_weight": freed},
    )
    rows = weight_table(scheme)
    indicators = [r for r in rows if r.kind == "indicator"]
    # the anchor outcome always exists, so freed weight always has a home: weights sum to one
    assert math.fsum(r.effective for r in indicators) == pytest.approx(1.0)
    trace_share = math.fsum(r.effective for r in indicators if r.evidence == "trace")
    assert trace_share <= max_share + 1e-9
    for r in indicators:
        assert r.effective >= 0
        if r.evidence == "trace":
            assert r.effective <= r.declared + 1e-12  # the policy never rewards paperwork
    # local shares within every parent sum to one where the parent carries weight
    by_parent: dict[str | None, float] = {}
    for r in rows:
        by_parent[r.parent_id] = by_parent.get(r.parent_id, 0.0) + r.effective_local
    for parent, total in by_parent.items():
        parent_weight = 1.0 if parent is None else next(x.effective for x in rows if x.node_id == parent)
        if parent_weight > 0:
            assert total == pytest.approx(1.0)
