"""`lint_scheme`: run every rule over a loaded scheme and summarise its size, shares and burden.

The summary is what leadership reads about the scheme itself (how much weight rests on
paperwork, how many hours it costs each unit); the scoring engine stores the findings with a run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.lint.base import Finding, LintContext, Rule, Severity
from evaluator.lint.lexicon import Lexicon, default_lexicon
from evaluator.lint.registry import builtin_rules
from evaluator.lint.rules import top_burdens
from evaluator.scheme.loader import LoadedScheme, SchemeIssue, load_scheme
from evaluator.scheme.measures import LoadedRegistry
from evaluator.scheme.models import Evidence

TOP_BURDENS = 5


@dataclass
class LintReport:
    """Findings (unsilenced, most severe first), the silenced ones, and the scheme summary."""

    scheme_id: str
    file: str
    findings: list[Finding]
    suppressed: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(f.severity is severity for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme_id,
            "file": self.file,
            "counts": {s.value: self.count(s) for s in Severity},
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [f.to_dict() for f in self.suppressed],
            "errors": [],
            "summary": self.summary,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def unreadable_json(file: str, issues: Sequence[SchemeIssue], indent: int | None = 2) -> str:
    """The `lint --format json` object for a scheme that cannot be read or validated: same keys
    as a report, `scheme` and `summary` null, the validation errors under `errors`, so a
    pipeline reading stdout always gets JSON (the exit status, 2, says which case it is)."""
    return json.dumps({
        "scheme": None,
        "file": file,
        "counts": None,
        "findings": [],
        "suppressed": [],
        "errors": [{"line": i.line, "path": i.path, "message": i.message} for i in issues],
        "summary": None,
    }, ensure_ascii=False, indent=indent)


def lint_scheme(
    loaded: LoadedScheme,
    rules: Sequence[type[Rule]] | None = None,
    lexicon: Lexicon | None = None,
    registry: LoadedRegistry | None = None,
) -> LintReport:
    """Run the rules (all built-in ones by default) over a validated scheme; with a measure
    `registry`, measures missing from it are reported too."""
    ctx = LintContext(loaded, lexicon or default_lexicon(), registry)
    found: list[Finding] = []
    for rule_cls in rules if rules is not None else builtin_rules():
        found.extend(rule_cls().check(ctx))
    ignored = {i.id: set(i.lint.ignore) for i in ctx.indicators if i.lint is not None}
    kept: list[Finding] = []
    silenced: list[Finding] = []
    for f in found:
        muted = f.indicator is not None and f.rule in ignored.get(f.indicator, set())
        (silenced if muted else kept).append(f)
    kept.sort(key=lambda f: (-f.severity.rank, f.line or 0))
    return LintReport(ctx.scheme.id, str(loaded.path), kept, silenced, summarise(ctx))


def summarise(ctx: LintContext) -> dict[str, Any]:
    """Size, evidence split, trace/satisfaction shares and reporting burden of the scheme."""
    inds = ctx.indicators

    def r(x: float) -> float:
        return round(float(x), 6)

    by_evidence = {
        ev.value: {
            "count": sum(i.evidence is ev for i in inds),
            "declared_share": r(ctx.share(ev)),
            "effective_share": r(sum(ctx.weights[i.id].effective
                                     for i in inds if i.evidence is ev)),
        }
        for ev in Evidence
    }
    return {
        "indicator_count": len(inds),
        "dimension_count": len(ctx.scheme.all_dimensions()),
        "trace_weight_share": r(ctx.share(Evidence.trace)),
        "trace_weight_share_effective": by_evidence["trace"]["effective_share"],
        "process_trace_share": r(ctx.share(Evidence.process, Evidence.trace)),
        "satisfaction_share": r(ctx.share(Evidence.satisfaction)),
        "burden_hours_per_unit_year": r(sum(ctx.burden_hours(i) for i in inds)),
        "reports_per_unit_year": sum(ctx.reports_per_year(i) for i in inds),
        "top_burdens": [{"indicator": i.id, "hours": r(h)}
                        for i, h in top_burdens(ctx, TOP_BURDENS)],
        "burden_undeclared": [i.id for i in inds if i.burden_minutes is None],
        "trace_only": [i.id for i in inds if ctx.weights[i.id].trace_only],
        "by_evidence": by_evidence,
        "limits": ctx.scheme.limits.model_dump(mode="json"),
    }


def lint_file(path: str | Path) -> LintReport:
    """Load (raising SchemeInvalid) and lint a scheme file."""
    return lint_scheme(load_scheme(path))
