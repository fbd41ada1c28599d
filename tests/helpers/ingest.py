"""Helpers shared by the ingest tests: run the real CLI, and fingerprint every data table."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from evaluator.cli import app

DATA = Path(__file__).resolve().parent.parent / "data"
DATA_TABLES = ("units", "outcomes", "survey_responses", "targets", "events", "questions")


def cli(*args: str | Path, stdin: str | None = None):
    """Invoke `evaluator ARGS…` in-process (same Typer app as the console script). A bug (an
    exception the CLI does not turn into a message) is raised here, not folded into exit code 1
    as CliRunner does by default, where no "internal error" check could see it."""
    return CliRunner().invoke(app, [str(a) for a in args], input=stdin, catch_exceptions=False)


def ingest(db: Path, kind: str, file: Path, *extra: str | Path):
    return cli("ingest", "--db", db, "--kind", kind, file, *extra)


def fingerprint(db: Path) -> dict[str, tuple[int, str | None]]:
    """Row count and an order-independent checksum of every data table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: tuple(con.execute(  # type: ignore[misc]
                f"SELECT count(*), md5(string_agg(CAST(x AS VARCHAR), '|' "
                f"ORDER BY CAST(x AS VARCHAR))) FROM {t} AS x").fetchall()[0])
            for t in DATA_TABLES
        }
    finally:
        con.close()


def load_base(db: Path) -> None:
    """units + questions + outcomes from tests/data, through the CLI."""
    for kind, name in (("units", "units.csv"), ("questions", "questions.csv"),
                       ("outcomes", "outcomes_bom.csv")):
        result = ingest(db, kind, DATA / name)
        assert result.exit_code == 0, result.output


def copy_db(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    key = src.with_name(src.name + ".key")
    if key.exists():
        shutil.copy(key, dst.with_name(dst.name + ".key"))
    return dst
