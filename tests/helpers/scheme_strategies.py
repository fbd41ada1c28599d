"""Hypothesis strategies of valid schemes, covering every part of the scheme language (all rule
types, both source kinds, nested dimensions, grades, vetoes, adjustments, policies, lint
settings) with arbitrary printable text; shared by the YAML and the spreadsheet round trips."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from evaluator.lint import rule_ids
from evaluator.scheme.hints import id_problem

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
# unit types are free text ids: no whitespace or full-width punctuation (validation rejects them)
ID_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Z")), min_size=1,
                  max_size=12).filter(lambda s: id_problem(s) is None)
IDS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
NUM = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
POS = st.floats(0.001, 1e4, allow_nan=False)
SHARE = st.floats(0, 1, allow_nan=False)
SCORE = st.floats(0, 100, allow_nan=False)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def text_pair() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({"zh": TEXT, "en": TEXT})


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def ordered(draw: st.DrawFn, lo: float = -1e6, hi: float = 1e6) -> tuple[float, float]:
    a = draw(st.floats(lo, hi, allow_nan=False))
    b = draw(st.floats(lo, hi, allow_nan=False).filter(lambda x: x != a))
    return (a, b) if a < b else (b, a)


@st.composite
def rules(draw: st.DrawFn, direction: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["min_max", "goalposts", "target", "bands", "percentile", "zscore",
                                 "efficacy", "deduction", "pass_fail", "direct"]))
    within = st.sampled_from(["all", "peer_group"])
    if kind in ("min_max", "percentile"):
        return {"type": kind, "within": draw(within)}
    if kind == "goalposts":
        lo, hi = draw(ordered())
        return {"type": kind, "lower": lo, "upper": hi, "clamp": draw(st.booleans())}
    if kind == "target":
        return drop_none({"type": kind, "target": draw(maybe(POS))})
    if kind == "bands":
        bands = draw(st.lists(st.fixed_dictionaries({"threshold": NUM, "score": SCORE}),
                              min_size=1, max_size=4))
        return {"type": kind, "bands": bands, "otherwise": draw(SCORE)}
    if kind == "zscore":
        return {"type": kind, "center": draw(NUM), "spread": draw(POS), "within": draw(within)}
    if kind == "efficacy":
        out: dict[str, Any] = {"type": kind, "floor": draw(SCORE)}
        if draw(st.booleans()):
            lo, hi = draw(ordered())
            out.update(good=hi, bad=lo) if direction == "higher" else out.update(good=lo, bad=hi)
        return out
    if kind == "deduction":
        return {"type": kind, "points": draw(POS), "floor": draw(SCORE)}
    if kind == "pass_fail":
        return {"type": kind, "threshold": draw(NUM), "fail_score": draw(SCORE)}
    return {"type": "direct"}


def loggable(rule: dict[str, Any]) -> bool:
    """transform.log needs every raw-unit rule parameter > 0 (validation checks it)."""
    values = [rule.get(k) for k in ("lower", "upper", "target", "good", "bad", "threshold")]
    values += [b["threshold"] for b in rule.get("bands", [])]
    return all(v > 0 for v in values if v is not None)


@st.composite
def indicators(draw: st.DrawFn, id_: str) -> dict[str, Any]:
    direction = draw(st.sampled_from(["higher", "lower"]))
    if draw(st.booleans()):
        source: dict[str, Any] = {"measure": draw(IDS),
                                  "rollup": draw(st.sampled_from(["mean", "sum", "last"]))}
    else:
        lo, hi = draw(ordered(-10, 100))
        source = {"questions": draw(st.lists(IDS, min_size=1, max_size=3)),
                  "scale": {"min": lo, "max": hi}, "top_box": draw(st.integers(1, 5))}
    rule = draw(rules(direction))
    transform = None
    if draw(st.booleans()):
        floor, cap = draw(ordered())
        wins = draw(maybe(ordered(0, 1)))
        transform = drop_none({"log": draw(st.booleans()) and loggable(rule), "floor": floor, "cap": cap,
                               "winsorize": list(wins) if wins else None})
    lint = None
    if draw(st.booleans()):
        lint = drop_none({"ignore": draw(st.lists(st.sampled_from(sorted(rule_ids())), max_size=2)),
                          "reason": draw(maybe(TEXT))})
    return drop_none({
        "id": id_, "name": draw(text_pair()), "description": draw(maybe(text_pair())),
        "evidence": draw(st.sampled_from(["outcome", "satisfaction", "output", "process", "trace"])),
        "source": source, "direction": direction, "transform": transform,
        "rule": rule,
        "missing": draw(st.sampled_from(["reweight", "peer_median", "zero"])),
        "frequency": draw(st.sampled_from(["annual", "quarterly", "monthly", "weekly", "daily"])),
        "burden_minutes": draw(maybe(st.floats(0, 600, allow_nan=False))),
        "department": draw(maybe(TEXT)), "weight": draw(POS), "lint": lint,
    })


@st.composite
def dimensions(draw: st.DrawFn, ids: list[str], depth: int = 0) -> dict[str, Any]:
    dim_id = ids.pop()
    n_ind = draw(st.integers(0 if depth < 2 else 1, 2))
    inds = [draw(indicators(ids.pop())) for _ in range(n_ind)]
    subs = [draw(dimensions(ids, depth + 1)) for _ in range(draw(st.integers(0, 1 if depth < 2 else 0)))]
    if not inds and not subs:
        inds = [draw(indicators(ids.pop()))]
    weights = [c["weight"] for c in inds] + [c.get("weight", 1.0) for c in subs]
    return drop_none({
        "id": dim_id, "name": draw(text_pair()), "description": draw(maybe(text_pair())),
        "weight": draw(POS), "aggregation": draw(st.sampled_from(["arithmetic", "geometric"])),
        "total_points": sum(weights) if draw(st.booleans()) else None,
        "indicators": inds, "dimensions": subs,
    })


@st.composite
def schemes(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(IDS, min_size=40, max_size=40, unique=True))
    dims = [draw(dimensions(ids)) for _ in range(draw(st.integers(1, 2)))]
    # link some indicators to others (never to themselves)
    all_inds: list[dict[str, Any]] = []

    def collect(d: dict[str, Any]) -> None:
        all_inds.extend(d.get("indicators", []))
        for s in d.get("dimensions", []):
            collect(s)

    for d in dims:
        collect(d)
    for ind in all_inds:
        others = [o["id"] for o in all_inds if o["id"] != ind["id"]]
        if others and draw(st.booleans()):
            ind["linked_outcomes"] = draw(st.lists(st.sampled_from(others), max_size=2))
    lo, hi = draw(ordered(-100, 1000))
    cuts = sorted(draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=1, max_size=3,
                                unique=True)), reverse=True)
    codes = draw(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
                          min_size=len(cuts) + 1, max_size=len(cuts) + 1, unique=True))
    grades = [drop_none({"code": c, "name": draw(text_pair()), "min_score": m,
                         "max_share": draw(maybe(st.floats(0.01, 1)))})
              for c, m in zip(codes, [*cuts, None], strict=True)]
    vetoes = [drop_none({"id": ids.pop(), "name": draw(text_pair()), "event": draw(IDS),
                         "max_grade": draw(st.sampled_from(codes)),
                         "max_score": draw(maybe(st.floats(lo, hi)))})
              for _ in range(draw(st.integers(0, 2)))]
    adjustments = [{"id": ids.pop(), "name": draw(text_pair()),
                    "kind": draw(st.sampled_from(["bonus", "deduction"])), "event": draw(IDS),
                    "points": draw(POS), "cap": draw(POS)}
                   for _ in range(draw(st.integers(0, 2)))]
    top_weights = [d.get("weight", 1.0) for d in dims]
    return drop_none({
        "id": draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True)),
        "version": draw(TEXT), "name": draw(text_pair()), "description": draw(maybe(text_pair())),
        "year": draw(st.integers(1900, 2200)), "unit_types": draw(st.lists(ID_TEXT, min_size=1, max_size=3)),
        "scale": {"min": lo, "max": hi, "decimals": draw(st.integers(0, 6))},
        "aggregation": draw(st.sampled_from(["arithmetic", "geometric"])),
        "total_points": sum(top_weights) if draw(st.booleans()) else None,
        "grades": grades, "vetoes": vetoes, "adjustments": adjustments,
        "trace_policy": {"trace_only_factor": draw(SHARE), "max_share": draw(SHARE),
                         "freed_weight": draw(st.sampled_from(["outcomes", "all"]))},
        "survey": {"min_sample": draw(st.integers(1, 500)), "speeder_fraction": draw(SHARE),
                   "straightline_min_questions": draw(st.integers(2, 10)),
                   "small_sample": draw(st.sampled_from(["shrink", "missing", "keep"]))},
        "limits": {"max_indicators": draw(st.integers(1, 100)),
                   "min_satisfaction_share": draw(SHARE), "max_trace_share": draw(SHARE),
                   "require_satisfaction": draw(st.booleans())},
        "dimensions": dims,
    })
