"""Scheme model → YAML text, the inverse of `load_scheme_text` (for the scheme editor).

Only values that differ from the defaults are written, in the models' field order, with small
leaf mappings in flow style (`name: {zh: …, en: …}`), so the output reads like a hand-written
scheme. Guarantee (tested with hypothesis): `load_scheme_text(dump_scheme(s)).scheme == s`.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from evaluator.scheme.models import Scheme

FLOW_MAX_KEYS = 6
FLOW_MAX_CHARS = 90
# strings that are certainly safe unquoted inside {…}: no indicator first, no flow punctuation
_PLAIN_IN_FLOW = re.compile(r"[^\s?:\-,\[\]{}#&*!|>'\"%@`](?:[^,\[\]{}#:]*[^\s,\[\]{}#:])?")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flowable(value: Any) -> bool:
    """Small mappings of scalars (or short scalar lists) read best on one line."""
    if isinstance(value, dict):
        return len(value) <= FLOW_MAX_KEYS and len(str(value)) <= FLOW_MAX_CHARS and all(
            _scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v))
            or (isinstance(v, dict) and _flowable(v))
            for v in value.values()
        )
    return False


def _to_yaml(value: Any, *, flow: bool = False) -> Any:
    if isinstance(value, dict):
        node = CommentedMap()
        inner = flow or _flowable(value)
        for k, v in value.items():
            node[k] = _to_yaml(v, flow=inner)
        if inner:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        inline = flow or all(_scalar(v) for v in value)
        seq = CommentedSeq(_to_yaml(v, flow=inline) for v in value)  # quote `?x` inside [...]
        if inline:
            seq.fa.set_flow_style()
        return seq
    if flow and isinstance(value, str) and not _PLAIN_IN_FLOW.fullmatch(value):
        return DoubleQuotedScalarString(value)  # ruamel may emit e.g. `?x` unquoted in flow
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)  # 30, not 30.0; the models read it back as the same float
    return value


def scheme_data(scheme: Scheme) -> dict[str, Any]:
    """The scheme as plain data, defaults left out (rule `type` tags are always kept)."""
    return scheme.model_dump(mode="json", exclude_defaults=True)


def _writer() -> YAML:
    """The YAML emitter of written schemes: long names on one line, CJK as it is, 2-space indent."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold long names onto a second line
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def dump_scheme(scheme: Scheme, header: str | None = None) -> str:
    """YAML text of a scheme; `header` lines are written as leading comments."""
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()))
    _writer().dump(_to_yaml(scheme_data(scheme)), out)
    return out.getvalue()


def revise_text(original: str, scheme: Scheme) -> str:
    """YAML of `scheme` written over the file it was edited from, keeping that file's comments,
    key order and layout wherever the content is still there (ruamel round trip).

    Mappings are updated in place; list items with an `id` (or grade `code`) keep their own
    node, and so the comments inside them, wherever they moved. Keys the draft no longer needs
    are removed, unless they merely spell out a default the draft still has. Falls back to a
    fresh `dump_scheme` if the result would not read back as exactly `scheme`.
    """
    from evaluator.scheme.loader import load_scheme_text  # the loader imports this module

    reader = YAML(typ="rt")
    reader.preserve_quotes = True
    try:
        tree = reader.load(original)
    except Exception:  # noqa: BLE001 - an unreadable original: write a fresh file
        return dump_scheme(scheme)
    if not isinstance(tree, CommentedMap):
        return dump_scheme(scheme)
    revised = _merge(tree, scheme_data(scheme), scheme.model_dump(mode="json"))
    out = io.StringIO()
    _writer().dump(revised, out)
    text = out.getvalue()
    try:
        if load_scheme_text(text).scheme == scheme:
            return text
    except Exception:  # noqa: BLE001 - any failure means: write the plain dump instead
        pass
    return dump_scheme(scheme)


def _key_of(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("id", item.get("code"))
    return None


def _merge(node: Any, data: Any, full: Any) -> Any:
    """`node` (ruamel) updated to hold `data` (defaults left out); `full` has every value."""
    if isinstance(node, CommentedMap) and isinstance(data, dict):
        for key in list(node):
            if key in data:
                continue
            value = full.get(key) if isinstance(full, dict) else None
            if value is None or value == [] or isinstance(value, dict) and not value:
                del node[key]
            else:
                node[key] = _merge(node[key], {} if isinstance(value, dict) else value, value)
                # a default spelt out: kept, as written
        for key, value in data.items():
            sub_full = full.get(key, value) if isinstance(full, dict) else value
            node[key] = _merge(node[key], value, sub_full) if key in node else _to_yaml(value)
        return node
    if isinstance(node, CommentedSeq) and isinstance(data, list):
        fulls = full if isinstance(full, list) and len(full) == len(data) else data
        old = {_key_of(item): item for item in node if _key_of(item) is not None}
        if data and all(_key_of(d) is not None for d in data) and old:
            items = [_merge(old[_key_of(d)], d, f) if _key_of(d) in old else _to_yaml(d)
                     for d, f in zip(data, fulls, strict=True)]
        elif len(node) == len(data):
            items = [_merge(n, d, f) for n, d, f in zip(node, data, fulls, strict=True)]
        else:
            return _to_yaml(data)
        flow = node.fa.flow_style()
        seq = CommentedSeq(items)
        seq.ca.comment = node.ca.comment
        seq.ca.end = getattr(node.ca, "end", None) or []
        kept = {i: node.ca.items[j] for j, item in enumerate(node) for i, new in enumerate(items)
                if new is item and j in node.ca.items}
        seq.ca.items.update(kept)
        if flow:
            seq.fa.set_flow_style()
        return seq
    if isinstance(node, CommentedMap | CommentedSeq) or isinstance(data, dict | list):
        return _to_yaml(data)
    if isinstance(node, type(data)) and node == data:
        return node  # keep the scalar as written (quotes, 0.10 vs 0.1 …)
    return _to_yaml(data)
