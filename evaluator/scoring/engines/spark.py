"""The Spark engine: the same scoring trees, rendered in Spark SQL, on `local[N]`, a cluster
(`--spark-master`) or Spark Connect (`--spark-remote sc://…`).

Inputs are Parquet: the store's `current_*` views written out for the period
(`stage_store_inputs`) or files in the documented input formats (`stage_input_files`); each
becomes a temporary view under the `current_*` name the scoring SQL reads. Every temporary
table is materialised when it is made and its lineage cut (an eager `localCheckpoint`), so a run
of ~100 statements stays a chain of small plans instead of one plan (and one RDD lineage) that
grows with every step. The run's tables are
written as Parquet under `work_dir/<run_id>/` and the store (DuckDB) loads them in one
transaction (evaluator.scoring.run).

Where Spark SQL and DuckDB differ, the tree is rewritten before rendering so both give the same
numbers (docs/scale-out.md): DuckDB's ROUND (half away from zero on the binary double) instead
of Spark's decimal-string ROUND, decimal literals as doubles (DuckDB divides decimals in double
precision; Spark keeps decimals), `PERCENTILE(x, q)` for DuckDB's QUANTILE_CONT, and an ordered
`SUM(v ORDER BY k)` (the roll-ups) as the same left fold.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from evaluator.scoring.engine import Output
from evaluator.scoring.errors import ScoringError

if TYPE_CHECKING:  # pyspark is an optional extra
    from pyspark.sql import DataFrame, SparkSession

#: the store views the scoring reads, with the column that limits them to the scored year
STORE_INPUTS: dict[str, str | None] = {
    "current_units": None,
    "current_outcomes": "year",
    "current_survey_responses": "year",
    "current_targets": "year",
    "current_events": "year",
    "current_questions": None,  # the question catalogue: ids a scheme may read (sources.py)
}


@dataclass(frozen=True)
class Col:
    """A column of a store view read from a column of an input file (`--inputs DIR`)."""

    name: str
    type: str
    source: str
    optional: bool = False
    expr: str = ""  # Spark SQL over `source`; default CAST(source AS type)

    def select(self, present: set[str]) -> str:
        if self.source not in present:
            return f"CAST(NULL AS {self.type}) AS {self.name}"
        return f"{self.expr or f'CAST({self.source} AS {self.type})'} AS {self.name}"


def _cols(spec: str) -> tuple[Col, ...]:
    """'unit_id, peer_group?' → columns of type STRING/DOUBLE/INT/TIMESTAMP by name."""
    types = {"value": "DOUBLE", "answer": "DOUBLE", "weight": "DOUBLE", "duration_s": "DOUBLE",
             "target": "DOUBLE", "population": "DOUBLE", "submitted_at": "TIMESTAMP"}
    out = []
    for item in spec.split(","):
        name = item.strip().rstrip("?")
        out.append(Col(name, types.get(name, "STRING"), name, optional=item.strip().endswith("?")))
    return tuple(out)


_YEAR = Col("year", "INT", "period", expr="CAST(SUBSTR(CAST(period AS STRING), 1, 4) AS INT)")
_HASH = Col("respondent_hash", "STRING", "respondent", optional=True,
            expr="SHA2(CAST(respondent AS STRING), 256)")

#: `--inputs DIR`: file stem → (store view, its columns, file required)
FILE_INPUTS: dict[str, tuple[str, tuple[Col, ...], bool]] = {
    "units": ("current_units", _cols(
        "unit_id, name?, unit_type, peer_group?, parent_id?, population?"), True),
    "outcomes": ("current_outcomes", (*_cols("unit_id, period, measure, value"), _YEAR), True),
    "surveys": ("current_survey_responses", (
        *_cols("response_id, unit_id, period, question, answer, weight?, duration_s?, channel?, "
               "submitted_at?"), _YEAR, _HASH), False),
    "targets": ("current_targets", (*_cols("unit_id, period, measure, target"), _YEAR), False),
    "events": ("current_events", (*_cols("unit_id, period, event, value?"), _YEAR), False),
    "questions": ("current_questions", _cols("question"), False),
}


def spark_available(java: bool = True) -> str | None:
    """None when pyspark (and, for a session of our own, a Java runtime) are there; else what is
    missing and how to add it. Spark Connect (`remote`) needs no local Java."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'pyspark>=4' (the spark extra; about 500 MB)"
    if java and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime: install Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
    return None


