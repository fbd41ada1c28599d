"""Real runs for the export and appeals tests: the shared demo build plus a trace-heavy run.

The session's `demo_build` (conftest: demo data generated, ingested and scored for 2025 and
2026) is copied, and the copy is also scored for 2026 under the trace-heavy scheme, whose lint
errors every export must mention. Corrections go through `evaluator.ingest.ingest_file`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from evaluator.ingest import ingest_file
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "indicators" / "demo_township.yaml"
TRACE_HEAVY = ROOT / "indicators" / "examples" / "trace_heavy.yaml"


@dataclass(frozen=True)
class Built:
    db: Path
    runs: dict[str, str]  # demo_2025, demo_2026, heavy_2026 (scored in this order)
    units: pl.DataFrame  # unit_id, name of the units scored


def copy_demo(demo_build, tmp: Path) -> Built:  # type: ignore[no-untyped-def]
    """A private copy of the demo DB (key file included) with a trace-heavy run added."""
    tmp.mkdir(parents=True, exist_ok=True)
    src = Path(demo_build.db)
    db = tmp / src.name
    for f in src.parent.iterdir():
        if f.is_file() and f.name.startswith(src.stem):
            shutil.copy2(f, tmp / f.name)
    runs = {f"demo_{p}": r for p, r in sorted(demo_build.run_ids.items())}
    runs["heavy_2026"] = rescore(db, TRACE_HEAVY, "2026")
    con = duckdb.connect(str(db), read_only=True)
    try:
        units = con.sql(
            "SELECT unit_id, unit_name AS name FROM run_scores WHERE run_id = ? ORDER BY unit_id",
            params=[runs["demo_2026"]],
        ).pl()
    finally:
        con.close()
    return Built(db, runs, units)


def add_correction(
    db: Path, tmp: Path, unit_id: str, period: str, measure: str, value: float
) -> int:
    """Load a one-row correction file for `measure` through ingest; returns its batch id."""
    path = tmp / f"correction_{unit_id}_{measure}.csv"
    pl.DataFrame(
        {"unit_id": [unit_id], "period": [period], "measure": [measure], "value": [value]}
    ).write_csv(path)
    con = connect(db)
    try:
        before = {r[0] for r in con.execute("SELECT batch_id FROM load_batches").fetchall()}
        ingest_file(con, "outcomes", path, db_path=db)
        after = {
            r[0]
            for r in con.execute(
                "SELECT batch_id FROM load_batches WHERE status = 'accepted'"
            ).fetchall()
        }
    finally:
        con.close()
    (new,) = after - before
    return int(new)


def rescore(db: Path, scheme: Path, period: str) -> str:
    con = connect(db)
    try:
        return score_run(con, load_scheme(scheme), period)
    finally:
        con.close()
