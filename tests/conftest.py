"""Shared fixtures: a demo database built through the real pipeline, once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers.office import SOFFICE
from helpers.scoring import memory_db
from hypothesis import HealthCheck, settings

from evaluator.appstore import app_db_path
from evaluator.snapshot import publish_snapshot

ROOT = Path(__file__).resolve().parent.parent
# pytest-xdist's workers inherit COLUMNS=80 / LINES=24, which Rich reads once, when the CLI's
# consoles are made: tests that set COLUMNS for one command would then see 80 columns. Without
# them a worker prints as a plain `pytest` run does.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# Property-based tests: a fixed budget in CI, more locally on demand (HYPOTHESIS_PROFILE=deep).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The fuzz counts (inputs tried, loaded, rejected, crashes), when test_fuzz ran."""
    import sys

    fuzz = sys.modules.get("test_fuzz")
    if fuzz is not None and fuzz.STATS:
        terminalreporter.write_line(fuzz.summary())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n … --dist loadgroup` every Spark test runs on one worker: one JVM (the
    session fixture below) instead of one per worker on the same cores."""
    for item in items:
        if "spark_engine" in getattr(item, "fixturenames", ()) or item.get_closest_marker("spark"):
            item.add_marker(pytest.mark.xdist_group("spark"))


def pytest_configure(config: pytest.Config) -> None:
    """In CI the browser tests must run, not skip: a missing Chromium is a CI failure."""
    if os.environ.get("CI") and shutil.which("chromium") is None:
        raise pytest.UsageError("CI: Debian's chromium is missing; `make browser` installs it")
    if os.environ.get("CI") and SOFFICE is None:
        raise pytest.UsageError("CI: LibreOffice (soffice) is missing; `make browser` installs it")


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory store with the real schema, for one test (a module may define its own)."""
    yield from memory_db()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory):
    """Demo data generated, ingested and scored for 2025 and 2026 (the `evaluator demo` path).

    Tests must treat it as read-only; copy the DB file to modify it.
    """
    from evaluator.demo import build_demo

    db = tmp_path_factory.mktemp("demo") / "evaluator.duckdb"
    return build_demo(db)


@pytest.fixture(scope="session")
def demo_db(demo_build) -> Path:
    return Path(demo_build.db)


# --------------------------------------------------------------------------- dashboard databases


@pytest.fixture(scope="module")
def dash_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the (closed) demo DB with its snapshot published."""
    db = tmp_path_factory.mktemp("dash") / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    publish_snapshot(db)
    return db


@pytest.fixture(scope="module")
def snap(dash_db: Path):
    con = duckdb.connect(str(dash_db.parent / "snapshots" / "evaluator.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def gate_db(dash_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dash_db's folder (DB + snapshot) copied, so users added here stay out of other tests."""
    target = tmp_path_factory.mktemp("gate") / "site"
    shutil.copytree(dash_db.parent, target)
    db = target / dash_db.name
    assert not app_db_path(db).exists()
    return db



# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Spark local[2] session (one JVM start) for every Spark test of the test session.

    Skipped where pyspark or Java is missing, unless CI is set: there a missing Spark fails the
    test (`make install-test` installs both)."""
    from evaluator.scoring.engines.spark import SparkEngine, spark_available, start_session

    missing = spark_available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI: the Spark tests must run: {missing} (make install-test installs "
                        "both)")
        pytest.skip(missing)
    spark = start_session("local[2]")
    yield SparkEngine(spark, tmp_path_factory.mktemp("spark"))
    spark.stop()
