"""The formalism linter: audits a scheme for trace-first, paperwork-heavy assessment.

Rules are small classes in `evaluator.lint.rules`; `lint_scheme(loaded)` runs them all.
"""

from evaluator.lint.base import Finding, LintContext, Rule, Severity
from evaluator.lint.registry import builtin_rules, rule_ids
from evaluator.lint.report import LintReport, lint_file, lint_scheme

__all__ = [
    "Finding", "LintContext", "LintReport", "Rule", "Severity",
    "builtin_rules", "lint_file", "lint_scheme", "rule_ids",
]  # fmt: skip
