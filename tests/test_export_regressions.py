"""Regressions from the acceptance test of the exports (zh text, flags, summary layout, manifest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_export_fixtures import Built, copy_demo

from evaluator.export import export_run
from evaluator.export.manifest import verify_manifest


@pytest.fixture(scope="module")
def built(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Built:  # type: ignore[no-untyped-def]
    return copy_demo(demo_build, tmp_path_factory.mktemp("export_regressions"))


@pytest.fixture(scope="module")
def heavy_csv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace-heavy run (lint errors) exported as CSV with cards and summaries."""
    out = tmp_path_factory.mktemp("heavy_csv")
    export_run(built.db, built.runs["heavy_2026"], fmt="csv", out=out)
    return out


def test_verify_manifest_accepts_a_str_path(heavy_csv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(heavy_csv, copy)
    assert verify_manifest(str(copy)) == [] == verify_manifest(copy)
    (copy / "flags.csv").write_text("tampered\n", encoding="utf-8")
    assert verify_manifest(str(copy)) == ["flags.csv"] == verify_manifest(copy)
