"""Ingest alone: the engine's `ingest_file` beside DuckDB's own `read_csv` of the same files.

Issue 14's ingest target is "≤ 3× DuckDB's `read_csv` of the same file in the same run, peak RSS
≤ 2 GB". `benchmarks.run --size …` measures it among every other step; this runs only the
ingest, on files already generated (`python -m benchmarks.scale_data`, or the shared ones), so
the ingest can be measured while it is being worked on:

    python -m benchmarks.ingest_run /work/scale/medium
    python -m benchmarks.ingest_run /work/scale/province --repeat 2

Each side runs in a fresh interpreter (its peak RSS, VmHWM, is its own), engine first then the
floor, `--repeat` times alternating; the table prints each kind's seconds, the engine/floor
ratio, rows/s and the peak RSS, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.scale_run import KINDS, ROOT, _rss_mb

FLOOR_TYPES = {"units": "{'unit_id': 'VARCHAR'}", "questions": "{'question': 'VARCHAR'}"}


def engine(data: Path, work: Path) -> dict[str, Any]:
    from evaluator.ingest import ingest_file
    from evaluator.store import connect

    fig: dict[str, Any] = {}
    db = work / "engine.duckdb"
    con = connect(db)
    start = time.perf_counter()
    for kind in KINDS:
        t = time.perf_counter()
        res = ingest_file(con, kind, data / f"{kind}.csv", db_path=db)
        fig[f"{kind}_s"] = time.perf_counter() - t
        fig[f"{kind}_rows"] = res.rows
    fig["total_s"] = time.perf_counter() - start
    fig["peak_rss_mb"] = _rss_mb()
    con.close()
    return fig


def floor(data: Path, work: Path) -> dict[str, Any]:
    import duckdb

    fig: dict[str, Any] = {}
    con = duckdb.connect(str(work / "floor.duckdb"))
    start = time.perf_counter()
    for kind in KINDS:
        types = FLOOR_TYPES.get(kind, "{'unit_id': 'VARCHAR', 'period': 'VARCHAR'}")
        t = time.perf_counter()
        con.execute(f"CREATE TABLE {kind} AS SELECT * FROM "
                    f"read_csv('{data / (kind + '.csv')}', types = {types})")
        fig[f"{kind}_s"] = time.perf_counter() - t
    fig["total_s"] = time.perf_counter() - start
    fig["peak_rss_mb"] = _rss_mb()
    con.close()
    return fig


SIDES = {"engine": engine, "floor": floor}


def run_side(side: str, data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"ingest-{side}-") as tmp:
        out = Path(tmp) / "out.json"
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        subprocess.run([sys.executable, "-m", "benchmarks.ingest_run", "--side", side,
                        str(data), tmp, str(out)], check=True, env=env, cwd=ROOT)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", type=Path, help="folder with units/questions/outcomes/surveys.csv")
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--repeat", type=int, default=1, help="runs of each side (alternating)")
    p.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side:  # a child: run one side, write its figures
        work, out = map(Path, args.rest)
        Path(out).write_text(json.dumps(SIDES[args.side](args.data.resolve(), work)))
        return 0
    data = args.data.resolve()
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, Any]]] = {"engine": [], "floor": []}
    for _ in range(args.repeat):
        for side in ("engine", "floor"):
            runs[side].append(run_side(side, data))
    load_after = os.getloadavg()
    best = {s: min(r, key=lambda f: f["total_s"]) for s, r in runs.items()}
    e, f = best["engine"], best["floor"]
    print(f"ingest of {data} (best of {args.repeat}); load average before "
          f"{load_before[0]:.1f}/{load_before[1]:.1f}, after {load_after[0]:.1f}/"
          f"{load_after[1]:.1f}")
    print(f"{'kind':<11}{'rows':>12}{'engine s':>10}{'floor s':>10}{'eng/floor':>10}"
          f"{'rows/s':>12}")
    for kind in (*KINDS, "total"):
        rows = (sum(e[f"{k}_rows"] for k in KINDS) if kind == "total" else e[f"{kind}_rows"])
        es, fs = e[f"{kind}_s"], f[f"{kind}_s"]
        print(f"{kind:<11}{rows:>12,}{es:>10.2f}{fs:>10.2f}{es / fs:>9.2f}×{rows / es:>12,.0f}")
    print(f"peak RSS (VmHWM): engine {e['peak_rss_mb']:,.0f} MB, floor {f['peak_rss_mb']:,.0f} MB")
    print(f"target: engine ≤ 3× floor: {e['total_s'] / f['total_s']:.2f}× "
          f"{'met' if e['total_s'] <= 3 * f['total_s'] else 'MISSED'}; peak RSS ≤ 2,048 MB: "
          f"{'met' if e['peak_rss_mb'] <= 2048 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
