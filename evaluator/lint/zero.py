"""Whether a node's 0–100 score can be exactly 0: the real range of its rule, not its type.

A geometric mean is 0 as soon as one child is 0 (`geometric_zero`). Whether a child can be 0
depends on the values the rule can see: `transform.floor`/`cap` (applied before the rule) and
the measure registry's valid `min`/`max` bound the raw value, and goalposts, thresholds and
targets are compared with those bounds in raw units (the log transform keeps their order).
A rule this module does not know is assumed to reach 0, so a new rule never hides a zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.scheme.measures import LoadedRegistry
from evaluator.scheme.models import (
    Aggregation,
    BandsRule,
    DeductionRule,
    Dimension,
    Direction,
    DirectRule,
    EfficacyRule,
    GoalpostsRule,
    Indicator,
    MeasureSource,
    MinMaxRule,
    MissingPolicy,
    PassFailRule,
    TargetRule,
)

RULE_ID = "geometric_zero"


@dataclass(frozen=True)
class ValueRange:
    """The raw values an indicator's rule can see; None is unbounded on that side."""

    lo: float | None = None
    hi: float | None = None

    def reaches_down_to(self, x: float) -> bool:
        """Some value ≤ x is possible."""
        return self.lo is None or self.lo <= x

    def reaches_up_to(self, x: float) -> bool:
        """Some value ≥ x is possible."""
        return self.hi is None or self.hi >= x


def value_range(ind: Indicator, registry: LoadedRegistry | None = None) -> ValueRange:
    """The tighter of the transform's floor/cap and the registry's valid min/max."""
    lows: list[float] = []
    highs: list[float] = []
    if ind.transform is not None:
        lows += [ind.transform.floor] if ind.transform.floor is not None else []
        highs += [ind.transform.cap] if ind.transform.cap is not None else []
    measure = (registry.get(ind.source.measure)
               if registry is not None and isinstance(ind.source, MeasureSource) else None)
    if measure is not None:
        lows += [measure.min] if measure.min is not None else []
        highs += [measure.max] if measure.max is not None else []
    return ValueRange(max(lows) if lows else None, min(highs) if highs else None)


def _rule_reaches_zero(ind: Indicator, r: ValueRange) -> bool:
    rule, up = ind.rule, ind.direction is Direction.HIGHER
    if isinstance(rule, GoalpostsRule):  # 0 at the worse goalpost and past it
        return r.reaches_down_to(rule.lower) if up else r.reaches_up_to(rule.upper)
    if isinstance(rule, DirectRule):  # the value is the score: 0 at x ≤ 0 (lower: x ≥ 100)
        return r.reaches_down_to(0.0) if up else r.reaches_up_to(100.0)
    if isinstance(rule, PassFailRule):
        fails = (r.lo is None or r.lo < rule.threshold) if up else (
            r.hi is None or r.hi > rule.threshold)
        return rule.fail_score == 0 and fails
    if isinstance(rule, DeductionRule):  # 100 − points·x reaches the floor 0 at x ≥ 100/points
        return rule.floor == 0 and r.reaches_up_to(100.0 / rule.points)
    if isinstance(rule, BandsRule):
        return rule.otherwise == 0 or min(b.score for b in rule.bands) == 0
    if isinstance(rule, EfficacyRule):
        return rule.floor == 0
    if isinstance(rule, TargetRule):
        if rule.target is None or rule.target <= 0:
            return True  # per-unit targets (any value), or a target that is not a yardstick
        # higher: 100·x/target is 0 at x ≤ 0; lower: 100·target/x never reaches 0
        return up and r.reaches_down_to(0.0)
    if isinstance(rule, MinMaxRule):  # the worst unit gets the bottom of the rule's range
        return rule.range[0] <= 0.0
    return True  # percentile (the worst unit), zscore, and any rule added later


def absorbs_zero(aggregation: Aggregation, power: float | None = None) -> bool:
    """Whether one child at 0 makes the node 0 (or undefined) whatever the others: the geometric
    and harmonic means, and the power mean with a power ≤ 0."""
    if aggregation is Aggregation.generalised:
        return power is not None and power <= 0
    return aggregation in (Aggregation.geometric, Aggregation.harmonic)


def can_score_zero(node: Indicator | Dimension, registry: LoadedRegistry | None = None, *,
                   silenced: bool = True) -> bool:
    """Whether the node's score can be exactly 0 for some unit.

    With `silenced`, an indicator that silences `geometric_zero` (`lint: {ignore:
    [geometric_zero]}`, with a reason) is taken at its word, so a dimension whose zero comes
    only from such indicators is quiet too (the indicator's own finding is listed as silenced)."""
    if isinstance(node, Dimension):
        kids: list[Indicator | Dimension] = [*node.indicators, *node.dimensions]
        zero = [can_score_zero(k, registry) for k in kids]
        return any(zero) if absorbs_zero(node.aggregation, node.power) else all(zero)
    if silenced and node.lint is not None and RULE_ID in node.lint.ignore:
        return False
    if node.missing is MissingPolicy.zero:
        return True
    return _rule_reaches_zero(node, value_range(node, registry))
