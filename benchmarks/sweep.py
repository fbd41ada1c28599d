"""Size sweep: does cost grow linearly with units, answers and indicators?

    python -m benchmarks.sweep --axis units --values 500,1000,2000,4000
    python -m benchmarks.sweep --axis indicators --values 100,200,400,1000 --units 120
    python -m benchmarks.sweep --axis units --values 500,1000,2000 --record

Each point is generated with `benchmarks.scale_data` (answers scale with units unless the axis is
`answers`) and measured in a fresh process (as `scale_run.engine_side`'s first steps): ingest,
load + validate the scheme, lint it, `score_run`, and the re-score after a weights-only change,
beside a floor measured in the same process (DuckDB's own `GROUP BY` of the year's outcomes). The table
prints seconds and seconds per unit of the axis; a linear step keeps the per-unit figure flat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
ANSWERS_PER_UNIT = 500  # medium: 2,000 units, 1 M answers


def point(data: Path) -> dict[str, float]:
    """One point, in this process: ingest, scheme load, score, re-score (seconds)."""
    from benchmarks.scale_run import KINDS, YEAR, reweighted
    from evaluator.ingest import ingest_file
    from evaluator.lint.report import lint_scheme
    from evaluator.scheme import load_scheme
    from evaluator.scoring import score_run
    from evaluator.store import connect

    fig: dict[str, float] = {}
    db = data / "sweep.duckdb"
    con = connect(db)
    t = time.perf_counter()
    for kind in KINDS:
        ingest_file(con, kind, data / f"{kind}.csv", db_path=db)
    fig["ingest_s"] = time.perf_counter() - t
    t = time.perf_counter()  # the floor: DuckDB's own roll-up of the year's outcome values
    con.execute("SELECT unit_id, measure, SUM(value), COUNT(*) FROM outcomes "
                f"WHERE year = {int(YEAR)} GROUP BY unit_id, measure").fetchall()
    fig["floor_s"] = time.perf_counter() - t
    t = time.perf_counter()
    loaded = load_scheme(data / "scheme.yaml")
    fig["scheme_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lint_scheme(loaded)
    fig["lint_s"] = time.perf_counter() - t
    t = time.perf_counter()
    score_run(con, loaded, YEAR, publish_snapshot=False)
    fig["score_s"] = time.perf_counter() - t
    swapped = reweighted(data / "scheme.yaml", data / "reweighted.yaml")
    t = time.perf_counter()
    score_run(con, load_scheme(swapped), YEAR, publish_snapshot=False)
    fig["rescore_s"] = time.perf_counter() - t
    con.close()
    return fig


def sweep(axis: str, values: list[int], units: int, indicators: int, seed: int
          ) -> list[dict[str, Any]]:
    from benchmarks.scale_data import generate

    rows = []
    for v in values:
        spec = {"units": units, "indicators": indicators, "periods": 4}
        spec[axis] = v
        if axis != "answers":  # answers grow with units, as in the named sizes
            spec["answers"] = spec["units"] * ANSWERS_PER_UNIT
        with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
            files = generate(Path(tmp), seed=seed, **spec)
            env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}"
                                               f"{os.environ.get('PYTHONPATH', '')}"}
            out = subprocess.run([sys.executable, "-m", "benchmarks.sweep", "--point", tmp],
                                 check=True, env=env, cwd=ROOT, capture_output=True, text=True)
            fig = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({"spec": spec, "rows": files.rows, **fig,
                     "load": [round(x, 2) for x in os.getloadavg()]})
        print(f"{axis}={v:>7,}: " + "  ".join(f"{k} {fig[k]:7.2f}" for k in fig)
              + f"  (per 1,000 {axis}: score {1000 * fig['score_s'] / v:.3f} s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--axis", choices=("units", "indicators", "answers"), default="units")
    p.add_argument("--values", default="500,1000,2000")
    p.add_argument("--units", type=int, default=120)
    p.add_argument("--indicators", type=int, default=60)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--record", action="store_true", help="write results/<date>-sweep-AXIS.json")
    p.add_argument("--point", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.point is not None:
        print(json.dumps(point(args.point)))
        return 0
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import machine

    values = [int(x) for x in args.values.split(",") if x.strip()]
    rows = sweep(args.axis, values, args.units, args.indicators, args.seed)
    if args.record:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
        path = RESULTS / f"{stamp}-sweep-{args.axis}.json"
        path.write_text(json.dumps({"kind": "sweep", "axis": args.axis, "machine": machine(),
                                    "recorded_at": stamp, "points": rows}, indent=1) + "\n",
                        encoding="utf-8")
        print(f"recorded {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
