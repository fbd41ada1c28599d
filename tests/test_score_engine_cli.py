"""`evaluator score --engine …`: option errors are explained before anything runs (no Spark
needed for these; the DuckDB-vs-Spark runs are in test_spark_equivalence.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator.cli import app

ROOT = Path(__file__).resolve().parent.parent
HDI = ROOT / "examples" / "hdi"


@pytest.fixture
def hdi_db(tmp_path: Path) -> Path:
    db = tmp_path / "hdi.duckdb"
    for kind in ("units", "outcomes"):
        result = CliRunner().invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                          str(HDI / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize("extra, says", [
    (["--inputs", "x"], "need --engine spark"),
    (["--spark-master", "local[2]"], "need --engine spark"),
    (["--engine", "spark", "--spark-master", "local[2]", "--spark-remote", "sc://h:15002"],
     "not both"),
    (["--engine", "spark", "--inputs", "no/such/folder"], "not a folder"),
    (["--engine", "flink"], "flink"),
])
def test_engine_option_errors(hdi_db: Path, extra: list[str], says: str) -> None:
    result = CliRunner().invoke(app, ["score", "--db", str(hdi_db), "--scheme",
                                      str(HDI / "scheme.yaml"), *extra])
    assert result.exit_code != 0
    assert says in result.output
    assert "Traceback" not in result.output


def test_duckdb_is_the_default_engine_and_is_recorded(hdi_db: Path) -> None:
    import duckdb

    result = CliRunner().invoke(app, ["score", "--db", str(hdi_db), "--scheme",
                                      str(HDI / "scheme.yaml"), "--engine", "duckdb"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(hdi_db), read_only=True)
    try:
        assert con.execute("SELECT parameters->>'engine' FROM runs").fetchall() == [("duckdb",)]
    finally:
        con.close()
