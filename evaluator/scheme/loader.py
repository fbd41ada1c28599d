"""Read a scheme YAML file into a validated `Scheme`, or report every problem with its location.

Locations come from ruamel.yaml's round-trip parser, which remembers the line of every key, so a
pydantic error path such as ('dimensions', 0, 'indicators', 2, 'weight') becomes
"demo.yaml:41 dimensions[0].indicators[2].weight".

A big scheme written as plain JSON (JSON is YAML) takes a fast path: the C `json` parser, and
ruamel only if the file is invalid (for the lines of its errors); see `scheme/jsonpath.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from evaluator.errors import EvaluatorError
from evaluator.scheme.checks import Loc, cross_check, format_path
from evaluator.scheme.hints import yaml_hints
from evaluator.scheme.jsonpath import LineMap, LineSeq, line_tree, plain_json
from evaluator.scheme.messages import message
from evaluator.scheme.models import Scheme
from evaluator.scheme.salvage import UNION_TAGS, salvage_problems


@dataclass(frozen=True)
class SchemeIssue:
    """One problem in a scheme file, pinned to a line and a key path."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" {self.path}" if self.path else ""
        return f"{where}{at}: {self.message}"


class SchemeInvalid(EvaluatorError):
    """Raised with *all* issues found, so the office fixes the file in one pass."""

    def __init__(self, issues: Sequence[SchemeIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(frozen=True)
class LoadedScheme:
    """A validated scheme plus what is needed to point back into its file."""

    scheme: Scheme
    path: Path
    text: str
    tree: Any  # the ruamel round-trip document, for line look-ups (see `yaml_tree`)
    # the fast JSON path builds the tree only when a line is asked for
    lazy_tree: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def yaml_tree(self) -> Any:
        """The document tree with lines (`tree`), built on first use for a fast-loaded file."""
        if self.tree is None and self.lazy_tree is not None:
            object.__setattr__(self, "tree", self.lazy_tree())
        return self.tree

    def line_of(self, loc: Loc) -> int | None:
        return line_of(self.yaml_tree(), loc)


def line_of(tree: Any, loc: Loc) -> int | None:
    """1-based line of the deepest node of `loc` that exists in the YAML tree."""
    node, line = tree, _start_line(tree)
    for part in loc:
        if isinstance(node, CommentedMap | LineMap) and isinstance(part, str) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif (isinstance(node, CommentedSeq | LineSeq) and isinstance(part, int)
              and 0 <= part < len(node)):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedMap | CommentedSeq | LineMap | LineSeq):
            continue  # a pydantic union tag such as 'min_max' or 'MeasureSource': not in the file
        else:
            break
    return line


def _start_line(tree: Any) -> int | None:
    """Line where the document's content starts (after leading comments), 1-based."""
    if tree is None:
        return None
    lc = getattr(tree, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else 1


def _yaml_path(tree: Any, loc: Loc) -> Loc:
    """Drop pydantic's union tags from an error path, keeping only keys present in the file."""
    kept: list[str | int] = []
    node = tree
    for i, part in enumerate(loc):
        if i and loc[i - 1] in ("rule", "source") and part in UNION_TAGS:
            continue  # pydantic's tag, even where it equals a key (`source: {measure: …}`)
        if _has(node, part):
            node = node[part]
            kept.append(part)
        elif isinstance(node, CommentedMap) and isinstance(part, str) and part[:1].islower() and (
            "[" not in part and "-" not in part and part not in UNION_TAGS
        ):
            kept.append(part)  # a missing or unknown key: name it, there is no node below
            node = None
        elif node is None:
            break
    return tuple(kept)


def _has(node: Any, part: str | int) -> bool:
    """Whether `part` is a key of a YAML mapping or an index of a YAML list."""
    if isinstance(node, CommentedMap):
        return isinstance(part, str) and part in node
    if isinstance(node, CommentedSeq):
        return isinstance(part, int) and 0 <= part < len(node)
    return False


MAX_DEPTH = 64  # nested mappings/lists: about 30 levels of dimensions, far beyond any scheme
MAX_NODES = 100_000  # YAML values aliases may expand to (a scheme written out has no limit:
# 10,000 indicators are ~330,000 values; the demo scheme has about 1,500 and no alias)
PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map",
                                                 "seq")}


