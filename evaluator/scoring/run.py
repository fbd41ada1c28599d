"""Step 6 — a stored run: every step above, then `runs` + `run_*` rows in ONE transaction.

The steps leave their results in the engine's temporary tables (`_sc_*`, names handed from step
to step as values); nothing is written to the run store (the DuckDB file) until all of them
succeeded, and the writes either all commit or none do. On DuckDB the rows are INSERTed from the
temporary tables; on an engine with its own storage (Spark) each run table is first written as
Parquet and the store loads those files in the same single transaction. Runs are immutable;
numbers depend only on the scheme and the data (the run id and the timestamp are the only
things that differ between two runs of the same inputs).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlglot import exp

import evaluator
from evaluator.lint import lint_scheme
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.models import Scheme
from evaluator.scheme.weights import weight_table
from evaluator.scoring import aggregate as agg
from evaluator.scoring import reuse as reuse_mod
from evaluator.scoring.adjust import ADJUST, build_adjustments, final_score_sql
from evaluator.scoring.engine import DuckDBEngine, Engine, Output, create_temp, lit, sql
from evaluator.scoring.errors import ScoringError
from evaluator.scoring.flags import FLAG_COLUMNS, flag_rows
from evaluator.scoring.funnels import FUNNEL_COLUMNS, funnel_rows
from evaluator.scoring.grades import assign_grades, rank_intervals, ranks_sql
from evaluator.scoring.rules import INDICATOR_SCORES, STATS, rescore_indicators, score_indicators
from evaluator.scoring.sources import UnknownSource, unknown_sources
from evaluator.scoring.surveys import QUALITY_COLUMNS
from evaluator.scoring.value_added import store_value_added
from evaluator.scoring.values import (
    META,
    RAW,
    REFS,
    SURVEY,
    UNITS,
    build_raw,
    build_units,
    build_values,
    indicator_meta,
    use_survey_column,
)
from evaluator.scoring.warnings import warnings_output
from evaluator.store import indicators as indicator_rows
from evaluator.store.indicators import BASE_COLUMNS, PART_COLUMNS, WEIGHT_COLUMNS

SCORES = "_sc_scores"
PERIOD_RE = re.compile(r"^\d{4}$")


def check_period(scheme: Scheme, period: str) -> list[str]:
    """A scored period is a year; returns warnings (another year than the scheme's)."""
    if not PERIOD_RE.match(period):
        raise ScoringError(
            f"period '{period}' is not a year: score a whole year such as {scheme.year} "
            "(quarterly and monthly values are rolled up into it)"
        )
    if int(period) != scheme.year:
        return [f"scheme '{scheme.id}' is written for {scheme.year}; scoring {period} with it"]
    return []


def code_version() -> str:
    """Package version, plus the git commit when running from a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(evaluator.__file__).parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
        commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{evaluator.__version__}+{commit}" if commit else evaluator.__version__


def round_in_scale(column: str) -> str:
    """Round to the scheme's decimals without leaving the scale (1.875 → 1.88 > max 1.875).

    A SQL fragment for `sql(…, dec=, scale_lo=, scale_hi=)`; the preview rounds with it too."""
    rounded = f"ROUND({column}, :dec)"
    return (f"CASE WHEN {rounded} > :scale_hi THEN :scale_hi WHEN {rounded} < :scale_lo "
            f"THEN :scale_lo ELSE {rounded} END")


def interval_totals(engine: Engine, scheme: Scheme, period: str, has_survey: bool) -> None:
    """Totals (0–100) with every survey index at the low / high end of its 95% interval.

    The same pipeline runs again on swapped survey values (`_sc_total_ci_low`,
    `_sc_total_ci_high`); outcome data are administrative counts and carry no sampling error
    here. Run before the main pass: it reuses the same temporary tables.
    """
    for bound in ("ci_low", "ci_high"):
        use_survey_column(engine, has_survey, bound)
        build_values(engine, scheme, period)
        score_indicators(engine, scheme)
        nodes = agg.aggregate(engine, scheme, "w_eff")
        create_temp(engine, f"_sc_total_{bound}", sql(
            f"SELECT unit_id, score FROM {nodes} WHERE node_id = :root", root=agg.ROOT))
    use_survey_column(engine, has_survey, "index_value")


@dataclass(frozen=True)
class RunTables:
    """The temporary tables `compute` leaves for the run's rows (names passed as values)."""

    units: str
    scores: str
    indicator_scores: str
    meta: str
    weights: str
    nodes: str
    contributions: agg.Contributions
    stats: str
    refs: str
    survey: str | None


def compute(engine: Engine, scheme: Scheme, period: str, uncertainty: bool = False,
            reuse_key: str | None = None,
            unknown: list[UnknownSource] | None = None) -> tuple[list[str], RunTables]:
    """Run every step into temporary tables. Returns warnings for the run's note, and the
    tables.

    With `reuse_key` (`reuse.run_key`): when the indicator-level tables left on this engine by
    the previous call, or kept in the store by an earlier run, have the same key (a weights-only
    change, same data), only the aggregation runs again; when they differ only in some
    indicators' rule or direction, those indicators are scored again first (`reuse.prepare`).
    The numbers are those of a full run, digit for digit. `unknown`: the scheme's ids missing
    from the engine's data, when the caller has looked already (a scan of every answer)."""
    warnings = check_period(scheme, period)
    if unknown is None:
        unknown = unknown_sources(engine, scheme)
    warnings += [u.message() for u in unknown]  # recorded in the note
    changed = (reuse_mod.prepare(engine, reuse_key)
               if reuse_key is not None and not uncertainty else None)
    if changed is None:
        reuse_mod.remember(engine, None)  # forget first: a failure below leaves nothing reusable
        warnings += indicator_level(engine, scheme, period, uncertainty)
        reuse_mod.remember(engine, None if uncertainty else reuse_key)
    else:
        engine.register(agg.WEIGHTS, agg.weights_frame(scheme, weight_table(scheme)))
        no_intervals(engine)
        if changed:
            reuse_mod.remember(engine, None)  # as above: half-rescored tables are not reusable
            engine.register(META, indicator_meta(scheme))  # the rule names
            rescore_indicators(engine, scheme, changed)
            reuse_mod.remember(engine, reuse_key)
    more, tables = aggregate_level(engine, scheme, period)
    return warnings + more, tables


def no_intervals(engine: Engine) -> None:
    """Score intervals not asked for: NULL bounds."""
    for bound in ("ci_low", "ci_high"):
        create_temp(engine, f"_sc_total_{bound}", sql(
            f"SELECT unit_id, CAST(NULL AS DOUBLE) AS score FROM {UNITS}"))


def indicator_level(engine: Engine, scheme: Scheme, period: str, uncertainty: bool
                    ) -> list[str]:
    """Units, values, survey indices and indicator scores (plus, with `uncertainty`, the
    interval totals); returns warnings."""
    warnings: list[str] = []
    # forget the previous run's survey table so a scheme without surveys does not reuse it
    engine.drop_temp(SURVEY)
    n_units = build_units(engine, scheme)
    if n_units == 0:
        present = engine.fetch_polars(sql(
            "SELECT DISTINCT unit_type FROM current_units ORDER BY unit_type"))["unit_type"]
        raise ScoringError(
            f"no units of type {', '.join(scheme.unit_types)} in the database "
            f"(types present: {', '.join(str(t) for t in present) or 'none'}); load units with "
            "`evaluator ingest --kind units` or check the scheme's unit_types"
        )
    engine.register(META, indicator_meta(scheme))
    has_survey = build_raw(engine, scheme, period)
    n_raw = int(engine.fetch_polars(sql(f"SELECT COUNT(*) AS n FROM {RAW}"))["n"][0])
    if n_raw == 0:
        raise ScoringError(
            f"no outcome or survey data for period {period} for the {n_units} unit(s) of type "
            f"{', '.join(scheme.unit_types)} and the measures of scheme '{scheme.id}': load "
            "outcomes/surveys for that year, or check the period and the measure ids"
        )
    table = weight_table(scheme)
    engine.register(agg.WEIGHTS, agg.weights_frame(scheme, table))
    if uncertainty:
        interval_totals(engine, scheme, period, has_survey)
        if not has_survey:
            warnings.append("no survey indices: score intervals have zero width (outcome data "
                            "carry no sampling error here)")
    else:
        no_intervals(engine)
    build_values(engine, scheme, period)
    score_indicators(engine, scheme)
    return warnings


def aggregate_level(engine: Engine, scheme: Scheme, period: str) -> tuple[list[str], RunTables]:
    """Everything after the indicator scores: weighted tree, contributions, adjustments,
    grades, ranks."""
    warnings: list[str] = []
    nodes = agg.aggregate(engine, scheme, "w_eff")
    nodes_declared = agg.aggregate(engine, scheme, "w_decl")
    # an engine sharing the store writes an indicator's points as its parent's times its share
    # (`indicator_outputs`): the indicators' own rows of `points` would go unread
    contrib = agg.contributions(engine, scheme, nodes, indicator_points=not engine.SHARES_STORE)
    build_adjustments(engine, scheme, int(period))
    lo, hi = scheme.scale.min, scheme.scale.max
    create_temp(engine, "_sc_scores0", sql(
        f"""
        SELECT u.unit_id, u.unit_name, u.unit_type, u.peer_group, u.pg,
               :lo + (:hi - :lo) * t.score / 100.0 AS base_score,
               :lo + (:hi - :lo) * d.score / 100.0 AS base_declared,
               CASE WHEN il.score IS NOT NULL AND ih.score IS NOT NULL AND t.score IS NOT NULL
                    THEN :lo + (:hi - :lo) * LEAST(il.score, ih.score, t.score) / 100.0
               END AS base_low,
               CASE WHEN il.score IS NOT NULL AND ih.score IS NOT NULL AND t.score IS NOT NULL
                    THEN :lo + (:hi - :lo) * GREATEST(il.score, ih.score, t.score) / 100.0
               END AS base_high,
               a.bonus, a.deduction, a.veto, a.veto_grade_ord, cov.coverage
        FROM {UNITS} u
        LEFT JOIN {nodes} t ON t.unit_id = u.unit_id AND t.node_id = :root
        LEFT JOIN {nodes_declared} d ON d.unit_id = u.unit_id AND d.node_id = :root
        LEFT JOIN {ADJUST} a ON a.unit_id = u.unit_id
        LEFT JOIN _sc_total_ci_low il ON il.unit_id = u.unit_id
        LEFT JOIN _sc_total_ci_high ih ON ih.unit_id = u.unit_id
        -- coverage rounded to 12 decimals: a full unit reads 1, not 0.9999999999999998
        LEFT JOIN (SELECT s.unit_id, ROUND(SUM(CASE WHEN s.score IS NOT NULL THEN w.effective
                                                    ELSE 0.0 END), 12) AS coverage
                   FROM {INDICATOR_SCORES} s JOIN {agg.WEIGHTS} w ON w.node_id = s.indicator_id
                   GROUP BY s.unit_id) cov ON cov.unit_id = u.unit_id
        """,
        lo=lo, hi=hi, root=agg.ROOT,
    ))
    create_temp(engine, "_sc_scores1", sql(
        f"""
        SELECT *, {round_in_scale('score_full')} AS score,
               {round_in_scale('declared_full')} AS score_declared,
               {round_in_scale('low_full')} AS score_low,
               {round_in_scale('high_full')} AS score_high
        FROM (SELECT b.*, {final_score_sql('b.base_score')} AS score_full,
                     {final_score_sql('b.base_declared')} AS declared_full,
                     {final_score_sql('b.base_low')} AS low_full,
                     {final_score_sql('b.base_high')} AS high_full
              FROM _sc_scores0 b JOIN {ADJUST} a ON a.unit_id = b.unit_id)
        """,
        scale_lo=lo, scale_hi=scheme.score_ceiling, dec=scheme.scale.decimals,
    ))
    grades = assign_grades(engine, scheme, "_sc_scores1")
    intervals = rank_intervals(engine, "_sc_scores1")
    create_temp(engine, SCORES, sql(
        f"""
        SELECT *, {ranks_sql()} FROM (
            SELECT s.*, g.code AS grade, gr.reason AS grade_reason, iv.rank_low, iv.rank_high
            FROM _sc_scores1 s
            LEFT JOIN {grades.grades} gr ON gr.unit_id = s.unit_id
            LEFT JOIN {grades.items} g ON g.ord = gr.ord
            LEFT JOIN {intervals} iv ON iv.unit_id = s.unit_id)
        """
    ))
    unscored = engine.fetch_polars(sql(f"SELECT unit_id FROM {SCORES} WHERE score IS NULL "
                                       "ORDER BY unit_id LIMIT 10"))["unit_id"].to_list()
    if unscored:
        warnings.append(f"units without a score for {period} (no data, or below a "
                        f"min_coverage): {', '.join(unscored)}")
    survey = SURVEY if engine.table_exists(SURVEY) else None
    return warnings, RunTables(
        units=UNITS, scores=SCORES, indicator_scores=INDICATOR_SCORES, meta=META,
        weights=agg.NUMBERED, nodes=nodes, contributions=contrib, stats=STATS, refs=REFS,
        survey=survey)


# ------------------------------------------------------------------------------ writing


def _output(table: str, columns: str, query: str, **params: Any) -> Output:
    return Output(table, tuple(c.strip() for c in columns.split(",")), sql(query, **params))


def run_outputs(scheme: Scheme, tables: RunTables, run_id: str,
                base: tuple[str, bool] | None = None) -> list[Output]:
    """The run's rows computed by the engine, table by table (the flags come after these).

    `base` = (base id, whether the store already holds its rows): the indicator rows go to the
    three tables behind the `run_indicator_scores` view (`indicator_outputs`); None (an engine
    with its own storage) computes the view's rows as one table, split when loaded."""
    span = scheme.scale.max - scheme.scale.min
    t = tables
    points = t.contributions.points
    stats = " UNION ALL ".join(
        f"SELECT indicator_id, pg, NULL, '{name}', CAST({name} AS DOUBLE) FROM {t.stats}"
        for name in ("n", "min", "max", "mean", "sd", "median")
    )
    outputs = [
        _output("run_scores", """
            run_id, unit_id, unit_name, unit_type, peer_group, score, base_score, bonus,
            deduction, veto, rank, peer_rank, grade, grade_reason, score_declared, rank_declared,
            coverage, score_low, score_high, rank_low, rank_high""", f"""
            SELECT CAST(:run AS VARCHAR),
                   unit_id, unit_name, unit_type, peer_group, score, base_score, bonus,
                   deduction, veto, rank, peer_rank, grade, grade_reason, score_declared,
                   rank_declared, coverage, score_low, score_high, rank_low, rank_high
            FROM {t.scores}""", run=run_id),
        *indicator_outputs(tables, run_id, span, base),
        _output("run_dimension_scores", """
            run_id, unit_id, dimension_id, parent_id, depth, score, weight, contribution""", f"""
            SELECT CAST(:run AS VARCHAR),
                   u.unit_id, w.node_id, NULLIF(w.parent_id, :root), w.p_depth + 1, n.score,
                   w.effective, CASE WHEN n.score IS NULL THEN NULL
                                     ELSE COALESCE(p.points, 0.0) * :span / 100.0 END
            FROM {t.units} u CROSS JOIN {t.weights} w
            LEFT JOIN {t.nodes} n ON n.unit_ix = u.unit_ix AND n.node_ix = w.node_ix
            -- dimensions are numbered below 0 (agg.number_nodes): only their points are joined
            LEFT JOIN (SELECT * FROM {points} WHERE node_ix < 0) p
                   ON p.unit_ix = u.unit_ix AND p.node_ix = w.node_ix
            WHERE w.kind = 'dimension'""", run=run_id, root=agg.ROOT, span=span),
        _output("run_reference_values", "run_id, indicator_id, peer_group, unit_id, name, value",
                f"""
            SELECT CAST(:run AS VARCHAR), * FROM ({stats} UNION ALL
                             SELECT indicator_id, pg, unit_id, name, value FROM {t.refs})""",
                run=run_id),
        _output("run_weights", """
            run_id, node_id, node_kind, parent_id, evidence, declared_weight, effective_weight""",
                f"""
            SELECT CAST(:run AS VARCHAR),
                   node_id, kind, NULLIF(parent_id, :root), evidence, declared, effective
            FROM {t.weights}""", run=run_id, root=agg.ROOT),
    ]
    if t.survey is not None:
        outputs.append(Output("run_survey_quality", ("run_id", *QUALITY_COLUMNS), sql(
            f"SELECT CAST(:run AS VARCHAR), {', '.join(QUALITY_COLUMNS)} FROM {t.survey}",
            run=run_id)))
    return outputs


def indicator_outputs(tables: RunTables, run_id: str, span: float,
                      base: tuple[str, bool] | None) -> list[Output]:
    """The run's unit × indicator rows (evaluator/store/indicators.py says how they are kept).

    With `base` = (id, present): the weight-independent rows of `id` (only when not `present`:
    a weights-only re-score writes none), the run's indicator weights naming that base, and the
    local weight and contribution of each weighted, scored (unit, indicator); the view reads a
    missing one as 0 (as the LEFT JOINs of the one-table form did)."""
    t = tables
    shares, points = t.contributions.shares, t.contributions.points
    if base is None:
        return [
            _output("run_indicator_scores", """
            run_id, unit_id, indicator_id, dimension_id, evidence, raw_value, transformed_value,
            rule, score, declared_weight, weight, local_weight, contribution, missing_policy,
            imputed, flags""", f"""
            SELECT CAST(:run AS VARCHAR),
                   s.unit_id, s.indicator_id, s.dimension_id, s.evidence, s.raw_value,
                   s.value, m.rule, s.score, w.declared, w.effective, COALESCE(c.w_norm, 0.0),
                   CASE WHEN s.score IS NULL THEN NULL
                        ELSE COALESCE(p.points, 0.0) * :span / 100.0 END,
                   s.missing_policy, s.imputed_any, NULLIF(s.flags, '')
            FROM {t.indicator_scores} s
            JOIN {t.meta} m ON m.indicator_id = s.indicator_id
            JOIN {t.weights} w ON w.node_id = s.indicator_id
            LEFT JOIN {shares} c ON c.unit_ix = s.unit_ix AND c.node_ix = s.node_ix
            LEFT JOIN {points} p ON p.unit_ix = s.unit_ix AND p.node_ix = s.node_ix""",
                run=run_id, span=span),
        ]
    base_id, present = base
    outputs = [] if present else [_output("run_indicator_base", ", ".join(BASE_COLUMNS), f"""
            SELECT CAST(:base AS VARCHAR),
                   s.unit_id, s.indicator_id, s.dimension_id, s.evidence, s.raw_value,
                   s.value, m.rule, s.score, s.missing_policy, s.imputed_any, NULLIF(s.flags, '')
            FROM {t.indicator_scores} s
            JOIN {t.meta} m ON m.indicator_id = s.indicator_id
            JOIN {t.weights} w ON w.node_id = s.indicator_id""", base=base_id)]
    # positions: each indicator's rank by id (the same for every run of the base)
    positions = (f"SELECT node_id, node_ix, declared, effective, CAST(row_number() OVER "
                 f"(ORDER BY node_id) - 1 AS INTEGER) AS pos FROM {t.weights} "
                 f"WHERE kind = 'indicator'")
    return [*outputs,
            _output("run_indicator_weights", ", ".join(WEIGHT_COLUMNS), f"""
            SELECT CAST(:run AS VARCHAR), CAST(:base AS VARCHAR), node_id, pos, declared,
                   effective
            FROM ({positions})""", run=run_id, base=base_id),
            _output("run_indicator_parts", ", ".join(PART_COLUMNS), f"""
            -- the three lists of one group are built from its rows in one order (no ORDER BY:
            -- a sort per unit; the view finds each indicator by its position in `positions`)
            SELECT CAST(:run AS VARCHAR), u.unit_id, g.positions, g.local_weights,
                   g.contributions
            FROM (SELECT c.unit_ix, list(w.pos) AS positions, list(c.w_norm) AS local_weights,
                         list(p.points * c.share * :span / 100.0) AS contributions
                  FROM {shares} c
                  JOIN ({positions}) w ON w.node_ix = c.node_ix
                  -- an indicator's points are its parent's times its share (agg.contributions,
                  -- the same product): joining the parents' points only (dimensions and the
                  -- total, numbered 0 and below) is a tenth of the rows
                  LEFT JOIN (SELECT unit_ix, node_ix, points FROM {points} WHERE node_ix <= 0) p
                         ON p.unit_ix = c.unit_ix AND p.node_ix = c.parent_ix
                  GROUP BY c.unit_ix) g
            JOIN {t.units} u ON u.unit_ix = g.unit_ix""", run=run_id, span=span)]


def read_back_outputs(scheme: Scheme, tables: RunTables, run_id: str) -> list[Output]:
    """The flags and warnings: what the run's rows say about it, read from the engine's tables
    with the columns of `run_indicator_scores` (the same rows, without the stored view's joins;
    `run_survey_quality` is read back as stored)."""
    t = tables
    indicators = (f"(SELECT s.unit_id, s.indicator_id, s.evidence, s.raw_value, "
                  f"s.value AS transformed_value, m.rule, s.score, s.missing_policy "
                  f"FROM {t.indicator_scores} s JOIN {t.meta} m ON m.indicator_id = s.indicator_id"
                  f") AS i")
    return [Output("run_flags", FLAG_COLUMNS, flag_rows(scheme, run_id, indicators)),
            warnings_output(run_id, indicators, f"{t.scores} AS s")]


def _insert(engine: Engine, out: Output) -> None:
    engine.execute(exp.insert(out.query, out.table, columns=list(out.columns)))


def write_run_row(store: Engine, loaded: LoadedScheme, period: str, run_id: str,
                  parameters: dict[str, Any], warnings: list[str], lint: list[dict[str, Any]],
                  batches: list[int]) -> None:
    """The `runs` row and the lint findings: scheme metadata, always written by the store."""
    scheme = loaded.scheme
    store.register("_sc_run_row", pl.DataFrame([{
        "run_id": run_id,
        "created_at": datetime.now(UTC).replace(tzinfo=None),
        "period": period, "scheme_id": scheme.id, "scheme_version": scheme.version,
        "scheme_name_zh": scheme.name.zh, "scheme_name_en": scheme.name.en,
        "scheme_hash": loaded.content_hash, "scheme_yaml": loaded.text,
        "batch_ids": [int(b) for b in batches],
        "parameters": json.dumps(parameters, sort_keys=True, ensure_ascii=False),
        "code_version": code_version(),
        "lint_errors": sum(1 for f in lint if f["severity"] == "error"),
        "note": "\n".join(warnings) or None,
    }], schema_overrides={"batch_ids": pl.List(pl.Int32)}))
    store.execute(sql("""
        INSERT INTO runs
        (run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh, scheme_name_en,
         scheme_hash, scheme_yaml, batch_ids, parameters, code_version, lint_errors, note)
        SELECT run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh,
               scheme_name_en, scheme_hash, scheme_yaml, batch_ids, CAST(parameters AS JSON),
               code_version, lint_errors, note FROM _sc_run_row"""))
    if lint:
        store.register("_sc_lint", pl.DataFrame(lint, schema={
            "rule": pl.String, "severity": pl.String, "indicator": pl.String,
            "message": pl.String, "message_zh": pl.String}))
        store.execute(sql(
            "INSERT INTO run_lint (run_id, rule, severity, indicator, message, message_zh) "
            "SELECT CAST(:run AS VARCHAR), rule, severity, indicator, message, message_zh "
            "FROM _sc_lint", run=run_id))


def accepted_batches(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The data batches a run on the store's own data sees."""
    rows = con.execute(
        "SELECT batch_id FROM load_batches WHERE status = 'accepted' ORDER BY batch_id").fetchall()
    return [int(r[0]) for r in rows]


def lint_findings(loaded: LoadedScheme) -> list[dict[str, Any]]:
    """The formalism findings, stored with the run (never a reason to refuse scoring)."""
    return [
        {"rule": f.rule, "severity": str(f.severity), "indicator": f.indicator,
         "message": f.message, "message_zh": f.message_zh}
        for f in lint_scheme(loaded).findings
    ]


def score_run(con: duckdb.DuckDBPyConnection, loaded: LoadedScheme, period: str, *,
              engine: Engine | None = None, uncertainty: bool = False,
              params: dict[str, Any] | None = None, publish_snapshot: bool = True,
              batch_ids: list[int] | None = None,
              unknown: list[UnknownSource] | None = None) -> str:
    """Score every unit of the scheme's types for `period`; store the run in `con`; return its id.

    `engine` computes (default: DuckDB on `con` itself); `con` is always the run store. An
    engine that does not share the store (Spark) must have its inputs staged
    (`SparkEngine.stage_store_inputs` or `stage_input_files`); `batch_ids` then says which
    store batches the run saw ([] for outside files; default: every accepted batch).
    `publish_snapshot=False` leaves the dashboard snapshot to the caller (the CLI reports it).
    `unknown`: `sources.unknown_sources` on `engine`, when the caller has it already.
    """
    engine = engine if engine is not None else DuckDBEngine(con)
    with engine.session():
        run_id = _score(con, engine, loaded, str(period).strip(), uncertainty, params or {},
                        batch_ids, unknown)
    if publish_snapshot:
        publish(con)
    return run_id


def _score(con: duckdb.DuckDBPyConnection, engine: Engine, loaded: LoadedScheme, period: str,
           uncertainty: bool, params: dict[str, Any], batch_ids: list[int] | None,
           unknown: list[UnknownSource] | None) -> str:
    scheme = loaded.scheme
    # the code version too: the key is kept in the store, where a newer evaluator may read it
    key = (reuse_mod.run_key(scheme, period, reuse_mod.data_version(engine), code_version())
           if engine.SHARES_STORE else None)
    warnings, tables = compute(engine, scheme, period, uncertainty, reuse_key=key,
                               unknown=unknown)
    lint = lint_findings(loaded)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    parameters = {"engine": engine.dialect, "uncertainty": uncertainty, "period": period,
                  **params}
    batches = accepted_batches(con) if batch_ids is None else batch_ids
    base = None
    if engine.SHARES_STORE:  # a weights-only re-score reads the indicator rows already stored
        bid = indicator_rows.base_id(key) if key is not None and not uncertainty else run_id
        base = (bid, indicator_rows.has_base(con, bid))
    outputs = [*run_outputs(scheme, tables, run_id, base),
               *read_back_outputs(scheme, tables, run_id)]
    if any(o.table == "run_survey_quality" for o in outputs):  # funnels need survey rows
        outputs.append(Output("run_funnels", FUNNEL_COLUMNS, funnel_rows(run_id)))
    if engine.SHARES_STORE:
        with engine.transaction():
            write_run_row(engine, loaded, period, run_id, parameters, warnings, lint, batches)
            for out in outputs:
                _insert(engine, out)
            if key is not None and not uncertainty:  # for the next process's re-score
                reuse_mod.store(engine, key)
            store_value_added(con, scheme, run_id)
        return run_id
    folder, files = engine.write_outputs(outputs, run_id)
    parameters["run_files"] = folder
    store = DuckDBEngine(con)  # the run store, whatever engine computed the run
    with store.transaction():
        write_run_row(store, loaded, period, run_id, parameters, warnings, lint, batches)
        for out in outputs:
            if out.table == "run_indicator_scores" and out.table in files:  # the view's rows
                indicator_rows.insert_rows(
                    con, f"read_parquet({lit(files[out.table]).sql('duckdb')})")
            elif out.table in files:  # an empty table leaves no file
                store.execute(exp.insert(sql(
                    f"SELECT {', '.join(out.columns)} FROM read_parquet(:path)",
                    path=files[out.table]), out.table, columns=list(out.columns)))
        store_value_added(con, scheme, run_id)
    return run_id


def publish(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the dashboard's read-only snapshot (best effort: the run is stored either way)."""
    from evaluator import snapshot

    row = con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()"
                      ).fetchall()
    if not row or not row[0][0]:
        return  # in-memory database: nothing to publish
    # the run is stored either way; on failure the dashboard shows the previous snapshot
    with contextlib.suppress(snapshot.SnapshotError):
        snapshot.publish_from_connection(con, row[0][0])
