"""Performance benchmark of the whole pipeline: generate → ingest → score → export.

Usage: python benchmarks/run.py [--units 120,2000,20000] [--quick] [--record] [--strict]

Each size runs in a fresh child process, so "cold" really is cold (no cached templates, no warm
DuckDB buffers) and the peak RSS (ru_maxrss) belongs to that size alone. The parent prints the
figures, checks them against the targets (issue 4, ROADMAP) and against the committed baseline
record `benchmarks/results/baseline.json` (ratio new/baseline), and with --record writes
`results/<date>-<host-hash>.json` (and the baseline itself when there is none yet).
Timings are wall-clock seconds (time.perf_counter); on a shared machine they are noisy, which is
why each record carries the load average before and after each size. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = RESULTS / "baseline.json"
SCHEME = ROOT / "indicators" / "demo_township.yaml"
PERIOD = "2026"
SEED = 2026
DEFAULT_UNITS = (120, 2000)
SPARK_UNITS = 2000  # the medium size: the Spark local run is measured there, beside DuckDB
INGEST_ORDER = ("units", "questions", "outcomes", "targets", "events", "surveys")
RECORD_SCHEMA = 2  # 2: demo data generated in its own process (not in peak RSS)
REGRESSION = 1.5  # a figure this many times worse than the baseline is marked as a regression


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """How to show and compare one measured figure."""

    label: str
    unit: str
    better: str  # "lower" or "higher": which way is an improvement


def _figures() -> dict[str, Figure]:
    f = {
        "generate_s": Figure("generate demo data (own process) 生成数据", "s", "lower"),
    }
    for kind in INGEST_ORDER:
        f[f"ingest_{kind}_s"] = Figure(f"ingest {kind} 导入", "s", "lower")
    f.update({
        "ingest_outcomes_rows_per_s": Figure("ingest outcomes rate 导入速率", "rows/s", "higher"),
        "ingest_surveys_rows_per_s": Figure("ingest surveys rate 导入速率", "rows/s", "higher"),
        "ingest_total_s": Figure("ingest all kinds 全部导入", "s", "lower"),
        "score_cold_s": Figure("score_run cold 首次评分", "s", "lower"),
        "score_warm_s": Figure("score_run warm 再次评分", "s", "lower"),
        "rescore_weight_s": Figure("re-score, one weight changed 改权重重算", "s", "lower"),
        "snapshot_s": Figure("publish snapshot 发布快照", "s", "lower"),
        "spark_session_s": Figure("Spark local[2] session start 启动", "s", "lower"),
        "spark_stage_s": Figure("Spark: store views → Parquet 输入", "s", "lower"),
        "score_spark_s": Figure("score_run on Spark local[2] 评分", "s", "lower"),
        "score_spark_warm_s": Figure("score_run on Spark, again 再次评分", "s", "lower"),
        "score_spark_cpu_s": Figure("Spark cold run, CPU (JVM + Python) 处理器时间", "s", "lower"),
        "score_spark_load": Figure("load average during the Spark runs 负载", "", "lower"),
        "spark_max_score_diff": Figure("Spark vs DuckDB: max |score diff| 差异", "pts", "lower"),
        "spark_rank_diffs": Figure("Spark vs DuckDB: ranks that differ 排名差异", "units", "lower"),
        "uncertainty_s": Figure("uncertainty, 500 replicates (own process) 不确定性", "s",
                                "lower"),
        "uncertainty_s_per_100": Figure("bootstrap per 100 replicates 每百次重抽样", "s", "lower"),
        "uncertainty_rss_mb": Figure("peak RSS (uncertainty process) 内存峰值", "MB", "lower"),
        "uncertainty_cpu_s": Figure("uncertainty, CPU seconds (all threads) CPU 时间", "s",
                                    "lower"),
        "uncertainty_floor_s_per_100": Figure(
            "floor: one resampled mean per unit, per 100 replicates 下限", "s", "lower"),
        "uncertainty_floor_ratio": Figure("bootstrap ÷ floor 与下限之比", "×", "lower"),
        "export_xlsx_s": Figure("export xlsx 导出", "s", "lower"),
        "export_csv_s": Figure("export csv 导出", "s", "lower"),
        "peak_rss_mb": Figure("peak RSS (pipeline) 内存峰值", "MB", "lower"),
        "survey_mean_duckdb_view_s": Figure("survey mean: DuckDB current view", "s", "lower"),
        "survey_mean_duckdb_table_s": Figure("survey mean: DuckDB base table", "s", "lower"),
        "survey_mean_polars_s": Figure("survey mean: polars in memory", "s", "lower"),
        "survey_mean_pandas_s": Figure("survey mean: pandas in memory", "s", "lower"),
        "survey_read_pandas_s": Figure("survey CSV read: pandas", "s", "lower"),
    })
    return f


FIGURES = _figures()


@dataclass(frozen=True)
class Target:
    """A performance promise: `figure` at `units` must be below (or above) `limit`."""

    figure: str
    units: int | None  # None: every size
    limit: float
    source: str
    min_units: int = 0  # throughput targets are judged only where fixed costs are amortised

    def applies(self, units: int) -> bool:
        return (self.units is None or self.units == units) and units >= self.min_units

    def met(self, value: float) -> bool:
        if FIGURES[self.figure].better == "lower":
            return value < self.limit
        return value >= self.limit


TARGETS = (
    Target("score_cold_s", 120, 3.0, "issue 4"),
    Target("score_cold_s", 2000, 10.0, "ROADMAP"),
    Target("ingest_surveys_rows_per_s", None, 100_000.0, "ROADMAP", min_units=1000),
    Target("rescore_weight_s", None, 1.0, "ROADMAP"),
    Target("uncertainty_s", 2000, 30.0, "issue 15"),
)


def ratio(new: float, base: float) -> float | None:
    """new/baseline, or None when the baseline is zero or missing."""
    if not base:
        return None
    return new / base


def is_regression(name: str, r: float | None, threshold: float = REGRESSION) -> bool:
    """True when ratio `r` of figure `name` is worse than the baseline by `threshold` times."""
    if r is None:
        return False
    if FIGURES[name].better == "lower":
        return r > threshold
    return r < 1 / threshold


# --------------------------------------------------------------------------- child: one size


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


class Steps:
    """Times pipeline steps; with a profile folder, also runs each under cProfile.

    Profiled timings are inflated by the profiler, so a profiled run is never recorded.
    """

    PROFILED = ("ingest_surveys_s", "score_cold_s", "score_warm_s", "export_xlsx_s",
                "export_csv_s")

    def __init__(self, units: int, profile_dir: Path | None):
        self.units, self.profile_dir = units, profile_dir

    def run(self, name: str, fn: Callable[[], Any]) -> tuple[float, Any]:
        if self.profile_dir is None or name not in self.PROFILED:
            return _timed(fn)
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        secs, out = _timed(lambda: prof.runcall(fn))
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        stem = self.profile_dir / f"{self.units}-{name.removesuffix('_s')}"
        prof.dump_stats(stem.with_suffix(".prof"))
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text).sort_stats("cumulative")
        stats.print_stats(r"evaluator/|engine.py.*(execute|fetch)|sqlglot/__init__|xlsxwriter/work", 40)
        stem.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")
        return secs, out


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes)
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reweighted_scheme(dst: Path) -> Path:
    """A copy of the demo scheme with the first two weights of its first dimension swapped.

    Swapping keeps every declared total valid, and it changes scores, so nothing may be reused
    by accident from the previous run's aggregation.
    """
    from ruamel.yaml import YAML

    yaml = YAML()
    doc = yaml.load(SCHEME.read_text(encoding="utf-8"))
    first = doc["dimensions"][0]["indicators"]
    first[0]["weight"], first[1]["weight"] = first[1]["weight"], first[0]["weight"]
    with dst.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    return dst


@dataclass(frozen=True)
class Generated:
    """Where the demo files are and how many rows each has."""

    out_dir: Path
    rows: dict[str, int]

    def path(self, kind: str) -> Path:
        return self.out_dir / f"{kind}.csv"


def generate_apart(out_dir: Path, units: int, seed: int) -> Generated:
    """Generate the demo data in a separate process, so that the memory the generator needs
    (all rows as numpy/polars frames at once) does not count in the pipeline's peak RSS."""
    code = ("import json, sys; from pathlib import Path; from evaluator.demo_data import generate; "
            "f = generate(Path(sys.argv[1]), units=int(sys.argv[2]), seed=int(sys.argv[3])); "
            "print(json.dumps(f.rows))")
    proc = subprocess.run([sys.executable, "-c", code, str(out_dir), str(units), str(seed)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"generating demo data failed:\n{proc.stderr[-2000:]}")
    return Generated(out_dir, json.loads(proc.stdout.strip().splitlines()[-1]))


UNCERTAINTY_REPLICATES = 500


#: the floor of the bootstrap in DuckDB alone: every valid response × replicate with a hashed
#: Poisson(1) count, one weighted mean per replicate × unit (of the first survey question),
#: nothing else: what resampling respondents costs before any rescoring
UNCERTAINTY_FLOOR = """
CREATE OR REPLACE TEMP TABLE _floor AS
WITH r AS (SELECT CAST(range AS INTEGER) AS rep FROM range({reps})),
v AS (SELECT unit_id, response_id, coalesce(weight, 1.0) AS w, answer,
             hash(response_id) AS h FROM current_survey_responses
      WHERE year = 2026 AND question = (SELECT min(question) FROM current_survey_responses)),
d AS (SELECT r.rep, v.*, ((hash(xor(v.h, CAST(r.rep AS UBIGINT))) % 4294967296) + 0.5)
             / 4294967296.0 AS u FROM v CROSS JOIN r),
k AS (SELECT *, CASE WHEN u < 0.36787944117144233 THEN 0 WHEN u < 0.7357588823428847 THEN 1
                     WHEN u < 0.9196986029286058 THEN 2 WHEN u < 0.9810118431238462 THEN 3
                     ELSE 4 END AS k FROM d)
SELECT rep, unit_id, sum(k * w * answer) / nullif(sum(k * w), 0) AS mean
FROM k GROUP BY rep, unit_id
"""


def uncertainty_apart(db: Path, run_id: str) -> dict[str, float]:
    """`evaluator uncertainty` (500 replicates) in its own process, so its peak RSS is its own;
    then, in the same process, the floor (UNCERTAINTY_FLOOR) on the same data."""
    code = ("import json, resource, sys, time; from evaluator.store import connect; "
            "from evaluator.uncertainty import compute_uncertainty; con = connect(sys.argv[1]); "
            "c0 = time.process_time(); "
            "r = compute_uncertainty(con, sys.argv[2], replicates=int(sys.argv[3])); "
            "cpu = time.process_time() - c0; rss = resource.getrusage(resource.RUSAGE_SELF)"
            ".ru_maxrss; con.execute('SET enable_progress_bar = false'); "
            "t = time.perf_counter(); con.execute(sys.argv[4]); f = time.perf_counter() - t; "
            "print(json.dumps({'s': r.seconds, 'boot': r.summary['bootstrap_seconds'], "
            "'rss': rss, 'cpu': cpu, 'floor': f}))")
    proc = subprocess.run([sys.executable, "-c", code, str(db), run_id,
                           str(UNCERTAINTY_REPLICATES),
                           UNCERTAINTY_FLOOR.format(reps=UNCERTAINTY_REPLICATES)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"evaluator uncertainty failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
    per_100 = out["boot"] * 100 / UNCERTAINTY_REPLICATES
    floor_100 = out["floor"] * 100 / UNCERTAINTY_REPLICATES
    return {"uncertainty_s": out["s"], "uncertainty_s_per_100": per_100,
            "uncertainty_rss_mb": out["rss"] * scale, "uncertainty_cpu_s": out["cpu"],
            "uncertainty_floor_s_per_100": floor_100,
            "uncertainty_floor_ratio": per_100 / floor_100 if floor_100 else float("nan")}


def _say(msg: str) -> None:
    print(f"  · {msg}", file=sys.stderr, flush=True)


def measure(units: int, seed: int, work: Path, *, pandas: bool = True, export: bool = True,
            profile_dir: Path | None = None, spark: bool = True,
            uncertainty: bool = True) -> dict[str, Any]:
    """Run the pipeline once for `units` units in folder `work`; return figures and context."""
    from evaluator.export import export_run
    from evaluator.ingest import ingest_file
    from evaluator.scheme import load_scheme
    from evaluator.scoring import score_run
    from evaluator.snapshot import publish_from_connection
    from evaluator.store import connect

    fig: dict[str, float] = {}
    notes: list[str] = []
    step = Steps(units, profile_dir).run
    load_before = os.getloadavg()
    fig["generate_s"], files = _timed(lambda: generate_apart(work / "data", units, seed))
    _say(f"{units} units: generated {files.rows['surveys']:,} survey rows in "
         f"{fig['generate_s']:.1f} s")
    db = work / "bench.duckdb"
    con = connect(db)
    try:
        total = 0.0
        for kind in INGEST_ORDER:
            secs, result = step(f"ingest_{kind}_s",
                                functools.partial(ingest_file, con, kind, files.path(kind), db_path=db))
            if result.status != "loaded":
                raise RuntimeError(f"{kind}: expected a fresh load, got {result.status}")
            fig[f"ingest_{kind}_s"] = secs
            total += secs
            if kind in ("outcomes", "surveys"):
                fig[f"ingest_{kind}_rows_per_s"] = result.rows / secs
        fig["ingest_total_s"] = total
        _say(f"{units} units: ingested in {total:.1f} s "
             f"({fig['ingest_surveys_rows_per_s']:,.0f} survey rows/s)")
        loaded = load_scheme(SCHEME)
        fig["score_cold_s"], run_id = step(
            "score_cold_s", lambda: score_run(con, loaded, PERIOD, publish_snapshot=False))
        fig["score_warm_s"], _ = step("score_warm_s", 
            lambda: score_run(con, loaded, PERIOD, publish_snapshot=False))
        reweighted = load_scheme(_reweighted_scheme(work / "reweighted.yaml"))
        fig["rescore_weight_s"], _ = _timed(
            lambda: score_run(con, reweighted, PERIOD, publish_snapshot=False))
        _say(f"{units} units: scored cold {fig['score_cold_s']:.2f} s, warm "
             f"{fig['score_warm_s']:.2f} s, re-weighted {fig['rescore_weight_s']:.2f} s")
        fig["snapshot_s"], _ = _timed(lambda: publish_from_connection(con, db))
        scored = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ?",
                             [run_id]).fetchall()[0][0]
        if spark and units == SPARK_UNITS:
            notes.extend(spark_figures(con, loaded, run_id, work, fig))
    finally:
        con.close()
    if scored != units:
        raise RuntimeError(f"run {run_id} scored {scored} units, expected {units}")
    if uncertainty:
        fig.update(uncertainty_apart(db, run_id))
        _say(f"{units} units: uncertainty ({UNCERTAINTY_REPLICATES} replicates) "
             f"{fig['uncertainty_s']:.1f} s, bootstrap {fig['uncertainty_s_per_100']:.2f} s per "
             f"100 replicates (floor {fig['uncertainty_floor_s_per_100']:.2f} s, "
             f"×{fig['uncertainty_floor_ratio']:.1f}), CPU {fig['uncertainty_cpu_s']:.1f} s, "
             f"peak RSS {fig['uncertainty_rss_mb']:.0f} MB, load {os.getloadavg()[0]:.1f}")
    else:
        notes.append("uncertainty skipped (--no-uncertainty)")
    if export:
        for fmt in ("xlsx", "csv"):
            fig[f"export_{fmt}_s"], _ = step(
                f"export_{fmt}_s",
                functools.partial(export_run, db, run_id, fmt=fmt, out=work / f"export-{fmt}"))
        _say(f"{units} units: exported xlsx {fig['export_xlsx_s']:.1f} s, "
             f"csv {fig['export_csv_s']:.1f} s")
    else:
        notes.append("export skipped (--no-export)")
    fig["peak_rss_mb"] = _rss_mb()
    survey = survey_mean_comparison(db, files.path("surveys"), pandas=pandas)
    fig.update(survey.pop("figures"))
    notes.extend(survey.pop("notes"))
    return {
        "units": units,
        "seed": seed,
        "rows": files.rows,
        "figures": fig,
        "notes": notes,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        **survey,
    }


def spark_figures(con: Any, loaded: Any, duckdb_run: str, work: Path,
                  fig: dict[str, float]) -> list[str]:
    """The same run on Spark local[2]: session start, staging the inputs, a cold and a warm
    run; the scores are compared with the DuckDB run so a fast wrong path cannot pass."""
    from evaluator.scoring import score_run
    from evaluator.scoring.engines.spark import SparkEngine, spark_available, start_session

    missing = spark_available()
    if missing:
        return [f"Spark not measured: {missing}"]
    fig["spark_session_s"], session = _timed(lambda: start_session("local[2]"))
    try:
        engine = SparkEngine(session, work / "spark")
        fig["spark_stage_s"], _ = _timed(lambda: engine.stage_store_inputs(con, PERIOD))
        run = functools.partial(score_run, con, loaded, PERIOD, engine=engine,
                                publish_snapshot=False)
        cpu0 = _spark_cpu_s(session)
        fig["score_spark_s"], spark_run = _timed(run)
        fig["score_spark_cpu_s"] = _spark_cpu_s(session) - cpu0
        engine.timings.clear()
        fig["score_spark_warm_s"], _ = _timed(run)
        fig["score_spark_load"] = os.getloadavg()[0]
        steps: dict[str, float] = {}
        for table, secs in engine.timings:  # the warm run's time per step (table made)
            step = ("survey" if table.startswith("survey_indices") else
                    "write run tables" if table.startswith("run_") else table)
            steps[step] = steps.get(step, 0.0) + secs
        top = sorted(steps.items(), key=lambda kv: -kv[1])[:6]
        _say("Spark warm run, slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in top))
    finally:
        session.stop()
    diff = con.execute(
        "SELECT max(abs(a.score - b.score)), count(*) FILTER (WHERE a.rank <> b.rank), "
        "count(*) FROM run_scores a JOIN run_scores b USING (unit_id) "
        "WHERE a.run_id = ? AND b.run_id = ?", [duckdb_run, spark_run]).fetchall()[0]
    if diff[2] != len(con.execute("SELECT 1 FROM run_scores WHERE run_id = ?",
                                  [duckdb_run]).fetchall()):
        raise RuntimeError(f"Spark run {spark_run} did not score the units of {duckdb_run}")
    fig["spark_max_score_diff"], fig["spark_rank_diffs"] = float(diff[0] or 0.0), float(diff[1])
    _say(f"Spark local[2]: session {fig['spark_session_s']:.1f} s, staging "
         f"{fig['spark_stage_s']:.1f} s, scored cold {fig['score_spark_s']:.1f} s (CPU "
         f"{fig['score_spark_cpu_s']:.1f} s), warm {fig['score_spark_warm_s']:.1f} s at load "
         f"{fig['score_spark_load']:.1f}; against DuckDB: max |score diff| {diff[0]:.1e}, "
         f"{diff[1]} rank(s) differ")
    if diff[0] and diff[0] > 1e-9:
        return [f"Spark and DuckDB scores differ (max {diff[0]:g}, {diff[1]} ranks): a tie broken "
                "by an order-dependent float sum (docs/scale-out.md, ties and the last bits)"]
    return []


def _spark_cpu_s(session: Any) -> float:
    """CPU seconds (user + sys) so far of this process and of the local Spark JVM, which
    does the work (a child that has not exited, so os.times() does not count it)."""
    own = os.times()
    total = own.user + own.system
    proc = getattr(getattr(session.sparkContext, "_gateway", None), "proc", None)
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, IndexError, ValueError):
        pass  # not Linux, or no JVM of ours: this process only
    return total


def _best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Fastest of `repeat` runs (the least disturbed by other processes), with its result."""
    best, out = _timed(fn)
    for _ in range(repeat - 1):
        secs, out = _timed(fn)
        best = min(best, secs)
    return best, out


def survey_mean_comparison(db: Path, surveys_csv: Path, *, pandas: bool) -> dict[str, Any]:
    """Mean answer per unit × question for one year: DuckDB (store), polars and pandas.

    The same plain aggregation on the same rows in each engine, and the results are compared, so
    a fast but wrong path cannot pass. (The engine's survey index does more: validity filters,
    weights, shrinkage; its cost is inside score_run.)
    """
    import duckdb
    import polars as pl

    fig: dict[str, float] = {}
    notes: list[str] = []
    year = int(PERIOD)
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET threads = 1")  # like score_run; pandas is single-threaded too
    try:
        q = ("SELECT unit_id, question, avg(answer) AS mean FROM {src} WHERE year = ? "
             "GROUP BY unit_id, question")
        fig["survey_mean_duckdb_view_s"], via_view = _best(
            lambda: con.sql(q.format(src="current_survey_responses"), params=[year]).pl())
        fig["survey_mean_duckdb_table_s"], _ = _best(
            lambda: con.sql(q.format(src="survey_responses"), params=[year]).pl())
    finally:
        con.close()
    frame = pl.read_csv(surveys_csv, schema_overrides={"unit_id": pl.String,
                                                       "period": pl.String,
                                                       "respondent": pl.String})
    fig["survey_mean_polars_s"], by_polars = _best(
        lambda: frame.filter(pl.col("period") == PERIOD)
        .group_by("unit_id", "question").agg(pl.col("answer").mean().alias("mean")))
    ref = via_view.sort("unit_id", "question")
    checks = {"polars": by_polars.sort("unit_id", "question")}
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is None or not pandas:
        notes.append("pandas baseline skipped: pandas is not importable (it is not a dependency)"
                     if pd is None else "pandas baseline skipped (--no-pandas)")
    else:
        fig["survey_read_pandas_s"], pdf = _timed(lambda: pd.read_csv(
            surveys_csv, dtype={"unit_id": str, "period": str, "respondent": str}))
        fig["survey_mean_pandas_s"], by_pandas = _best(
            lambda: pdf[pdf["period"] == PERIOD].groupby(["unit_id", "question"], sort=False)
            ["answer"].mean().rename("mean").reset_index())
        checks["pandas"] = pl.from_pandas(by_pandas).sort("unit_id", "question")
    agree: dict[str, float] = {}
    for name, other in checks.items():
        if other.select("unit_id", "question").equals(ref.select("unit_id", "question")):
            agree[name] = float((other["mean"] - ref["mean"]).abs().max() or 0.0)
        else:
            agree[name] = float("inf")
            notes.append(f"survey mean: {name} found other unit × question groups than DuckDB")
    return {"figures": fig, "notes": notes, "survey_groups": ref.height,
            "survey_max_abs_diff": agree}


def child_main(units: int, seed: int, out: Path, pandas: bool, export: bool,
               profile_dir: Path | None, spark: bool = True, uncertainty: bool = True) -> None:
    with tempfile.TemporaryDirectory(prefix=f"evaluator-bench-{units}-") as tmp:
        result = measure(units, seed, Path(tmp), pandas=pandas, export=export,
                         profile_dir=profile_dir, spark=spark, uncertainty=uncertainty)
    out.write_text(json.dumps(result), encoding="utf-8")


# --------------------------------------------------------------------------- parent: report


def host_hash() -> str:
    return hashlib.sha256(platform.node().encode("utf-8")).hexdigest()[:8]


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine() -> dict[str, Any]:
    import duckdb
    import polars

    import evaluator

    return {
        "host_hash": host_hash(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "evaluator": getattr(evaluator, "__version__", None),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "evaluator", "indicators")),
    }


def run_size(units: int, seed: int, pandas: bool, export: bool,
             profile_dir: Path | None, spark: bool = True,
             uncertainty: bool = True) -> dict[str, Any]:
    """Measure one size in a fresh interpreter; exit with a message if it fails."""
    with tempfile.TemporaryDirectory(prefix="evaluator-bench-out-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(units),
               "--seed", str(seed), "--child-out", str(out)]
        if not pandas:
            cmd.append("--no-pandas")
        if not export:
            cmd.append("--no-export")
        if not spark:
            cmd.append("--no-spark")
        if not uncertainty:
            cmd.append("--no-uncertainty")
        if profile_dir is not None:
            cmd += ["--profile", str(profile_dir)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, stderr=None)
        if proc.returncode != 0 or not out.exists():
            raise SystemExit(f"benchmark for {units} units failed (exit {proc.returncode}); "
                             "see the traceback above")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        result["wall_s"] = time.perf_counter() - t0
        return result


def _fmt(value: float, unit: str) -> str:
    if unit == "rows/s":
        return f"{value:,.0f}"
    if unit == "MB":
        return f"{value:,.0f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _ratio_cell(name: str, r: float | None) -> str:
    if r is None:
        return "–"
    text = f"×{r:.2f}"
    if is_regression(name, r):
        return f"[red]{text}[/]"
    better = r < 1 / REGRESSION if FIGURES[name].better == "lower" else r > REGRESSION
    return f"[green]{text}[/]" if better else text


def baseline_sizes(baseline: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    if not baseline:
        return {}
    return {k: v["figures"] for k, v in baseline.get("sizes", {}).items()}


def report(record: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """Print the tables; return the list of missed targets (empty when all are met)."""
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=130)
    sizes = record["sizes"]
    base = baseline_sizes(baseline)
    table = Table(title="evaluator benchmark 性能基准 (wall-clock; ×base = new/baseline)")
    table.add_column("figure 指标")
    table.add_column("unit")
    for key in sizes:
        table.add_column(f"{int(key):,} units", justify="right")
        table.add_column("×base", justify="right")
    for name, f in FIGURES.items():
        if not any(name in s["figures"] for s in sizes.values()):
            continue
        row = [f.label, f.unit]
        for key, s in sizes.items():
            value = s["figures"].get(name)
            row.append("–" if value is None else _fmt(value, f.unit))
            b = base.get(key, {}).get(name)
            row.append(_ratio_cell(name, ratio(value, b) if value is not None and b else None))
        table.add_row(*row)
    ctx = ["rows: surveys / outcomes", ""]
    for s in sizes.values():
        ctx += [f"{s['rows']['surveys']:,} / {s['rows']['outcomes']:,}", ""]
    table.add_row(*ctx)
    load = ["load avg before → after", ""]
    for s in sizes.values():
        load += [f"{s['load_before'][0]:.1f} → {s['load_after'][0]:.1f}", ""]
    table.add_row(*load)
    console.print(table)

    missed: list[str] = []
    targets = Table(title="targets 目标")
    for col in ("units", "figure", "value", "target", "value/target", "met", "source"):
        targets.add_column(col)
    for key, s in sizes.items():
        n = int(key)
        for t in TARGETS:
            value = s["figures"].get(t.figure)
            if not t.applies(n) or value is None:
                continue
            ok = t.met(value)
            op = "<" if FIGURES[t.figure].better == "lower" else "≥"
            unit = FIGURES[t.figure].unit
            targets.add_row(f"{n:,}", t.figure, _fmt(value, unit), f"{op} {_fmt(t.limit, unit)}",
                            f"{value / t.limit:.2f}", "[green]yes[/]" if ok else "[red]NO[/]",
                            t.source)
            if not ok:
                missed.append(f"{n} units: {t.figure} = {_fmt(value, unit)} {unit} "
                              f"(target {op} {_fmt(t.limit, unit)})")
    console.print(targets)
    for s in sizes.values():
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in s["survey_max_abs_diff"].items())
        console.print(f"{s['units']:,} units: survey means over {s['survey_groups']:,} "
                      f"unit×question groups agree with DuckDB (max |diff|: {diffs})")
        for note in s["notes"]:
            console.print(f"[yellow]note:[/] {note}")
    if baseline is None:
        console.print("no baseline yet: run with --record to write benchmarks/results/baseline.json")
    else:
        m = baseline.get("machine", {})
        if baseline.get("schema") != RECORD_SCHEMA:
            console.print(f"[yellow]baseline record schema {baseline.get('schema')} ≠ "
                          f"{RECORD_SCHEMA}: generate_s and peak_rss_mb were measured differently[/]")
        console.print(f"baseline: recorded {baseline.get('recorded_at')} on host "
                      f"{m.get('host_hash')} at commit {m.get('git_commit')}"
                      + ("" if m.get("host_hash") == host_hash()
                         else " [yellow](another machine: ratios compare machines too)[/]"))
    return missed


def write_record(record: dict[str, Any]) -> list[Path]:
    """Write results/<date>-<host>.json, and baseline.json when there is none yet."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
    written = [RESULTS / f"{stamp}-{host_hash()}.json"]
    if not BASELINE.exists():
        written.append(BASELINE)
    for path in written:
        path.write_text(text, encoding="utf-8")
    return written


def parse_units(text: str) -> list[int]:
    try:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--units: '{text}' is not a comma-separated list of "
                                         "whole numbers, e.g. 120,2000") from None
    if not sizes or any(n < 8 for n in sizes):
        raise argparse.ArgumentTypeError("--units: each size must be at least 8 units")
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--units", type=parse_units, default=None,
                   help="comma-separated sizes (default 120,2000; 20000 only when asked)")
    p.add_argument("--quick", action="store_true", help="120 units only (a smoke run, ~15 s)")
    p.add_argument("--record", action="store_true",
                   help="write results/<date>-<host>.json (and baseline.json if absent)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas comparison")
    p.add_argument("--no-export", action="store_true", help="skip the xlsx/csv exports")
    p.add_argument("--no-spark", action="store_true",
                   help=f"skip the Spark local[2] run (measured at {SPARK_UNITS:,} units when "
                   "pyspark and Java are installed)")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="cProfile the slow steps into DIR (*.prof, *.txt); not recordable")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--size", choices=("small", "medium", "province"),
                   help="scale data (benchmarks/scale_data.py) beside the DuckDB floor and the "
                   "pandas baseline (benchmarks/scale_run.py) instead of the demo sizes")
    p.add_argument("--no-uncertainty", action="store_true",
                   help="skip `evaluator uncertainty` (500 bootstrap replicates)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        child_main(args.child, args.seed, args.child_out, not args.no_pandas,
                   not args.no_export, args.profile, not args.no_spark,
                   not args.no_uncertainty)
        return 0
    if args.size:
        return scale_main(args.size, args.seed, args.record, not args.no_export)
    if args.record and args.profile:
        p.error("--record with --profile: profiled timings are inflated; record without it")
    sizes = args.units or ([120] if args.quick else list(DEFAULT_UNITS))
    record: dict[str, Any] = {
        "schema": RECORD_SCHEMA,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scheme": str(SCHEME.relative_to(ROOT)),
        "period": PERIOD,
        "note": "wall-clock seconds; see load_before/load_after for how busy the machine was",
        "sizes": {},
    }
    for n in sizes:
        print(f"benchmark: {n:,} units …", file=sys.stderr, flush=True)
        record["sizes"][str(n)] = run_size(n, args.seed, not args.no_pandas, not args.no_export,
                                           args.profile.resolve() if args.profile else None,
                                           not args.no_spark, not args.no_uncertainty)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.exists() else None
    missed = report(record, baseline)
    if args.record:
        for path in write_record(record):
            print(f"recorded {path.relative_to(ROOT)}")
    return 1 if missed and args.strict else 0


def scale_main(size: str, seed: int, record: bool, export: bool = True) -> int:
    """One scale size: engine, floor and pandas baseline in the same run (benchmarks/scale_run.py)."""
    sys.path.insert(0, str(ROOT))  # `python benchmarks/run.py` as well as `python -m benchmarks.run`
    from benchmarks import scale_run

    print(f"benchmark: {size} …", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as tmp:
        rec = scale_run.measure_size(size, Path(tmp), seed, export=export)
    rec = {"schema": RECORD_SCHEMA, "kind": "scale",
           "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": machine(), **rec}
    scale_run.report(rec)
    if record:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{datetime.now(UTC).strftime('%Y-%m-%dT%H%M%S')}-{host_hash()}-{size}.json"
        path.write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
