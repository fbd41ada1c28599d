"""Server time of every dashboard page, per role, at a given number of units.

Usage: python -m benchmarks.pages [--units 2000] [--db DB] [--roles office,leadership,unit]
                                  [--lang zh] [--repeat 3] [--no-uncertainty] [--app APP]

"Server time" is what Streamlit spends running a page's script for one browser request: here
`streamlit.testing.v1.AppTest.run()` of `dashboards/app.py`, signed in as a built-in user of
each role, on the page (the browser's own rendering is not included). Two figures per page:

- `cold`: the first visit after the read cache was cleared (`st.cache_data.clear()`), as the
  first reader after a new snapshot meets it;
- `warm`: the best of `--repeat` reruns of the same page (a click that changes nothing the
  read model is asked), i.e. the page's own work: drawing, tables, charts.

The floor, measured in the same process and the same way, is a one-screen app that reads the
run's league rows from the same snapshot (one SQL query) and draws them in one `st.dataframe`:
what any page showing a 2,000-row table costs at least. Each figure is printed with its ratio to
the floor's. The target (issue 12) is every page <= 1 s at 2,000 units (issue 14: also at
20,000); a shared machine's load is printed with the figures (`os.getloadavg`), since it moves
them, and each request's CPU seconds (user+sys of the process, every thread), which it moves
far less.

Without `--db` the script builds the demo database (`evaluator demo --units N --no-serve`, both
periods scored and released) in a temporary folder, with intervals (`evaluator uncertainty`,
100 replicates) so the Sensitivity page and the tiers have data. With `--db` it works on a copy
(users are added to the copy's app store and its latest run is released; the given files are
not changed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboards" / "app.py")
PASSWORD = "bench-river-42"
TARGET_S = 1.0
PAGES = {  # page id → (file, roles that may open it)
    "overview": ("views/overview.py", ("office", "leadership", "unit")),
    "compare": ("views/compare.py", ("office", "leadership")),
    "heatmap": ("views/heatmap.py", ("office", "leadership")),
    "unit": ("views/unit.py", ("office", "leadership", "unit")),
    "scheme_health": ("views/scheme_health.py", ("office",)),
    "data_quality": ("views/data_quality.py", ("office",)),
    "sensitivity": ("views/sensitivity.py", ("office", "leadership", "unit")),
    "scheme_editor": ("views/scheme_editor.py", ("office",)),
}

FLOOR_APP = '''
import os
import duckdb
import streamlit as st
con = duckdb.connect(os.environ["BENCH_SNAPSHOT"], read_only=True)
run = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][0]
df = con.sql("SELECT * FROM run_scores WHERE run_id = ? ORDER BY rank", params=[run]).pl()
con.close()
st.title("floor")
st.dataframe(df, hide_index=True, height=35 * (df.height + 1) + 3)
'''


def _evaluator(*args: str, stdin: str | None = None) -> str:
    # wide: `users list` is a table whose cells are cut to the terminal's width otherwise
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "evaluator", *args], input=stdin, text=True,
                         capture_output=True, cwd=ROOT, check=False, env=env)
    if out.returncode != 0:
        raise SystemExit(f"evaluator {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(work: Path, units: int, uncertainty: bool) -> Path:
    db = work / "evaluator.duckdb"
    _say(f"· building the demo database with {units:,} units in {work}")
    _evaluator("demo", "--db", str(db), "--units", str(units), "--no-serve")
    if uncertainty:
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            run = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1"
                              ).fetchall()[0][0]
        _say("· intervals for the latest run (evaluator uncertainty, 100 replicates)")
        _evaluator("uncertainty", "--db", str(db), "--run", run, "--replicates", "100")
    return db


def copy_db(src: Path, work: Path) -> Path:
    db = work / src.name
    shutil.copy(src, db)
    for extra in src.parent.glob(src.name + ".app.db*"):
        shutil.copy(extra, work / extra.name)
    return db


def add_users(db: Path) -> str:
    """One built-in user per role (a unit user for the first unit of the latest run), and the
    latest run released to them."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        run, released, unit = con.execute(
            "SELECT r.run_id, coalesce(r.published, FALSE), min(s.unit_id) FROM runs r "
            "LEFT JOIN run_scores s USING (run_id) "
            "WHERE r.run_id = (SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1) "
            "GROUP BY ALL"
        ).fetchall()[0]
    listed = _evaluator("users", "list", "--db", str(db))
    for name, role in (("bench_office", "office"), ("bench_lead", "leadership"),
                       ("bench_unit", "unit")):
        if name in listed:
            continue
        extra = ["--unit", str(unit)] if role == "unit" else []
        _evaluator("users", "add", name, "--role", role, *extra, "--password-stdin",
                   "--db", str(db), stdin=PASSWORD + "\n")
    # released, so leadership and unit pages draw the run, not the "nothing released" state;
    # this also writes the snapshot the dashboard reads
    _evaluator("publish", "--db", str(db), *(() if released else ("--run", str(run))))
    return str(unit)


CPU: dict[str, list[float]] = {}  # page figure → CPU seconds (user+sys, all threads) per run


