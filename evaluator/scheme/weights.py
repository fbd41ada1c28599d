"""Declared and effective weights: what the office wrote, and what counts after the trace policy.

Declared global weight = product of the normalised local weights down the tree. The trace policy
then works on indicator global weights in two steps (docs/scheme.md, "Trace policy"):

1. every trace-only indicator (evidence `trace`, no `linked_outcomes`) is multiplied by
   `trace_only_factor`;
2. if trace indicators together still carry more than `max_share`, they are scaled down to exactly
   `max_share`.

The weight freed goes to outcome and satisfaction indicators in proportion to their weights
(`freed_weight: outcomes`) or to every non-trace indicator (`all`). A dimension's effective weight
is the sum of its descendants', so aggregation up the tree uses `effective_local` shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evaluator.scheme.models import Dimension, Evidence, Indicator, Scheme

RECIPIENTS = {
    "outcomes": {Evidence.outcome, Evidence.satisfaction},
    "all": {Evidence.outcome, Evidence.satisfaction, Evidence.output, Evidence.process},
}


@dataclass(frozen=True)
class NodeWeight:
    node_id: str
    kind: Literal["dimension", "indicator"]
    parent_id: str | None
    evidence: Evidence | None  # indicators only
    local: float  # declared weight normalised within the parent
    declared: float  # global fraction of the total, before the trace policy
    effective: float  # global fraction after the trace policy
    effective_local: float  # effective share within the parent
    trace_only: bool = False


def is_trace_only(ind: Indicator) -> bool:
    """A `trace` indicator linked to no outcome: the one definition the scoring (trace policy),
    the linter and the exports all use."""
    return ind.evidence is Evidence.trace and not ind.linked_outcomes


def _normalised(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total if total > 0 else 0.0 for w in weights]


def declared_weights(scheme: Scheme) -> tuple[dict[str, float], dict[str, float], dict[str, str | None]]:
    """Local and global declared weights of every node, and each node's parent."""
    local: dict[str, float] = {}
    glob: dict[str, float] = {}
    parent: dict[str, str | None] = {}

    def walk(dim: Dimension, share: float) -> None:
        children: list[Indicator | Dimension] = [*dim.indicators, *dim.dimensions]
        for child, w in zip(children, _normalised([c.weight for c in children]), strict=True):
            local[child.id], glob[child.id], parent[child.id] = w, share * w, dim.id
            if isinstance(child, Dimension):
                walk(child, share * w)

    for dim, w in zip(scheme.dimensions, _normalised([d.weight for d in scheme.dimensions]), strict=True):
        local[dim.id], glob[dim.id], parent[dim.id] = w, w, None
        walk(dim, w)
    return local, glob, parent


def apply_trace_policy(scheme: Scheme, declared: dict[str, float]) -> dict[str, float]:
    """Effective global weights of indicators (sum 1, unless nothing can receive weight)."""
    policy = scheme.trace_policy
    indicators = scheme.indicators()
    w = {i.id: declared[i.id] * (policy.trace_only_factor if is_trace_only(i) else 1.0) for i in indicators}
    trace_ids = [i.id for i in indicators if i.evidence is Evidence.trace]
    trace_total = sum(w[t] for t in trace_ids)
    if trace_total > policy.max_share and trace_total > 0:
        factor = policy.max_share / trace_total
        for t in trace_ids:
            w[t] *= factor
    freed = 1.0 - sum(w.values())
    if freed <= 1e-12:
        return w
    for group in (RECIPIENTS[policy.freed_weight], RECIPIENTS["all"]):
        receivers = [i.id for i in indicators if i.evidence in group and w[i.id] > 0]
        base = sum(w[r] for r in receivers)
        if base > 0:
            for r in receivers:
                w[r] += freed * w[r] / base
            return w
    return dict(declared)  # nothing but traces: the policy cannot apply; lint reports it


def weight_table(scheme: Scheme) -> list[NodeWeight]:
    """Every dimension and indicator with declared and effective weights, in file order."""
    local, declared, parent = declared_weights(scheme)
    effective: dict[str, float] = apply_trace_policy(scheme, declared)

    def total(dim: Dimension) -> float:
        value = sum(effective[i.id] for i in dim.indicators) + sum(total(d) for d in dim.dimensions)
        effective[dim.id] = value
        return value

    for dim in scheme.dimensions:
        total(dim)

    def share(node_id: str) -> float:
        up = parent[node_id]
        base = effective[up] if up is not None else 1.0
        return effective[node_id] / base if base > 0 else 0.0

    rows: list[NodeWeight] = []
    for dim in scheme.all_dimensions():
        rows.append(NodeWeight(dim.id, "dimension", parent[dim.id], None, local[dim.id],
                               declared[dim.id], effective[dim.id], share(dim.id)))
        for ind in dim.indicators:
            rows.append(NodeWeight(ind.id, "indicator", dim.id, ind.evidence, local[ind.id],
                                   declared[ind.id], effective[ind.id], share(ind.id),
                                   is_trace_only(ind)))
    return rows
