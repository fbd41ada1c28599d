"""The fast load path for big schemes: a scheme file that is plain JSON (JSON is YAML) is read by
the C `json` module instead of ruamel's pure-Python round-trip parser (~10 s for 1,000
indicators, linear but slow; `json.loads` takes milliseconds).

Only the subset where JSON and YAML 1.2 read the same values is taken: an object at the top, no
duplicate keys, no NaN/Infinity, no tabs, byte-order mark or escaped surrogate pairs, nesting
within `MAX_DEPTH`.
Anything else — and every file that fails validation — goes through ruamel, so error messages
keep naming file:line exactly as before.

Lines are still needed when a valid scheme draws lint findings: `line_tree` rebuilds the tree
ruamel would give (keys and items with their line/column, ruamel's `lc` API) from one
regular-expression pass over the tokens, only when a line is asked for.
"""

from __future__ import annotations

import gc
import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^\s,:\[\]{}"]+')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON joins a \\ud83d\\ude00 pair, YAML does not
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
    brackets = _BRACKETS.sub("", _STRING.sub("", text)).encode("ascii")
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def plain_json(text: str, max_depth: int) -> dict[str, Any] | None:
    """The document as plain Python values when `text` is a JSON object YAML would read the
    same way; None otherwise (then the caller parses it as YAML)."""
    head = text.lstrip(" \r\n")
    if not head.startswith("{") or "\t" in text or "\ufeff" in text or _SURROGATE.search(text):
        return None
    try:
        with _no_gc():
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


class Lines:
    """ruamel's `LineCol` API as `loader.line_of` reads it (0-based lines and columns)."""

    __slots__ = ("col", "data", "line")

    def __init__(self, line: int, col: int) -> None:
        self.line, self.col = line, col
        self.data: dict[Any, tuple[int, int]] = {}

    def key(self, k: Any) -> tuple[int, int]:
        return self.data[k]

    def item(self, idx: int) -> tuple[int, int]:
        return self.data[idx]


class LineMap(dict[str, Any]):
    """A mapping of the document with the line and column of each key (`lc`, as ruamel's)."""

    lc: Lines


class LineSeq(list[Any]):
    """A list of the document with the line and column of each item."""

    lc: Lines


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a big acyclic tree: its passes over
    the growing heap cost more than the building itself (2.5× at 10,000 indicators)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def line_tree(text: str) -> LineMap:
    """The document of a text `plain_json` accepted, with every key's and item's line and column
    (0-based, as ruamel keeps them), for `loader.line_of`: plain dicts and lists, built in one
    pass over the tokens (ruamel's own containers cost ~10× as much to fill)."""
    with _no_gc():
        return _line_tree(text)


def _line_tree(text: str) -> LineMap:
    newlines = [m.start() for m in re.finditer("\n", text)]

    def where(pos: int) -> tuple[int, int]:
        line = bisect_right(newlines, pos)
        return line, pos - (newlines[line - 1] + 1 if line else 0)

    root: Any = None
    stack: list[Any] = []  # open containers
    keys: list[Any] = []  # per open container: the key awaiting its value (None: a key is due)
    key_at: list[tuple[int, int]] = []
    top: Any = None
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok == "}" or tok == "]":
            stack.pop()
            keys.pop()
            key_at.pop()
            top = stack[-1] if stack else None
            continue
        is_map = type(top) is LineMap
        if is_map and keys[-1] is None:
            keys[-1] = _scalar(tok)
            key_at[-1] = where(m.start())
            continue
        opens = tok == "{" or tok == "["
        node: Any
        if opens:
            node = LineMap() if tok == "{" else LineSeq()
            node.lc = Lines(*where(m.start()))
        else:
            node = _scalar(tok)
        if top is None:
            root = node
        elif is_map:
            top[keys[-1]] = node
            top.lc.data[keys[-1]] = key_at[-1]
            keys[-1] = None
        else:
            top.lc.data[len(top)] = (node.lc.line, node.lc.col) if opens else where(m.start())
            top.append(node)
        if opens:
            stack.append(node)
            keys.append(None)
            key_at.append((0, 0))
            top = node
    return cast(LineMap, root)
