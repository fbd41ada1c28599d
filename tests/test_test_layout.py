"""Test modules share helpers through tests/helpers and fixtures through conftest.py, never by
importing each other (a test module imported by another runs its module-level code twice and
makes fixtures depend on import order)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported(tree: ast.AST) -> list[str]:
    """Every dotted name an import statement reaches: `import a.b`, `from a.b import c` (a.b.c)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names += [base] + [f"{base}.{a.name}" if base else a.name for a in node.names]
    return names


def _is_test_module(name: str) -> bool:
    """`test_x`, `tests.test_x`, `tests.browser.conftest`, `.test_x` … but not `tests.helpers`."""
    return any(part.startswith("test_") or part == "conftest" for part in name.split("."))


def test_no_test_module_imports_another() -> None:
    offenders = [f"{path.relative_to(TESTS)}: {n}"
                 for path in TESTS.rglob("*.py")
                 for n in _imported(ast.parse(path.read_text("utf-8"))) if _is_test_module(n)]
    assert not offenders


def test_the_import_check_sees_every_spelling() -> None:
    """The check must not pass because it only knew `import test_x`."""
    caught = ["import test_x", "from test_x import f", "from tests.test_x import f",
              "from tests import test_x", "from .test_x import f", "from . import conftest",
              "from tests.browser.conftest import f", "import tests.test_x"]
    allowed = ["from tests.helpers import f", "from tests.helpers.exports import f", "import pytest",
               "from evaluator.scoring import run"]
    assert all(any(map(_is_test_module, _imported(ast.parse(s)))) for s in caught)
    assert not any(_is_test_module(n) for s in allowed for n in _imported(ast.parse(s)))


def test_make_test_lints_and_type_checks_the_dashboard_too() -> None:
    """ruff and mypy used to skip dashboards/."""
    make = (TESTS.parent / "Makefile").read_text("utf-8")
    assert "ruff check evaluator dashboards" in make and "mypy evaluator dashboards" in make


def test_slow_tests_are_marked_so_a_quick_subset_exists() -> None:
    """README's quick subset (`-m "not slow and not browser and not spark"`) relies on the markers."""
    marked = [p for p in TESTS.rglob("test_*.py")
              if p != Path(__file__).resolve() and "pytest.mark.slow" in p.read_text("utf-8")]
    assert len(marked) >= 8
    readme = (TESTS.parent / "README.md").read_text("utf-8")
    assert 'pytest -m "not slow and not browser and not spark"' in readme
