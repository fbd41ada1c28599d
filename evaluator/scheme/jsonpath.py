"""The fast load path for big schemes: a scheme file that is plain JSON (JSON is YAML) is read by
the C `json` module instead of ruamel's pure-Python round-trip parser (~10 s for 1,000
indicators, linear but slow; `json.loads` takes milliseconds).

Only the subset where JSON and YAML 1.2 read the same values is taken: an object at the top, no
duplicate keys, no NaN/Infinity, no tabs or byte-order mark, nesting within `MAX_DEPTH`.
Anything else — and every file that fails validation — goes through ruamel, so error messages
keep naming file:line exactly as before.

Lines are still needed when a valid scheme draws lint findings: `line_tree` rebuilds the same
`CommentedMap`/`CommentedSeq` tree ruamel would give (keys and items with their line/column),
from one regular-expression pass over the tokens, only when a line is asked for.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^\s,:\[\]{}"]+')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[^\[\]{}]+")


class _NotPlain(Exception):
    """The text is outside the JSON-compatible subset: take the ruamel path."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotPlain  # YAML refuses duplicate keys (ruamel says where); JSON keeps the last
    return out


def _constant(name: str) -> Any:
    raise _NotPlain  # NaN / Infinity: not JSON, and YAML reads them as strings


def nesting(text: str) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings do not count)."""
    brackets = _BRACKETS.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for ch in brackets:  # one step per bracket: a few per indicator
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def plain_json(text: str, max_depth: int) -> dict[str, Any] | None:
    """The document as plain Python values when `text` is a JSON object YAML would read the
    same way; None otherwise (then the caller parses it as YAML)."""
    head = text.lstrip(" \r\n")
    if not head.startswith("{") or "\t" in text or "\ufeff" in text:
        return None
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except (_NotPlain, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or nesting(text) > max_depth:
        return None
    return doc


def _scalar(tok: str) -> Any:
    if tok[0] == '"':
        return json.loads(tok) if "\\" in tok else tok[1:-1]
    if tok in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[tok]
    return float(tok) if any(c in tok for c in ".eE") else int(tok)


def line_tree(text: str) -> CommentedMap:
    """The ruamel-style tree of a text `plain_json` accepted, with every key's and item's line
    and column (0-based, as ruamel keeps them), for `loader.line_of`."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def where(pos: int) -> tuple[int, int]:
        line = bisect_right(newlines, pos)
        return line, pos - (newlines[line - 1] + 1 if line else 0)

    root: Any = None
    stack: list[Any] = []  # open containers
    key: list[Any] = []  # per open mapping: the key awaiting its value (None: a key is due)
    key_at: list[tuple[int, int]] = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        at = where(m.start())
        if tok in ("}", "]"):
            stack.pop()
            key.pop()
            key_at.pop()
            continue
        top = stack[-1] if stack else None
        if isinstance(top, CommentedMap) and key[-1] is None:
            key[-1] = _scalar(tok)
            key_at[-1] = at
            continue
        node: Any
        if tok in ("{", "["):
            node = CommentedMap() if tok == "{" else CommentedSeq()
            node.lc.line, node.lc.col = at
        else:
            node = _scalar(tok)
        if top is None:
            root = node
        elif isinstance(top, CommentedMap):
            top[key[-1]] = node
            top.lc.add_kv_line_col(key[-1], [*key_at[-1], *at])
            key[-1] = None
        else:
            top.lc.add_kv_line_col(len(top), list(at))
            top.append(node)
        if tok in ("{", "["):
            stack.append(node)
            key.append(None)
            key_at.append((0, 0))
    return root