def _prescan(yaml: YAML, text: str, file: str) -> None:
    """Refuse, from the parser's events alone (no object built, no recursion), what would
    exhaust the loader: nesting deeper than MAX_DEPTH, aliases expanding past MAX_NODES nodes
    (a "billion laughs" bomb), and tags other than YAML's plain ones (`!!python/…`)."""
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for, aliases expanded
    stack: list[tuple[int, str | None]] = [(0, None)]  # open collections: (nodes, anchor)
    expanded = 0  # values the aliases stand for (what is written out once does not count)
    for event in yaml.parse(text):
        kind = type(event).__name__
        line = event.start_mark.line + 1 if event.start_mark else None
        tag = getattr(event, "tag", None)
        tag = getattr(tag, "value", tag)
        if tag is not None and str(tag) not in PLAIN_TAGS:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            raise SchemeInvalid([SchemeIssue(
                file, line, "", f"the YAML tag {shown} is not allowed in a scheme file (tags "
                "could build objects): write the plain value / 方案文件中不允许使用 YAML 标签")])
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            if len(stack) > MAX_DEPTH:
                raise SchemeInvalid([SchemeIssue(
                    file, line, "", f"nested more than {MAX_DEPTH} levels deep: a scheme needs "
                    "far fewer; check for runaway brackets or indentation "
                    f"/ 嵌套超过 {MAX_DEPTH} 层")])
            stack.append((1, getattr(event, "anchor", None)))
            continue
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            n, anchor = stack.pop()
            if anchor:
                sizes[anchor] = n
            add = n
        elif kind == "AliasEvent":
            add = sizes.get(event.anchor, 1)
            expanded += add
        elif kind == "ScalarEvent":
            add = 1
            if getattr(event, "anchor", None):
                sizes[event.anchor] = 1
        else:
            continue
        total, anchor = stack[-1]
        stack[-1] = (total + add, anchor)
        if expanded > MAX_NODES:
            raise SchemeInvalid([SchemeIssue(
                file, line, "", f"the file expands to more than {MAX_NODES:,} YAML values (its "
                "aliases `*name` repeat anchored parts over and over); write the parts out or "
                f"use fewer aliases / 别名展开后超过 {MAX_NODES:,} 个值")])


def parse_yaml(text: str, file: str) -> Any:
    """The round-trip YAML tree; on a syntax error, `SchemeInvalid` with the parser's message
    and, first, every full-width character or tab that typically caused it, at its own line.
    Bombs, deep nesting and object tags are refused first (see `_prescan`)."""
    yaml = YAML(typ="rt")
    try:
        _prescan(yaml, text, file)
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = f"not valid YAML: {exc.problem or exc}"
    except YAMLError as exc:
        line, problem = None, f"not valid YAML: {exc}"
    hints = [SchemeIssue(file, n, "", msg) for n, msg in yaml_hints(text)]
    tail = (" (the parser stopped here; most likely because of the character reported above)"
            if hints else ". Fix the syntax.")
    raise SchemeInvalid([*hints, SchemeIssue(file, line, "", problem + tail)])


def load_scheme(path: str | Path) -> LoadedScheme:
    """Parse, validate and cross-check a scheme file. Raises `SchemeInvalid` with every issue."""
    return load_scheme_text(read_yaml_file(path), path)


def read_yaml_file(path: str | Path) -> str:
    """The text of a YAML file the office wrote (scheme, measure registry); `SchemeInvalid` when
    it cannot be read as UTF-8."""
    file = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemeInvalid(
            [SchemeIssue(file, None, "", "file not found: check the path")]
        ) from None
    except UnicodeDecodeError:
        raise SchemeInvalid(
            [SchemeIssue(file, None, "", "not UTF-8 text: save the file as UTF-8")]
        ) from None
    except OSError as exc:
        raise SchemeInvalid([SchemeIssue(file, None, "", f"cannot read: {exc.strerror}")]) from None


def load_scheme_text(text: str, path: str | Path = "<scheme>") -> LoadedScheme:
    """Parse, validate and cross-check scheme YAML held in memory (the editor, round-trips).

    `path` only names the source in messages and in `LoadedScheme.path`."""
    path = Path(path)
    file = str(path)
    fast = _fast(text, path)
    if fast is not None:
        return fast
    tree = parse_yaml(text, file)
    if not isinstance(tree, CommentedMap):
        raise SchemeInvalid(
            [SchemeIssue(file, _start_line(tree) if tree is not None else 1, "",
                         "a scheme file must be a YAML mapping (id, name, year, dimensions…)")]
        )
    try:
        scheme = Scheme.model_validate(tree)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = _yaml_path(tree, tuple(err["loc"]))
            issues.append(SchemeIssue(file, line_of(tree, loc), format_path(loc), message(err)))
        # the whole-tree checks too, on a patched copy, so the office fixes everything in one pass
        for loc, msg in salvage_problems(tree, exc.errors()):
            issues.append(SchemeIssue(file, line_of(tree, loc), format_path(loc), msg))
        raise SchemeInvalid(_dedupe(sorted(issues, key=lambda i: i.line or 0))) from None

    problems = cross_check(scheme)
    if problems:
        raise SchemeInvalid(
            [SchemeIssue(file, line_of(tree, loc), format_path(loc), msg) for loc, msg in problems]
        )
    return LoadedScheme(scheme=scheme, path=path, text=text, tree=tree)


def _fast(text: str, path: Path) -> LoadedScheme | None:
    """The scheme through the C JSON parser when the file is plain JSON and valid; None sends it
    down the ruamel path, which reports problems with their lines."""
    doc = plain_json(text, MAX_DEPTH)
    if doc is None:
        return None
    try:
        scheme = Scheme.model_validate(doc)
    except ValidationError:
        return None
    if cross_check(scheme):
        return None
    return LoadedScheme(scheme=scheme, path=path, text=text, tree=None,
                        lazy_tree=lambda: line_tree(text))


def _dedupe(issues: list[SchemeIssue]) -> list[SchemeIssue]:
    seen: set[tuple[int | None, str, str]] = set()
    out = []
    for issue in issues:
        key = (issue.line, issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