def _timed(fn: Callable[[], object], cpu: list[float] | None = None) -> float:
    """Wall seconds of `fn()`; its CPU seconds (process_time: every thread of the process, so
    DuckDB's too) appended to `cpu`. On a loaded machine CPU is the figure that does not move."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return time.perf_counter() - t0


def _check(at: object, what: str) -> None:
    errors = [e.value for e in at.exception]  # type: ignore[attr-defined]
    if errors:
        raise SystemExit(f"{what}: the page raised {errors}")


def measure_floor(snapshot: Path, repeat: int) -> tuple[float, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["BENCH_SNAPSHOT"] = str(snapshot)
    at = AppTest.from_string(FLOOR_APP, default_timeout=300)
    at.run()  # imports, first connection: as the pages' untimed first visit
    st.cache_data.clear()
    cpu_cold: list[float] = []
    cold = _timed(at.run, cpu_cold)
    _check(at, "floor")
    cpu_warm: list[float] = []
    warm = min(_timed(at.run, cpu_warm) for _ in range(repeat))
    CPU["floor"] = [cpu_cold[0], min(cpu_warm)]
    return cold, warm


def measure_role(db: Path, role: str, lang: str, repeat: int, app: str = APP
                 ) -> dict[str, tuple[float, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    name = {"office": "bench_office", "leadership": "bench_lead", "unit": "bench_unit"}[role]
    at = AppTest.from_file(app, default_timeout=300)
    at.query_params["lang"] = lang
    at.run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    _check(at, f"sign-in as {role}")
    allowed = [(page, path) for page, (path, roles) in PAGES.items() if role in roles]
    for _page, path in allowed:  # once each, untimed: imports and first-use costs of the process
        at.switch_page(path)
        at.run()
    figures: dict[str, tuple[float, float]] = {}
    for page, path in allowed:
        at.switch_page(path)
        st.cache_data.clear()
        cpu_cold: list[float] = []
        cold = _timed(at.run, cpu_cold)
        _check(at, f"{page} as {role}")
        if at.error:
            raise SystemExit(f"{page} as {role}: {[e.value for e in at.error]}")
        cpu_warm: list[float] = []
        warm = min(_timed(at.run, cpu_warm) for _ in range(repeat))
        figures[page] = (cold, warm)
        CPU[f"{role}/{page}"] = [cpu_cold[0], min(cpu_warm)]
        _say(f"  {role:<10} {page:<14} cold {cold:6.2f} s  warm {warm:6.2f} s  "
             f"(CPU {cpu_cold[0]:.2f} / {min(cpu_warm):.2f} s)")
    return figures


def report(results: dict[str, dict[str, tuple[float, float]]], floor: tuple[float, float],
           units: int, load: tuple[tuple[float, ...], tuple[float, ...]]) -> list[str]:
    lines = [
        f"dashboard pages at {units:,} units: server seconds per request (AppTest.run)",
        f"load average before {load[0][0]:.2f} {load[0][1]:.2f} {load[0][2]:.2f}, "
        f"after {load[1][0]:.2f} {load[1][1]:.2f} {load[1][2]:.2f}; {os.cpu_count()} cores",
        f"floor (one query + one st.dataframe of the league rows): cold {floor[0]:.2f} s, "
        f"warm {floor[1]:.2f} s (CPU {CPU.get('floor', [0, 0])[0]:.2f} / "
        f"{CPU.get('floor', [0, 0])[1]:.2f} s)",
        "CPU = user+sys seconds of the process (all threads) during the request: the figure to "
        "compare when the load average is above the cores",
        "",
        f"{'role':<11}{'page':<15}{'cold s':>8}{'cold/floor':>12}{'warm s':>8}"
        f"{'warm/floor':>12}{'cold CPU':>10}{'warm CPU':>10}  <= {TARGET_S:g} s",
    ]
    for role, pages in results.items():
        for page, (cold, warm) in pages.items():
            ok = "yes" if cold <= TARGET_S and warm <= TARGET_S else (
                "warm only" if warm <= TARGET_S else "NO")
            cpu = CPU.get(f"{role}/{page}", [float("nan"), float("nan")])
            lines.append(f"{role:<11}{page:<15}{cold:>8.2f}{cold / floor[0]:>12.1f}"
                         f"{warm:>8.2f}{warm / floor[1]:>12.1f}{cpu[0]:>10.2f}{cpu[1]:>10.2f}  {ok}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from streamlit import logger

    logger.set_log_level("error")  # "no runtime found" from clearing the cache outside a server
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--units", type=int, default=2000, help="demo units when no --db (2000)")
    p.add_argument("--db", type=Path, help="an existing evaluator database (a copy is used)")
    p.add_argument("--roles", default="office,leadership,unit")
    p.add_argument("--lang", default="zh", choices=("zh", "en"))
    p.add_argument("--repeat", type=int, default=3, help="warm reruns per page (best kept)")
    p.add_argument("--app", default=APP, help="the dashboard entry script to measure (another "
                   "checkout's dashboards/app.py, with PYTHONPATH on that checkout: before/after)")
    p.add_argument("--no-uncertainty", action="store_true",
                   help="build the demo without intervals (Sensitivity then says how to compute)")
    args = p.parse_args(argv)
    roles = [r for r in args.roles.split(",") if r]
    with tempfile.TemporaryDirectory(prefix="bench_pages_") as tmp:
        work = Path(tmp)
        db = copy_db(args.db, work) if args.db else build(work, args.units, not args.no_uncertainty)
        add_users(db)
        os.environ["EVALUATOR_DB"] = str(db)
        os.environ.pop("EVALUATOR_SNAPSHOT", None)
        os.environ.pop("EVALUATOR_NO_AUTH", None)
        os.environ.setdefault("EVALUATOR_SCHEMES", str(ROOT / "indicators"))  # scheme editor
        import duckdb

        snapshot = db.parent / "snapshots" / db.name
        with duckdb.connect(str(snapshot), read_only=True) as con:
            units = con.execute(
                "SELECT count(*) FROM run_scores WHERE run_id = "
                "(SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1)").fetchall()[0][0]
        before = os.getloadavg()
        floor = measure_floor(snapshot, args.repeat)
        results = {role: measure_role(db, role, args.lang, args.repeat, args.app) for role in roles}
        after = os.getloadavg()
    print("\n".join(report(results, floor, units, (before, after))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
