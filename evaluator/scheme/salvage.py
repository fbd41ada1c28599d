"""Cross-checks on a scheme that failed field validation, so every error is reported at once.

pydantic stops before the whole-tree checks (duplicate ids, dangling links, point totals) can
run. Here the invalid parts are patched in a copy of the data (an unknown key dropped, a bad
optional field back to its default, a broken indicator, grade, veto or adjustment replaced by a
placeholder) until it validates; then `cross_check` runs and only the problems that the patches
cannot have caused are kept (a sum over a patched weight, a link to an indicator that exists in
the file but was replaced, grade order next to a replaced grade are dropped).
"""

from __future__ import annotations

import copy
import difflib
from itertools import count
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from evaluator.scheme.checks import Loc, Problem, cross_check
from evaluator.scheme.models import (
    Adjustment,
    Dimension,
    Grade,
    Indicator,
    Rule,
    Scheme,
    Veto,
)

ROUNDS = 8
TAGGED = ("rule", "source")
UNION_TAGS = {
    *(get_args(m.model_fields["type"].annotation)[0] for m in get_args(get_args(Rule)[0])),
    "measure", "survey",
}  # every rule type (from the `Rule` union) and the source kinds
ENTITIES = ("indicators", "dimensions", "grades", "vetoes", "adjustments")
TEXT = {"zh": "_", "en": "_"}
MODELS: dict[str, type[BaseModel]] = {"indicators": Indicator, "dimensions": Dimension,
                                      "grades": Grade, "vetoes": Veto, "adjustments": Adjustment}


