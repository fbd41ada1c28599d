"""Turn pydantic's error records into messages an assessment office can act on.

pydantic says "Input should be less than or equal to 1 (got 20)"; the office needs "a fraction
between 0 and 1, e.g. 0.2 for 20%". Misspelt keys, rule types and enumeration values get the
closest valid spelling (difflib) and the list of valid ones.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from evaluator.scheme.checks import Loc
from evaluator.scheme.models import Scheme, Text

PATTERNS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "only ASCII letters, digits and '_', not starting with a digit "
                                 "(e.g. income_growth)",
    r"^[A-Za-z_][A-Za-z0-9_.-]*$": "only ASCII letters, digits, '_', '.' and '-', not starting "
                                   "with a digit, '.' or '-' (e.g. demo_township)",
    r"^[A-Za-z0-9_][A-Za-z0-9_-]*$": "only ASCII letters, digits, '_' and '-', not starting "
                                     "with '-' (e.g. excellent, A, grade_1)",
}


def suggest(word: str, options: list[str]) -> str:
    """" did you mean 'x'?" for the closest option, or ''."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" did you mean '{close[0]}'?" if close else ""


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


# COINr's normalisations (n_rank, n_borda, …) under their own names, and how a scheme writes
# them on 0–100 (docs/scheme.md, "Ranks, Borda scores and the distance to the best")
_RANKS = ("percentile rank with COINr's tie rule: `{type: percentile, ties: min}` "
          "(ties: average for the mid-rank)")
COINR_RULES = {
    "rank": f" ranks on 0–100 are a {_RANKS}",
    "borda": f" Borda scores (units beaten) on 0–100 are a {_RANKS}",
    "prank": f" write a {_RANKS}",
    "minmax": " did you mean 'min_max'?",
    "zscore": " did you mean 'zscore'?",
    "dist2max": " the distance to the best is `{type: min_max}`",
    "dist2ref": " the distance to a reference unit is `{type: reference_unit, unit: …}`",
    "fracmax": " did you mean 'fraction_of_max'?",
    "goalposts": " did you mean 'goalposts'?",
}


def message(err: ErrorDetails, root: type[BaseModel] = Scheme) -> str:
    """One error, said as what is wrong and what to do (the location is added by the loader).

    `root` is the model of the whole file (a scheme; the measure registry reuses this)."""
    kind, msg = err["type"], err["msg"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    got = err.get("input")
    shown = f" (got {got!r})" if got is not None and not isinstance(got, dict | list) else ""
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        valid = allowed_keys(loc[:-1], root)
        hint = suggest(key, valid) if valid else ""
        listing = f" (valid here: {', '.join(valid)})" if valid else ""
        return (f"unknown key '{key}':{hint or ' remove it or check its spelling'}{listing}; "
                "see docs/scheme.md")
    if kind == "missing":
        return "required key is missing: add it"
    if kind == "union_tag_invalid":
        tags = _quoted(str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        hint = COINR_RULES.get(tag.lower().removeprefix("n_")) or suggest(tag, tags)
        return (f"unknown rule type '{tag}':{hint or ' check the spelling'} "
                f"(valid: {', '.join(tags)}); see docs/scheme.md for the rule types")
    if kind == "union_tag_not_found":
        return "the rule needs a `type` key, e.g. {type: min_max}; see docs/scheme.md"
    if kind in ("enum", "literal_error"):
        options = _quoted(str(ctx.get("expected", "")))
        value = str(got)
        hint = suggest(value, options)
        return f"unknown value '{value}'{':' + hint if hint else ''} (valid: {', '.join(options)})"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        what = "a whole number, e.g. 2026" if kind.startswith("int") else "a number, e.g. 1 or 0.5"
        return f"expected {what}{shown}: write it with digits, without quotes or units"
    if kind == "int_from_float":
        return f"expected a whole number{shown}: leave out the decimals"
    if kind == "finite_number":
        return f"expected a finite number{shown}: .inf and .nan cannot be scored"
    if kind == "bool_parsing" or kind == "bool_type":
        return f"expected true or false{shown}"
    if kind == "string_type":
        return f"expected text{shown}: put it in quotes, e.g. \"{got}\""
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        allowed = PATTERNS.get(pattern, f"text matching {pattern}")
        return f"may contain {allowed}{shown}"
    if kind == "string_too_short":
        return "must not be empty: write a value or remove the key"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} entry(ies): add one"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} entries: remove the extra ones"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, e.g. [a, b] or lines starting with '- '{shown}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if model_at(loc, root) is Text:
            return f"expected a bilingual text {{zh: …, en: …}}{shown}"
        return f"expected a mapping of keys (key: value){shown}"
    if kind in ("less_than_equal", "less_than") and ctx.get("le", ctx.get("lt")) == 1:
        return f"must be a fraction between 0 and 1, e.g. 0.2 for 20%{shown}"
    bound = {"greater_than_equal": ("ge", "{:g} or more"), "greater_than": ("gt", "more than {:g}"),
             "less_than_equal": ("le", "{:g} or less"), "less_than": ("lt", "less than {:g}")}
    if kind in bound and isinstance(ctx.get(bound[kind][0]), int | float):
        key, text = bound[kind]
        limit = float(ctx[key])
        why = " (indicator scores are on 0–100)" if limit == 100 and key in ("le", "lt") else ""
        return f"must be {text.format(limit)}{shown}{why}"
    return f"{msg}{shown}"


# --------------------------------------------------------------------------- model look-up


def _strip(t: Any) -> tuple[Any, list[Any]]:
    """Drop Annotated wrappers and `| None`; return the type and the metadata met on the way."""
    meta: list[Any] = []
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            meta.extend(t.__metadata__)
            t = get_args(t)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t, meta
            t = args[0]
        else:
            return t, meta


def _union_member(t: Any, tag: str) -> Any:
    """The member of a tagged union chosen by `tag` (a rule's `type` or a source kind)."""
    for member in get_args(t):
        inner, meta = _strip(member)
        if any(isinstance(m, Tag) and m.tag == tag for m in meta):
            return inner
        if isinstance(inner, type) and issubclass(inner, BaseModel) and "type" in inner.model_fields:
            ann = inner.model_fields["type"].annotation
            if get_origin(ann) is Literal and tag in get_args(ann):
                return inner
    return None


def model_at(loc: Loc, root: type[BaseModel] = Scheme) -> type[BaseModel] | None:
    """The model (of a `root` file) that the value at pydantic error path `loc` is validated as."""
    t: Any = root
    for part in loc:
        t, _ = _strip(t)
        if isinstance(part, int):
            if get_origin(t) not in (list, tuple):
                return None
            t = get_args(t)[0]
        elif isinstance(t, type) and issubclass(t, BaseModel) and part in t.model_fields:
            t = t.model_fields[part].annotation
        elif get_origin(t) in (Union, types.UnionType):
            t = _union_member(t, part)
        else:
            return None
    t, _ = _strip(t)
    return t if isinstance(t, type) and issubclass(t, BaseModel) else None


def allowed_keys(loc: Loc, root: type[BaseModel] = Scheme) -> list[str]:
    """The keys a mapping at `loc` may have, in the model's order."""
    model = model_at(loc, root)
    return list(model.model_fields) if model is not None else []
