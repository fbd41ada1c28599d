"""The demo pipeline: generate data, load it, score both years. Used by `evaluator demo` and tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evaluator.demo_data import DemoFiles, generate
from evaluator.ingest import ingest_file
from evaluator.publishing import set_published
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect

DEMO_SCHEME = Path(__file__).resolve().parent.parent / "indicators" / "demo_township.yaml"
INGEST_ORDER = ("units", "questions", "outcomes", "targets", "events", "surveys")


@dataclass(frozen=True)
class DemoBuild:
    db: Path
    files: DemoFiles
    run_ids: dict[str, str]  # period -> run id


def build_demo(
    db: Path,
    *,
    units: int = 120,
    seed: int = 2026,
    scheme: Path = DEMO_SCHEME,
    periods: tuple[str, ...] = ("2025", "2026"),
    say: Callable[[str], None] = lambda _msg: None,
) -> DemoBuild:
    """Generate demo files beside the DB, ingest them (already-loaded files are skipped), score."""
    out_dir = db.parent / "demo"
    say(f"generating demo data for {units} units (seed {seed}) in {out_dir}")
    files = generate(out_dir, units=units, seed=seed)
    loaded = load_scheme(scheme)
    con = connect(db)
    try:
        for kind in INGEST_ORDER:
            result = ingest_file(con, kind, files.path(kind), db_path=db)
            say(f"{kind}: {result.message}")
        run_ids = {}
        for period in periods:
            run_ids[period] = score_run(con, loaded, period, params={"scheme_file": str(scheme)})
            say(f"scored {loaded.scheme.id} for {period}: run {run_ids[period]}")
    finally:
        con.close()
    for run_id in run_ids.values():  # the demo shows every role something: its runs are released
        set_published(db, run_id, published=True, by="evaluator demo")
    say("released the demo runs to leadership and units")
    return DemoBuild(db=db, files=files, run_ids=run_ids)