def start_session(master: str | None = None, remote: str | None = None,
                  app_name: str = "evaluator") -> SparkSession:
    """A SparkSession on `master` (default local[2]) or Spark Connect at `remote` (sc://…)."""
    missing = spark_available(java=remote is None)
    if missing:
        raise ScoringError(f"--engine spark: {missing}")
    from pyspark.sql import SparkSession

    if remote is not None:
        try:
            return SparkSession.builder.remote(remote).getOrCreate()
        except ImportError as exc:  # Spark Connect's client libraries are an extra of pyspark
            raise ScoringError("--spark-remote needs Spark Connect's client libraries (the "
                               "'connect' extra of pyspark): pip install grpcio grpcio-status "
                               f"googleapis-common-protos zstandard ({exc})") from None
    builder = (SparkSession.builder.master(master or "local[2]").appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", os.environ.get("EVALUATOR_SPARK_MEMORY", "4g"))
               .config("spark.sql.ansi.enabled", "false"))
    # Adaptive query execution: off on one machine (below), the cluster's own setting on
    # --spark-master and --spark-remote (docs/scale-out.md). There it coalesces the 200 shuffle
    # partitions of the small per-unit steps and splits skewed survey joins, which is what a
    # cluster is for; the empty-relation plans that overflowed the stack were only ever seen
    # late in one long local session (the whole equivalence suite), after dozens of runs.
    if (master or "local[2]").startswith("local"):
        # one machine: a couple of partitions beat the default 200, and for the small tables
        # of most steps compiling code and re-planning stages costs more than it saves
        builder = (builder.config("spark.sql.shuffle.partitions", "2")
                   .config("spark.sql.codegen.wholeStage", "false")
                   # no adaptive re-planning: with two partitions it has little to adapt, and
                   # its empty-relation plans nest logical and physical plans into each other
                   # (EmptyRelation → LogicalQueryStage → …), which Spark's plan description
                   # walks recursively: StackOverflowError in SparkPlanInfo late in a session
                   .config("spark.sql.adaptive.enabled", "false"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


# ------------------------------------------------------------------------- rendering


def _duckdb_round(node: exp.Round) -> exp.Expression:
    """DuckDB's ROUND(x, d) on a double: round(x · 10^d) half away from zero, ÷ 10^d.

    Spark's ROUND(x, 0) rounds half away from zero on the shortest decimal string of the double,
    which is the same integer as rounding the binary value (a string that reads back as the
    double is ≥ .5 only if the double is), so only the scaling has to be made explicit.
    """
    decimals = node.args.get("decimals")
    if decimals is None:
        return node
    scale = exp.Pow(this=exp.Literal.number(10), expression=decimals.copy())
    scaled = exp.Mul(this=exp.Paren(this=node.this.copy()), expression=scale)
    return exp.Div(this=exp.Round(this=scaled, decimals=exp.Literal.number(0)),
                   expression=scale.copy())


def _ordered_sum(node: exp.Sum) -> exp.Expression:
    """DuckDB's `SUM(v ORDER BY k…)` as the same left fold on Spark: sort (k…, v) and add from
    0.0 one by one, so the sum is bit-identical whatever the partitioning (NULLs skipped; NULL
    when nothing is left, as SUM does).

    Spark sorts the structs field by field, in the order of the DuckDB ORDER BY (ascending,
    which is all the templates use), with `v` last as a tie-break (the templates list it too).
    """
    order = node.this
    value = order.this
    keys = [o.this for o in order.expressions]
    fields = ", ".join(f"'k{i}', __k{i}" for i in range(len(keys)))
    tree = sqlglot.parse_one(
        "CASE WHEN COUNT(__v) > 0 THEN AGGREGATE(ARRAY_SORT(COLLECT_LIST(CASE WHEN __v IS NOT "
        f"NULL THEN NAMED_STRUCT({fields}, 'v', CAST(__v AS DOUBLE)) END)), CAST(0 AS DOUBLE), "
        "(acc, x) -> acc + x.v) END",
        read="spark",
    )
    parts = {"__v": value, **{f"__k{i}": k for i, k in enumerate(keys)}}

    def fill(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and n.name in parts and not n.table:
            return parts[n.name].copy()
        return n

    return tree.transform(fill)


def _spark_tree(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.CTE):
        # [NOT] MATERIALIZED is a DuckDB planning hint; Spark has no such syntax and inlines
        # CTEs anyway (the tree is transform's copy: set in place, so its children are visited)
        node.set("materialized", None)
        return node
    if isinstance(node, exp.Round):
        return _duckdb_round(node)
    if isinstance(node, exp.Sum) and isinstance(node.this, exp.Order):
        if any(o.args.get("desc") for o in node.this.expressions):
            raise ValueError("ordered SUM on Spark supports ascending keys only")
        return _ordered_sum(node)
    if isinstance(node, exp.PercentileCont):
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    if (isinstance(node, exp.Literal) and not node.is_string and "." in node.this
            and "e" not in node.this.lower()):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


def render_spark(expr: exp.Expression) -> str:
    """A scoring tree as Spark SQL with the numeric behaviour of DuckDB."""
    return expr.transform(_spark_tree).sql(dialect="spark")


# ------------------------------------------------------------------------- the engine


class SparkEngine:
    """The engine over one SparkSession; run files go under `work_dir/<run_id>/`."""

    dialect = "spark"
    SHARES_STORE: ClassVar[bool] = False

    def __init__(self, spark: SparkSession, work_dir: Path):
        self.spark = spark
        self.work_dir = Path(work_dir)
        self._frames: dict[str, DataFrame] = {}
        #: RDD ids whose blocks hold each table's checkpoint (freed with the table)
        self._blocks: dict[str, set[int]] = {}
        #: the JVM's context on a classic session; None through Spark Connect
        self._jsc = getattr(spark, "_jsc", None)
        #: (table, seconds) per materialised table, in order: where a run spends its time
        self.timings: list[tuple[str, float]] = []
        self.answers_keyed = True  # until `stage_input_files` reads answers unchecked

    def render(self, expr: exp.Expression) -> str:
        return render_spark(expr)

    def _df(self, expr: exp.Expression) -> DataFrame:
        return self.spark.sql(self.render(expr))

    def _keep(self, name: str, df: DataFrame) -> None:
        # Materialise now and cut the lineage for real (an eager local checkpoint): later plans
        # start from these rows, and the checkpointed RDD has no parents left. A lazy checkpoint
        # (eager=False) keeps every earlier step's RDD as a parent until some job computes it;
        # Spark (4.3) describes an RDD scan by walking that lineage for the plans that produced
        # it, so a run of ~100 steps nested ~100 plans deep and overflowed the driver's stack
        # (StackOverflowError in SparkPlanInfo, whatever -Xss). A checkpoint's blocks are freed
        # when its name is replaced or dropped (`_free`), not left for the JVM's garbage
        # collector: a long session (the equivalence suite) otherwise filled the driver's heap
        # until a broadcast join had no room ("Not enough memory to build and broadcast").
        before = self._persisted()
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._free(name)
        self._frames[name] = df
        self._blocks[name] = self._persisted() - before

    def _persisted(self) -> set[int]:
        """Ids of the RDDs holding blocks; none seen through Spark Connect, whose server frees a
        checkpoint when the client's DataFrame is gone."""
        return set() if self._jsc is None else set(self._jsc.getPersistentRDDs().keySet())

    def _free(self, name: str) -> None:
        """Free the blocks of the checkpoint called `name`. (`DataFrame.unpersist` would not:
        a local checkpoint persists the RDD under the plan, not the DataFrame.)"""
        self._frames.pop(name, None)
        ids = self._blocks.pop(name, set())
        if ids and self._jsc is not None:
            rdds = self._jsc.getPersistentRDDs()
            for rdd_id in ids:
                rdd = rdds.get(rdd_id)
                if rdd is not None:
                    rdd.unpersist(False)

    def execute(self, expr: exp.Expression) -> None:
        self._df(expr).collect()

    def fetch_polars(self, expr: exp.Expression) -> pl.DataFrame:
        return pl.from_arrow(self._df(expr).toArrow())  # type: ignore[return-value]

    def register(self, name: str, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        # Spark's arrow reader wants plain strings (polars hands out large ones)
        import pyarrow as pa

        table = table.cast(pa.schema([
            pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type)
            for f in table.schema]))
        self._keep(name, self.spark.createDataFrame(table))

    def create_temp(self, name: str, query: exp.Expression) -> str:
        start = time.perf_counter()
        self._keep(name, self._df(query))
        self.timings.append((name, time.perf_counter() - start))
        return name

    def append_temp(self, name: str, query: exp.Expression) -> None:
        start = time.perf_counter()
        self._keep(name, self.spark.table(name).union(self._df(query)))
        self.timings.append((name, time.perf_counter() - start))

    def drop_temp(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._free(name)

    def table_exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        yield  # nothing to make atomic here: the store's transaction registers the run

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        yield  # sums in Spark follow the partitioning; the equivalence test bounds the effect

    # ------------------------------------------------------------------ inputs and outputs

    def stage_store_inputs(self, con: duckdb.DuckDBPyConnection, period: str,
                           outcome_years: tuple[int, int] | None = None) -> None:
        """Write the store's `current_*` views (the scored year only; outcomes of
        `outcome_years`, first and last, when a scheme reads other years: see
        `scoring.panel.outcome_years`) as Parquet; read them."""
        folder = self.work_dir / "inputs"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        year = int(str(period)[:4])
        for view, year_column in STORE_INPUTS.items():
            path = folder / f"{view}.parquet"
            where = f" WHERE {year_column} = {year}" if year_column else ""
            if view == "current_outcomes" and outcome_years is not None:
                first, last = (int(y) for y in outcome_years)
                where = f" WHERE year BETWEEN {first} AND {last}"
            target = str(path).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {view}{where}) TO '{target}' (FORMAT parquet)")
            self._keep(view, self.spark.read.parquet(str(path)))

    def stage_input_files(self, folder: Path) -> list[str]:
        """`--inputs DIR`: units and outcomes (required), surveys, targets, events, questions
        (optional) as `<kind>.parquet` files or `<kind>/` folders of Parquet parts, in the documented input
        formats (docs/ingest.md). Rows are taken as they are: no batch, no row checks (that is
        what `evaluator ingest` is for). Returns the kinds found."""
        found = []
        for stem, (view, columns, required) in FILE_INPUTS.items():
            path = folder / f"{stem}.parquet"
            if not path.exists() and (folder / stem).is_dir():
                path = folder / stem
            if not path.exists():
                if required:
                    raise ScoringError(
                        f"--inputs {folder}: no {stem}.parquet (nor a {stem}/ folder of Parquet "
                        f"parts); give the {stem} in the documented input format "
                        "(docs/ingest.md)")
                self._keep(view, self.spark.sql("SELECT " + ", ".join(
                    c.select(set()) for c in columns) + " WHERE FALSE"))
                continue
            df = self.spark.read.parquet(str(path))
            present = set(df.columns)
            missing = [c.source for c in columns if not c.optional and c.source not in present]
            if missing:
                raise ScoringError(
                    f"--inputs {path}: column(s) {', '.join(sorted(set(missing)))} missing; the "
                    f"{stem} format is in docs/ingest.md")
            self._keep(view, df.selectExpr(*(c.select(present) for c in columns)))
            found.append(stem)
        self.answers_keyed = "surveys" not in found
        return found

    def write_outputs(self, outputs: list[Output], run_id: str) -> tuple[str, dict[str, str]]:
        folder = self.work_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        if not any(o.table == "run_survey_quality" for o in outputs):
            self._empty_survey_quality()
        files: dict[str, str] = {}
        for out in outputs:
            df = self._df(out.query).toDF(*out.columns)
            self._keep(out.table, df)  # later outputs (the flags) read it by its table name
            path = folder / out.table
            start = time.perf_counter()
            self._frames[out.table].write.mode("overwrite").parquet(str(path))
            self.timings.append((out.table, time.perf_counter() - start))
            if any(path.glob("*.parquet")):
                files[out.table] = str(path / "*.parquet")
        return str(folder), files

    def _empty_survey_quality(self) -> None:
        from evaluator.scoring.surveys import QUALITY_COLUMNS

        ints = {"responses", "excluded_speeder", "excluded_straightline", "excluded_duplicate",
                "excluded_out_of_scale", "valid"}
        types = {c: "INT" if c in ints else "STRING" if c in ("unit_id", "indicator_id")
                 else "BOOLEAN" if c == "small_sample" else "DOUBLE" for c in QUALITY_COLUMNS}
        cols = ", ".join(["CAST(NULL AS STRING) AS run_id",
                          *(f"CAST(NULL AS {t}) AS {c}" for c, t in types.items())])
        self._keep("run_survey_quality", self.spark.sql(f"SELECT {cols} WHERE FALSE"))
