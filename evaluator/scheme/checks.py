"""Whole-scheme validation that a single field cannot see: ids, references, point totals.

Each check returns (location, message) pairs; the loader turns locations into file lines.
These are *validity* errors (the scheme cannot be scored as written). Formalism concerns are
the linter's job, not this module's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from evaluator.scheme.models import (
    Aggregation,
    BandsRule,
    Dimension,
    Direction,
    EfficacyRule,
    GoalpostsRule,
    Indicator,
    PassFailRule,
    Scheme,
    TargetRule,
)

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

POINTS_TOLERANCE = 1e-6
MAX_MAGNITUDE = 1e12  # any number in a scheme; beyond it sums and ranges overflow double precision


def cross_check(scheme: Scheme) -> list[Problem]:
    return [
        *_duplicate_ids(scheme),
        *_points(scheme),
        *_linked_outcomes(scheme),
        *_grades(scheme),
        *_events(scheme),
        *_rule_directions(scheme),
        *_log_parameters(scheme),
        *_magnitudes(scheme),
        *_aggregations(scheme),
    ]


def _aggregations(scheme: Scheme) -> list[Problem]:
    """Settings each node's aggregation needs (a power, two children for a ratio)."""
    nodes: list[tuple[Loc, Aggregation, float | None, int]] = [
        ((), scheme.aggregation, scheme.power, len(scheme.dimensions))]
    nodes += [(loc, d.aggregation, d.power, len(d.indicators) + len(d.dimensions))
              for loc, d in _walk(scheme) if isinstance(d, Dimension)]
    out: list[Problem] = []
    for loc, agg, power, children in nodes:
        problem = aggregation_problem(agg, power, children)
        if problem:
            out.append(((*loc, problem[0]), problem[1]))
    return out


def aggregation_problem(agg: Aggregation, power: float | None, children: int
                        ) -> tuple[str, str] | None:
    """(key to point at, why) when an aggregation's settings cannot be computed, or None."""
    if agg is Aggregation.generalised:
        if power is None:
            return "aggregation", "aggregation `generalised` needs `power` (e.g. 2 for the quadratic mean)"
        if power == 0:
            return "power", "`power: 0` is the geometric mean: write `aggregation: geometric`"
    elif power is not None:
        return "power", ("`power` is read only by `aggregation: generalised`: remove it or change "
                         "the aggregation")
    if agg is Aggregation.ratio and children != 2:
        return "aggregation", (f"aggregation `ratio` divides the first child by the second: it needs exactly "
                f"two children (has {children})")
    return None


def _magnitudes(scheme: Scheme) -> list[Problem]:
    """Numbers the engine can compute with: a scale of ±1e308 validates as two floats but its
    width overflows to infinity in the first subtraction."""
    problems: list[Problem] = []

    def walk(node: object, loc: Loc) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*loc, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*loc, i))
        elif isinstance(node, int | float) and not isinstance(node, bool) \
                and abs(node) > MAX_MAGNITUDE:
            problems.append((loc, f"{node:g} is too large: numbers in a scheme must lie within "
                                  f"±{MAX_MAGNITUDE:.0e} / 数值过大，须在 ±{MAX_MAGNITUDE:.0e} 以内"))

    walk(scheme.model_dump(exclude_none=True), ())
    return problems


def _walk(scheme: Scheme) -> Iterator[tuple[Loc, Dimension | Indicator]]:
    """Every dimension and indicator with its location in the file."""

    def walk(dim: Dimension, loc: Loc) -> Iterator[tuple[Loc, Dimension | Indicator]]:
        yield loc, dim
        for i, ind in enumerate(dim.indicators):
            yield (*loc, "indicators", i), ind
        for j, sub in enumerate(dim.dimensions):
            yield from walk(sub, (*loc, "dimensions", j))

    for k, d in enumerate(scheme.dimensions):
        yield from walk(d, ("dimensions", k))


def _duplicate_ids(scheme: Scheme) -> list[Problem]:
    nodes = list(_walk(scheme))
    counts = Counter(node.id for _, node in nodes)
    problems: list[Problem] = []
    first: dict[str, Loc] = {}
    for loc, node in nodes:
        if counts[node.id] > 1:
            if node.id in first:
                problems.append(
                    ((*loc, "id"), f"duplicate id '{node.id}' (also used at "
                     f"{format_path(first[node.id])}): ids must be unique across dimensions and "
                     "indicators")
                )
            else:
                first[node.id] = loc
    for key in ("vetoes", "adjustments", "grades"):
        items = getattr(scheme, key)
        attr = "code" if key == "grades" else "id"
        seen: set[str] = set()
        for i, item in enumerate(items):
            value = getattr(item, attr)
            if value in seen:
                problems.append(((key, i, attr), f"duplicate {attr} '{value}' in {key}"))
            seen.add(value)
    return problems


