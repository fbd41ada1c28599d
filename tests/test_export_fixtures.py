"""Real runs for the export and appeals tests: data loaded into a fresh DB, scored by the engine.

`scored_db` builds a small township data set (seeded, vectorised with numpy), loads it as
accepted batches and scores it with `evaluator.scoring.score_run` for two periods, under the
demo scheme and the trace-heavy scheme (which has lint errors). When the ingest module is
installed the files go through `evaluator.ingest.ingest_file` like any office upload.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "indicators" / "demo_township.yaml"
TRACE_HEAVY = ROOT / "indicators" / "examples" / "trace_heavy.yaml"

MEASURES = {  # measure: (mean, sd, lower, upper)
    "income_growth_pct": (6.0, 2.0, -5, 20),
    "complaint_resolution_rate": (0.85, 0.08, 0, 1),
    "hotline_response_hours": (20, 8, 1, 72),
    "safety_incidents_per_10k": (1.5, 0.8, 0, 10),
    "school_dropout_rate": (0.01, 0.006, 0, 0.08),
    "clinic_wait_minutes": (35, 12, 5, 120),
    "meetings_held": (40, 15, 0, 200),
    "documents_issued": (80, 30, 0, 400),
    "app_checkin_rate": (0.8, 0.15, 0, 1),
    "photos_uploaded": (300, 120, 0, 2000),
    "ledger_pages": (500, 200, 0, 3000),
    "posts_liked": (900, 400, 0, 5000),
}
USE_INGEST = False  # switched on once ingest is committed and stable
QUESTIONS = ["q_overall", "q_responsiveness", "q_fairness", "q_service"]


@dataclass(frozen=True)
class Built:
    db: Path
    runs: dict[str, str]  # label -> run id, in scoring order
    units: pl.DataFrame


def make_frames(n_units: int, periods: tuple[str, ...], seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"T{i:03d}" for i in range(1, n_units + 1)]
    units = pl.DataFrame(
        {
            "unit_id": ids,
            "name": [f"第{i}镇 Town {i}" for i in range(1, n_units + 1)],
            "unit_type": "township",
            "peer_group": ["plain" if i % 3 else "mountain" for i in range(n_units)],
            "population": rng.integers(8_000, 60_000, n_units).astype(float),
        }
    )
    outcomes, surveys, events = [], [], []
    for p in periods:
        for m, (mu, sd, lo, hi) in MEASURES.items():
            outcomes.append(
                pl.DataFrame(
                    {
                        "unit_id": ids,
                        "period": p,
                        "measure": m,
                        "value": np.clip(rng.normal(mu, sd, n_units), lo, hi),
                    }
                )
            )
        per_unit = 35
        resp = np.repeat(np.arange(n_units * per_unit), len(QUESTIONS))
        quality = np.repeat(rng.normal(3.6, 0.5, n_units), per_unit * len(QUESTIONS))
        answers = np.clip(np.rint(quality + rng.normal(0, 0.9, resp.size)), 1, 5)
        surveys.append(
            pl.DataFrame(
                {
                    "response_id": [f"{p}-R{r:06d}" for r in resp],
                    "unit_id": [ids[r // per_unit] for r in resp],
                    "period": p,
                    "question": QUESTIONS * (n_units * per_unit),
                    "answer": answers,
                    "duration_s": rng.uniform(60, 400, resp.size).round(0),
                }
            )
        )
        events.append(
            pl.DataFrame(
                {
                    "unit_id": [ids[0], ids[1]],
                    "period": p,
                    "event": ["provincial_award", "major_safety_accident"],
                    "value": [1.0, 1.0],
                    "note": ["省级表彰", "事故 accident"],
                }
            )
        )
    return {
        "units": units,
        "outcomes": pl.concat(outcomes),
        "surveys": pl.concat(surveys),
        "events": pl.concat(events),
    }


def _load(con, db: Path, frames: dict[str, pl.DataFrame], tmp: Path) -> None:
    """Through ingest when it exists; else as accepted batches written straight to the tables."""
    if USE_INGEST and importlib.util.find_spec("evaluator.ingest") is not None:
        from evaluator.ingest import ingest_file

        for kind, df in frames.items():
            path = tmp / f"{kind}.csv"
            df.write_csv(path)
            ingest_file(con, kind, path, db_path=db)
        return
    table = {
        "units": "units",
        "outcomes": "outcomes",
        "surveys": "survey_responses",
        "events": "events",
    }
    for batch_id, (kind, df) in enumerate(frames.items(), start=1):
        con.execute(
            "INSERT INTO load_batches (batch_id, kind, file_name, checksum, row_count, status, "
            "loaded_at) VALUES (?, ?, ?, ?, ?, 'accepted', ?)",
            [batch_id, kind, f"{kind}.csv", f"sha-{kind}", df.height, datetime(2026, 1, batch_id)],
        )
        extra = df.with_columns(pl.lit(batch_id).alias("batch_id"))
        if "period" in df.columns:
            extra = extra.with_columns(
                pl.col("period").str.slice(0, 4).cast(pl.Int32).alias("year")
            )
        con.register("_frame", extra.to_arrow())
        cols = ", ".join(extra.columns)
        con.execute(f"INSERT INTO {table[kind]} ({cols}) SELECT {cols} FROM _frame")
        con.unregister("_frame")


def build(tmp: Path, n_units: int = 24, seed: int = 7) -> Built:
    """Two periods under the demo scheme, then 2026 under the trace-heavy scheme (lint errors)."""
    tmp.mkdir(parents=True, exist_ok=True)
    db = tmp / "evaluator.duckdb"
    frames = make_frames(n_units, ("2025", "2026"), seed)
    con = connect(db)
    try:
        _load(con, db, frames, tmp)
        demo, heavy = load_scheme(DEMO), load_scheme(TRACE_HEAVY)
        runs = {
            "demo_2025": score_run(con, demo, "2025"),
            "demo_2026": score_run(con, demo, "2026"),
            "heavy_2026": score_run(con, heavy, "2026"),
        }
    finally:
        con.close()
    return Built(db, runs, frames["units"])


def add_correction(
    db: Path, tmp: Path, unit_id: str, period: str, measure: str, value: float
) -> int:
    """Load a one-row correction batch for `measure`; returns its batch id."""
    frame = pl.DataFrame(
        {"unit_id": [unit_id], "period": [period], "measure": [measure], "value": [value]}
    )
    con = connect(db)
    try:
        before = {r[0] for r in con.execute("SELECT batch_id FROM load_batches").fetchall()}
        if USE_INGEST and importlib.util.find_spec("evaluator.ingest") is not None:
            from evaluator.ingest import ingest_file

            path = tmp / f"correction_{unit_id}_{measure}.csv"
            frame.write_csv(path)
            ingest_file(con, "outcomes", path, db_path=db)
        else:
            batch_id = max(before) + 1
            con.execute(
                "INSERT INTO load_batches (batch_id, kind, file_name, checksum, row_count, "
                "status, loaded_at) VALUES (?, 'outcomes', 'correction.csv', 'sha-c', 1, "
                "'accepted', now())",
                [batch_id],
            )
            con.execute(
                "INSERT INTO outcomes (batch_id, unit_id, period, year, measure, value) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [batch_id, unit_id, period, int(period[:4]), measure, value],
            )
        after = {r[0] for r in con.execute("SELECT batch_id FROM load_batches").fetchall()}
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
