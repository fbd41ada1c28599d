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


def dump_scheme(scheme: Scheme, header: str | None = None) -> str:
    """YAML text of a scheme; `header` lines are written as leading comments."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold long names onto a second line
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()))
    yaml.dump(_to_yaml(scheme_data(scheme)), out)
    return out.getvalue()
