"""Test modules share helpers through tests/helpers and fixtures through conftest.py, never by
importing each other (a test module imported by another runs its module-level code twice and
makes fixtures depend on import order)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(TESTS)}: {n}" for n in names
                          if n.split(".")[0].startswith("test_") or n == "conftest"]
    assert not offenders


def test_make_test_lints_and_type_checks_the_dashboard_too() -> None:
    """ruff and mypy used to skip dashboards/."""
    make = (TESTS.parent / "Makefile").read_text("utf-8")
    assert "ruff check evaluator dashboards" in make and "mypy evaluator dashboards" in make


def test_slow_tests_are_marked_so_a_quick_subset_exists() -> None:
    """README's quick subset (`-m "not slow and not browser"`) relies on the marker being used."""
    marked = [p for p in TESTS.rglob("test_*.py") if "pytest.mark.slow" in p.read_text("utf-8")]
    assert len(marked) >= 8
    assert 'pytest -m "not slow and not browser"' in (TESTS.parent / "README.md").read_text("utf-8")
