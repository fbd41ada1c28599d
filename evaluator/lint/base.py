"""The linter's building blocks: severities, findings, the rule base class and what rules see.

A rule is a short class: its docstring is the description users read (`evaluator lint --rules`,
docs/lint.md), `id` and `severity` are class attributes, and `check(ctx)` yields findings.
New rules are added by writing a class in `evaluator.lint.rules` and naming it (zh, en) in the
label catalogue (`evaluator.labels`, group `lint_rule`); a test fails when one is unnamed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar

from evaluator.labels import Group, label
from evaluator.lint.lexicon import Lexicon, default_lexicon
from evaluator.scheme.checks import Loc, format_path
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.measures import LoadedRegistry
from evaluator.scheme.models import REPORTS_PER_YEAR, Dimension, Evidence, Indicator, Scheme
from evaluator.scheme.weights import NodeWeight, weight_table


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One formalism concern, pinned to an indicator (or the whole scheme) and a YAML line."""

    rule: str
    severity: Severity
    indicator: str | None
    message: str  # English
    message_zh: str
    line: int | None = None
    path: str = ""

    def text(self, lang: str = "en") -> str:
        return self.message_zh if lang == "zh" else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "indicator": self.indicator,
            "message": self.message,
            "message_zh": self.message_zh,
            "line": self.line,
            "path": self.path,
        }


@dataclass
class LintContext:
    """The scheme plus everything rules share: weights, locations, per-indicator burden."""

    loaded: LoadedScheme
    lexicon: Lexicon = field(default_factory=default_lexicon)
    registry: LoadedRegistry | None = None  # the measure registry, when one applies

    @property
    def scheme(self) -> Scheme:
        return self.loaded.scheme

    @cached_property
    def weights(self) -> dict[str, NodeWeight]:
        return {w.node_id: w for w in weight_table(self.scheme)}

    @cached_property
    def locations(self) -> dict[str, Loc]:
        """YAML location of every dimension and indicator, by id."""
        out: dict[str, Loc] = {}

        def walk(dim: Dimension, loc: Loc) -> None:
            out.setdefault(dim.id, loc)
            for i, ind in enumerate(dim.indicators):
                out.setdefault(ind.id, (*loc, "indicators", i))
            for j, sub in enumerate(dim.dimensions):
                walk(sub, (*loc, "dimensions", j))

        for k, d in enumerate(self.scheme.dimensions):
            walk(d, ("dimensions", k))
        return out

    @cached_property
    def indicators(self) -> list[Indicator]:
        return self.scheme.indicators()

    def declared(self, node_id: str) -> float:
        return self.weights[node_id].declared

    def share(self, *evidence: Evidence) -> float:
        """Declared global weight share (0–1) of indicators of these evidence classes."""
        return sum(self.declared(i.id) for i in self.indicators if i.evidence in evidence)

    @staticmethod
    def reports_per_year(ind: Indicator) -> int:
        """Reports a unit files per year for this indicator: 0 when it declares no unit work
        (`burden_minutes: 0`, e.g. a survey run by a third party)."""
        return 0 if ind.burden_minutes == 0 else REPORTS_PER_YEAR[ind.frequency]

    def burden_hours(self, ind: Indicator) -> float:
        return ind.burden_hours()

    def line_path(self, *candidates: Loc) -> tuple[int | None, str]:
        """Line and key path of the first candidate location that exists in the file.

        Scheme-level findings name the key they are about (e.g. limits.max_trace_share) when the
        file sets it, else fall back to the next candidate."""
        for loc in candidates:
            if _exists(self.loaded.yaml_tree(), loc):
                return self.loaded.line_of(loc), format_path(loc)
        return (self.loaded.line_of(candidates[-1]) if candidates else None), ""


def _exists(tree: Any, loc: Loc) -> bool:
    node = tree
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


class Rule:
    """Base class of lint rules. Subclasses set `id`, `severity` and implement `check`."""

    id: ClassVar[str]
    severity: ClassVar[Severity]
    @classmethod
    def title(cls, lang: str) -> str:
        """The rule's short name for tables and docs (from the label catalogue)."""
        return label(Group.lint_rule, cls.id, lang)

    @classmethod
    def description(cls) -> str:
        return inspect.getdoc(cls) or ""

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        raise NotImplementedError

    # ---------------------------------------------------------------- helpers for subclasses

    def at_indicator(
        self, ctx: LintContext, ind: Indicator, en: str, zh: str, *,
        key: str | None = None, severity: Severity | None = None,
    ) -> Finding:
        """A finding on one indicator, pointing at `key` of it when given (else its `id`)."""
        base = ctx.locations[ind.id]
        candidates: list[Loc] = [(*base, key)] if key else []
        line, path = ctx.line_path(*candidates, (*base, "id"), base)
        return Finding(self.id, severity or self.severity, ind.id, en, zh, line, path)

    def at_scheme(
        self, ctx: LintContext, en: str, zh: str, *where: Loc, severity: Severity | None = None,
    ) -> Finding:
        """A finding on the whole scheme, pointing at the first of `where` present in the file."""
        line, path = ctx.line_path(*where, ("dimensions",))
        return Finding(self.id, severity or self.severity, None, en, zh, line, path)