def plain(node: Any) -> Any:
    """The YAML tree as plain dicts and lists (a copy that can be patched)."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return copy.copy(node)


def data_loc(loc: Loc) -> Loc:
    """A pydantic error path without its union tags (`rule.goalposts.lower` → `rule.lower`)."""
    return tuple(p for i, p in enumerate(loc) if not (i and loc[i - 1] in TAGGED and p in UNION_TAGS))


def salvage_problems(data: Any, errors: list[ErrorDetails]) -> list[Problem]:
    """Cross-check problems of `data` that are independent of the field `errors` (best effort:
    [] when the data cannot be patched into a valid scheme)."""
    work = plain(data)
    fresh = (f"_invalid_{n}" for n in count())
    tainted: list[Loc] = []
    for _ in range(ROUNDS):
        for err in errors:
            if not _patch(work, data_loc(tuple(err["loc"])), err["type"], fresh, tainted):
                return []
        try:
            scheme = Scheme.model_validate(work)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        real_ids = _indicator_ids(data)
        return [(loc, msg) for loc, msg in cross_check(scheme)
                if not any(_affected(loc, t) for t in tainted)
                and not _link_to_patched(scheme, loc, real_ids)]
    return []


def _get(node: Any, loc: Loc) -> Any:
    for part in loc:
        found = (part in node if isinstance(node, dict)
                 else isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))
        if not found:
            return None
        node = node[part]
    return node


def _patch(work: Any, loc: Loc, kind: str, fresh: Any, tainted: list[Loc]) -> bool:
    """Make the part of `work` at `loc` valid; record what was patched. False: cannot."""
    if kind == "extra_forbidden":
        parent = _get(work, loc[:-1])
        if isinstance(parent, dict):
            parent.pop(loc[-1], None)
        meant = _meant_field(loc)
        if meant is not None:  # `wieght: 30` dropped leaves the default weight: not a real sum
            tainted.append((*loc[:-1], meant))
        return True
    k = max((i for i, p in enumerate(loc) if isinstance(p, int) and i and loc[i - 1] in ENTITIES),
            default=None)
    if k is None:  # a top-level key
        return _patch_field(work, Scheme, loc[0] if loc else "", fresh, tainted, ())
    entity, what = loc[: k + 1], str(loc[k - 1])
    container = _get(work, entity[:-1])
    if not isinstance(container, list) or not isinstance(entity[-1], int):
        return False
    node = container[entity[-1]]
    if len(loc) > k + 1 and _patch_field(node, MODELS[what], loc[k + 1], fresh, tainted, entity):
        return True  # only the field: the rest of the entity is still checked
    container[entity[-1]] = _placeholder(what, next(fresh))
    tainted.append(entity)
    return True


def _meant_field(loc: Loc) -> str | None:
    """The field a misspelled key most likely meant (its value is missing from the copy)."""
    k = max((i for i, p in enumerate(loc) if isinstance(p, int) and i and loc[i - 1] in ENTITIES),
            default=None)
    if k is None:
        model: type[BaseModel] = Scheme
        if len(loc) != 1:
            return None
    elif k + 2 == len(loc):
        model = MODELS[str(loc[k - 1])]
    else:
        return None  # deeper (a rule's parameter): only that part is patched
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return close[0] if close else None


def _patch_field(node: Any, model: type[BaseModel], field: str | int, fresh: Any,
                 tainted: list[Loc], at: Loc) -> bool:
    if not isinstance(node, dict) or not isinstance(field, str) or field not in model.model_fields:
        return False
    if not model.model_fields[field].is_required():
        node.pop(field, None)
    elif field in ("id", "code"):
        node[field] = next(fresh)
    elif field == "name":
        node[field] = dict(TEXT)
    elif field == "year":
        node[field] = 2000
    elif field == "unit_types":
        node[field] = ["_"]
    else:
        return False  # e.g. top-level `dimensions` missing or empty: nothing to check
    tainted.append((*at, field))
    return True


def _placeholder(kind: str, ident: str) -> dict[str, Any]:
    indicator: dict[str, Any] = {"id": ident, "name": dict(TEXT), "evidence": "outcome",
                 "source": {"measure": "_"}, "rule": {"type": "direct"}}
    shapes: dict[str, dict[str, Any]] = {
        "indicators": indicator,
        "dimensions": {"id": ident, "name": dict(TEXT), "indicators": [{**indicator, "id": ident + "_"}]},
        "grades": {"code": ident, "name": dict(TEXT)},
        "vetoes": {"id": ident, "name": dict(TEXT), "event": "_", "max_grade": "_"},
        "adjustments": {"id": ident, "name": dict(TEXT), "kind": "bonus", "event": "_",
                        "points": 1, "cap": 1},
    }
    return shapes[kind]


def _affected(loc: Loc, patched: Loc) -> bool:
    """Whether a cross-check problem at `loc` may stem from a patch at `patched`."""
    if loc[: len(patched)] == patched:
        return True  # inside a replaced part
    if patched[-1:] in (("direction",), ("transform",)) and loc[: len(patched) - 1] == patched[:-1]:
        return True  # the rule's parameters are checked against the direction and the log
    if loc and loc[-1] == "total_points":  # a sum over a patched weight (or a replaced node)
        weighty = isinstance(patched[-1], int) or patched[-1] in ("weight", "total_points")
        return weighty and patched[: len(loc) - 1] == loc[:-1]
    if loc == ("dimensions",) or (len(loc) >= 2 and loc[-2] == "dimensions"):
        return patched[: len(loc)] == loc  # "all children have weight 0"
    # grade order, veto grades and scores depend on every grade and on the scale
    return loc[0] in ("grades", "vetoes") and patched[0] in ("grades", "scale")


def _indicator_ids(data: Any) -> set[str]:
    """Every indicator id written in the file, valid or not."""
    out: set[str] = set()

    def walk(dim: Any) -> None:
        if not isinstance(dim, dict):
            return
        for ind in dim.get("indicators") or []:
            if isinstance(ind, dict) and isinstance(ind.get("id"), str):
                out.add(ind["id"])
        for sub in dim.get("dimensions") or []:
            walk(sub)

    for d in (data.get("dimensions") or []) if isinstance(data, dict) else []:
        walk(d)
    return out


def _link_to_patched(scheme: Scheme, loc: Loc, real_ids: set[str]) -> bool:
    """A link that names an indicator present in the file but replaced by a placeholder."""
    if len(loc) < 2 or loc[-2] != "linked_outcomes":
        return False
    target = _target(scheme, loc)
    valid = {ind.id for ind in scheme.indicators()}
    return target is not None and target in real_ids and target not in valid


def _target(scheme: Scheme, loc: Loc) -> str | None:
    node: Any = scheme
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
    return node if isinstance(node, str) else None