def format_path(loc: Loc) -> str:
    """('dimensions', 0, 'weight') → 'dimensions[0].weight', the key path shown with a line."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _points(scheme: Scheme) -> list[Problem]:
    problems: list[Problem] = []

    def check(total: float | None, children: list[float], loc: Loc, what: str) -> None:
        if total is None:
            return
        got = sum(children)
        if abs(got - total) > POINTS_TOLERANCE:
            miss = got - total
            problems.append(
                ((*loc, "total_points") if loc else ("total_points",),
                 f"{what} weights add up to {got:g}, not total_points {total:g} "
                 f"({'over' if miss > 0 else 'short'} by {abs(miss):g}): adjust the weights "
                 f"or total_points")
            )

    check(scheme.total_points, [d.weight for d in scheme.dimensions], (),
          "the top-level dimensions'")
    for loc, node in _walk(scheme):
        if isinstance(node, Dimension):
            weights = [i.weight for i in node.indicators] + [d.weight for d in node.dimensions]
            check(node.total_points, weights, loc, f"dimension '{node.id}' children's")
            if sum(weights) <= 0:
                problems.append(
                    (loc, f"dimension '{node.id}': all children have weight 0; give one a weight")
                )
    if sum(d.weight for d in scheme.dimensions) <= 0:
        problems.append((("dimensions",), "all top-level dimensions have weight 0"))
    return problems


def _linked_outcomes(scheme: Scheme) -> list[Problem]:
    by_id = {ind.id: ind for ind in scheme.indicators()}
    problems: list[Problem] = []
    for loc, node in _walk(scheme):
        if not isinstance(node, Indicator):
            continue
        for j, target in enumerate(node.linked_outcomes):
            where = (*loc, "linked_outcomes", j)
            if target not in by_id:
                problems.append((where, f"linked_outcomes names '{target}', which is not an "
                                        f"indicator of this scheme: fix the id or remove it"))
            elif target == node.id:
                problems.append((where, "an indicator cannot be linked to itself"))
    return problems


def _grades(scheme: Scheme) -> list[Problem]:
    problems: list[Problem] = []
    grades = scheme.grades
    if not grades:
        return [(("grades",), "at least one grade band is needed")]
    for i, g in enumerate(grades[:-1]):
        if g.min_score is None:
            problems.append(((("grades", i, "min_score")),
                             f"grade '{g.code}' needs min_score: only the last band may "
                             "leave it out"))
    previous: float | None = None
    for i, g in enumerate(grades):
        if g.min_score is None:
            continue
        if previous is not None and g.min_score >= previous:
            problems.append((("grades", i, "min_score"),
                             f"grades must be listed best first with falling min_score "
                             f"({g.min_score:g} is not below {previous:g})"))
        previous = g.min_score
    codes = {g.code for g in grades}
    for i, v in enumerate(scheme.vetoes):
        if v.max_grade not in codes:
            problems.append((("vetoes", i, "max_grade"),
                             f"max_grade '{v.max_grade}' is not a grade code of this scheme "
                             f"({', '.join(sorted(codes))})"))
    return problems


def _events(scheme: Scheme) -> list[Problem]:
    problems: list[Problem] = []
    for i, v in enumerate(scheme.vetoes):
        if v.max_score is not None and not scheme.scale.min <= v.max_score <= scheme.scale.max:
            problems.append((("vetoes", i, "max_score"),
                             f"max_score {v.max_score:g} is outside the scale "
                             f"{scheme.scale.min:g}–{scheme.scale.max:g}"))
    return problems


def _rule_directions(scheme: Scheme) -> list[Problem]:
    """Efficacy `good`/`bad` must agree with the direction (good above bad when higher is
    better): swapped values would silently reward the worst units."""
    problems: list[Problem] = []
    for loc, node in _walk(scheme):
        if not isinstance(node, Indicator) or not isinstance(node.rule, EfficacyRule):
            continue
        good, bad = node.rule.good, node.rule.bad
        if good is None or bad is None:
            continue
        higher = node.direction is Direction.HIGHER
        if good == bad or (good > bad) != higher:
            want = "greater" if higher else "smaller"
            problems.append(((*loc, "rule", "good"),
                             f"efficacy good ({good:g}) must be {want} than bad ({bad:g}) because "
                             f"direction is {node.direction.value}: swap them or fix direction"))
    return problems


def _raw_parameters(ind: Indicator) -> list[tuple[Loc, str, float]]:
    """The rule parameters given in the measure's raw units, which scoring puts on the
    transformed scale (the same list as `evaluator.scoring.rules.param` is called with)."""
    rule = ind.rule
    out: list[tuple[Loc, str, float]] = []
    if isinstance(rule, GoalpostsRule):
        out += [(("lower",), "goalpost lower", rule.lower), (("upper",), "goalpost upper", rule.upper)]
    elif isinstance(rule, TargetRule) and rule.target is not None:
        out.append((("target",), "target", rule.target))
    elif isinstance(rule, BandsRule):
        out += [(("bands", j, "threshold"), "band threshold", b.threshold)
                for j, b in enumerate(rule.bands)]
    elif isinstance(rule, EfficacyRule):
        out += [((k,), k, v) for k, v in (("good", rule.good), ("bad", rule.bad)) if v is not None]
    elif isinstance(rule, PassFailRule):
        out.append((("threshold",), "threshold", rule.threshold))
    return out


def _log_parameters(scheme: Scheme) -> list[Problem]:
    """With `transform: {log: true}` every raw-unit parameter must be > 0: scoring takes its
    log and would refuse the scheme (the HDI's income goalposts are ln(100)–ln(75,000))."""
    problems: list[Problem] = []
    for loc, node in _walk(scheme):
        t = node.transform if isinstance(node, Indicator) else None
        if isinstance(node, Indicator) and t is not None and (t.shifted_log or t.outliers):
            problems += [((*loc, "rule", *sub),
                          f"{what} {value:g} is in the measure's raw units, but "
                          f"`{'outliers' if t.outliers else 'shifted_log'}` shifts values by "
                          "the data: use a rule relative to the units (min_max, zscore, "
                          "percentile…) or remove the transform")
                         for sub, what, value in _raw_parameters(node)]
            continue
        if not isinstance(node, Indicator) or t is None or not (t.log or t.box_cox is not None):
            continue
        for sub, what, value in _raw_parameters(node):
            if value <= 0:
                problems.append(((*loc, "rule", *sub),
                                 f"{what} {value:g} cannot be log-transformed (log needs a value "
                                 "> 0): give a positive value in the measure's raw units, or "
                                 "remove `transform.log`"))
    return problems
