"""Helpers shared by the method tests (tests/test_methods_*.py): a one-indicator scheme as YAML
text for the validation cases, the error its loading reports, and an example scored through the
real CLI, and an example's script imported by path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from evaluator.scheme.loader import SchemeInvalid, load_scheme_text
from helpers.ingest import cli, ingest

# a scheme's first lines, up to its one dimension `d` (7 lines): its keys follow, indented 4
DIMENSION = """\
id: t
name: {zh: 测试, en: Test}
year: 2026
unit_types: [township]
dimensions:
  - id: d
    name: {zh: 维度, en: Dimension}
"""
# ... with one indicator `x`, whose keys from `source` on start at line 12
_HEAD = DIMENSION + """\
    indicators:
      - id: x
        name: {zh: 指标, en: Indicator}
        evidence: outcome
"""


def scheme_text(source: str = "{measure: x}", rule: str = "{type: direct}",
                **keys: str) -> str:
    """The scheme as YAML text: indicator `x` with `source` (line 12), the other `keys` in
    order (e.g. `transform`, line 13), then `rule` (flow-style YAML values)."""
    lines = [f"        source: {source}", *(f"        {k}: {v}" for k, v in keys.items()),
             f"        rule: {rule}"]
    return _HEAD + "\n".join(lines) + "\n"


def refusal(text: str) -> str:
    """What loading scheme `text` (as `s.yaml`) reports; the test fails if it loads."""
    with pytest.raises(SchemeInvalid) as err:
        load_scheme_text(text, "s.yaml")
    return str(err.value)


def score_example(directory: Path, scheme: Path, out: Path, period: str) -> pl.DataFrame:
    """Ingest `directory`'s units.csv and outcomes.csv into a new database beside `out`, run
    `score --out out` with `scheme`, and return scores.csv."""
    db = out.parent / f"{out.name}.duckdb"
    for kind in ("units", "outcomes"):
        done = ingest(db, kind, directory / f"{kind}.csv")
        assert done.exit_code == 0, done.output
    done = cli("score", "--db", db, "--scheme", scheme, "--period", period, "--out", out)
    assert done.exit_code == 0, done.output
    return pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})


def load_script(path: Path) -> ModuleType:
    """A script that is not a package module (an example's make_data.py), imported by path."""
    spec = importlib.util.spec_from_file_location(f"script_{path.parent.name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
