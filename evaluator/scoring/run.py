"""Step 6 — a stored run: every step above, then `runs` + `run_*` rows in ONE transaction.

The steps leave their results in connection-local temporary tables (`_sc_*`); nothing is
written to the database until all of them succeeded, and the writes either all commit or none
do. Runs are immutable; numbers depend only on the scheme and the data (the run id and the
timestamp are the only things that differ between two runs of the same inputs).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import uuid
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
from evaluator.scoring.adjust import ADJUST, build_adjustments, final_score_sql
from evaluator.scoring.engine import DuckDBEngine, Engine, create_temp, sql
from evaluator.scoring.errors import ScoringError
from evaluator.scoring.grades import (
    GRADES,
    RANK_INTERVALS,
    assign_grades,
    rank_intervals,
    ranks_sql,
)
from evaluator.scoring.rules import INDICATOR_SCORES, STATS, score_indicators
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


def _round_in_scale(column: str) -> str:
    """Round to the scheme's decimals without leaving the scale (1.875 → 1.88 > max 1.875)."""
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


def compute(engine: Engine, scheme: Scheme, period: str, uncertainty: bool = False
            ) -> list[str]:
    """Run every step into temporary tables. Returns warnings for the run's note."""
    warnings = check_period(scheme, period)
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
        for bound in ("ci_low", "ci_high"):
            create_temp(engine, f"_sc_total_{bound}", sql(
                f"SELECT unit_id, CAST(NULL AS DOUBLE) AS score FROM {UNITS}"))
    build_values(engine, scheme, period)
    score_indicators(engine, scheme)
    nodes = agg.aggregate(engine, scheme, "w_eff")
    nodes_declared = agg.aggregate(engine, scheme, "w_decl")
    agg.contributions(engine, scheme, nodes)
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
        SELECT *, {_round_in_scale('score_full')} AS score,
               {_round_in_scale('declared_full')} AS score_declared,
               {_round_in_scale('low_full')} AS score_low,
               {_round_in_scale('high_full')} AS score_high
        FROM (SELECT b.*, {final_score_sql('b.base_score')} AS score_full,
                     {final_score_sql('b.base_declared')} AS declared_full,
                     {final_score_sql('b.base_low')} AS low_full,
                     {final_score_sql('b.base_high')} AS high_full
              FROM _sc_scores0 b JOIN {ADJUST} a ON a.unit_id = b.unit_id)
        """,
        scale_lo=lo, scale_hi=hi, dec=scheme.scale.decimals,
    ))
    assign_grades(engine, scheme, "_sc_scores1")
    rank_intervals(engine, "_sc_scores1")
    create_temp(engine, SCORES, sql(
        f"""
        SELECT *, {ranks_sql()} FROM (
            SELECT s.*, g.code AS grade, gr.reason AS grade_reason, iv.rank_low, iv.rank_high
            FROM _sc_scores1 s
            LEFT JOIN {GRADES} gr ON gr.unit_id = s.unit_id
            LEFT JOIN _sc_grade_items g ON g.ord = gr.ord
            LEFT JOIN {RANK_INTERVALS} iv ON iv.unit_id = s.unit_id)
        """
    ))
    unscored = engine.fetch_polars(sql(f"SELECT unit_id FROM {SCORES} WHERE score IS NULL "
                                       "ORDER BY unit_id LIMIT 10"))["unit_id"].to_list()
    if unscored:
        warnings.append(f"units without any data for {period} (no score): {', '.join(unscored)}")
    return warnings


# ------------------------------------------------------------------------------ writing


def _insert(engine: Engine, table: str, query: str, **params: Any) -> None:
    engine.execute(sql(f"INSERT INTO {table} {query}", **params))


def write_run(engine: Engine, loaded: LoadedScheme, period: str, run_id: str,
              parameters: dict[str, Any], warnings: list[str], lint: list[dict[str, Any]]) -> None:
    """INSERT the run's rows from the temporary tables (caller holds the transaction)."""
    scheme = loaded.scheme
    span = scheme.scale.max - scheme.scale.min
    batches = engine.fetch_polars(sql(
        "SELECT batch_id FROM load_batches WHERE status = 'accepted' ORDER BY batch_id"
    ))["batch_id"].to_list()
    engine.register("_sc_run_row", pl.DataFrame([{
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
    _insert(engine, "runs", """
        (run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh, scheme_name_en,
         scheme_hash, scheme_yaml, batch_ids, parameters, code_version, lint_errors, note)
        SELECT run_id, created_at, period, scheme_id, scheme_version, scheme_name_zh,
               scheme_name_en, scheme_hash, scheme_yaml, batch_ids, CAST(parameters AS JSON),
               code_version, lint_errors, note FROM _sc_run_row""")
    _insert(engine, "run_scores", f"""
        (run_id, unit_id, unit_name, unit_type, peer_group, score, base_score, bonus, deduction,
         veto, rank, peer_rank, grade, grade_reason, score_declared, rank_declared, coverage,
         score_low, score_high, rank_low, rank_high)
        SELECT CAST(:run AS VARCHAR),
               unit_id, unit_name, unit_type, peer_group, score, base_score, bonus,
               deduction, veto, rank, peer_rank, grade, grade_reason, score_declared,
               rank_declared, coverage, score_low, score_high, rank_low, rank_high
        FROM {SCORES}""", run=run_id)
    _insert(engine, "run_indicator_scores", f"""
        (run_id, unit_id, indicator_id, dimension_id, evidence, raw_value, transformed_value,
         rule, score, declared_weight, weight, local_weight, contribution, missing_policy,
         imputed, flags)
        SELECT CAST(:run AS VARCHAR),
               s.unit_id, s.indicator_id, s.dimension_id, s.evidence, s.raw_value,
               s.value, m.rule, s.score, w.declared, w.effective, COALESCE(c.w_norm, 0.0),
               CASE WHEN s.score IS NULL THEN NULL
                    ELSE COALESCE(p.points, 0.0) * :span / 100.0 END,
               s.missing_policy, s.imputed_any, NULLIF(s.flags, '')
        FROM {INDICATOR_SCORES} s
        JOIN {META} m ON m.indicator_id = s.indicator_id
        JOIN {agg.WEIGHTS} w ON w.node_id = s.indicator_id
        LEFT JOIN _sc_shares2 c ON c.unit_id = s.unit_id AND c.node_id = s.indicator_id
        LEFT JOIN _sc_contrib p ON p.unit_id = s.unit_id AND p.node_id = s.indicator_id""",
            run=run_id, span=span)
    _insert(engine, "run_dimension_scores", f"""
        (run_id, unit_id, dimension_id, parent_id, depth, score, weight, contribution)
        SELECT CAST(:run AS VARCHAR),
               u.unit_id, w.node_id, NULLIF(w.parent_id, :root), w.p_depth + 1, n.score,
               w.effective, CASE WHEN n.score IS NULL THEN NULL
                                 ELSE COALESCE(p.points, 0.0) * :span / 100.0 END
        FROM {UNITS} u CROSS JOIN {agg.WEIGHTS} w
        LEFT JOIN _sc_nodes_w_eff n ON n.unit_id = u.unit_id AND n.node_id = w.node_id
        LEFT JOIN _sc_contrib p ON p.unit_id = u.unit_id AND p.node_id = w.node_id
        WHERE w.kind = 'dimension'""", run=run_id, root=agg.ROOT, span=span)
    stats = " UNION ALL ".join(
        f"SELECT indicator_id, pg, NULL, '{name}', CAST({name} AS DOUBLE) FROM {STATS}"
        for name in ("n", "min", "max", "mean", "sd", "median")
    )
    _insert(engine, "run_reference_values", f"""
        (run_id, indicator_id, peer_group, unit_id, name, value)
        SELECT CAST(:run AS VARCHAR), * FROM ({stats} UNION ALL
                             SELECT indicator_id, pg, unit_id, name, value FROM {REFS})""",
            run=run_id)
    _insert(engine, "run_weights", f"""
        (run_id, node_id, node_kind, parent_id, evidence, declared_weight, effective_weight)
        SELECT CAST(:run AS VARCHAR),
               node_id, kind, NULLIF(parent_id, :root), evidence, declared, effective
        FROM {agg.WEIGHTS}""", run=run_id, root=agg.ROOT)
    if lint:
        engine.register("_sc_lint", pl.DataFrame(lint, schema={
            "rule": pl.String, "severity": pl.String, "indicator": pl.String,
            "message": pl.String, "message_zh": pl.String}))
        _insert(engine, "run_lint", "(run_id, rule, severity, indicator, message, message_zh) "
                "SELECT CAST(:run AS VARCHAR), rule, severity, indicator, message, message_zh "
                "FROM _sc_lint",
                run=run_id)
    if survey_table_exists(engine):
        _insert(engine, "run_survey_quality", f"SELECT CAST(:run AS VARCHAR), * FROM {SURVEY}",
                run=run_id)


def survey_table_exists(engine: Engine) -> bool:
    found = engine.fetch_polars(sql(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = :t", t=SURVEY))
    return bool(found["n"][0])


def lint_findings(loaded: LoadedScheme) -> list[dict[str, Any]]:
    """The formalism findings, stored with the run (never a reason to refuse scoring)."""
    return [
        {"rule": f.rule, "severity": str(f.severity), "indicator": f.indicator,
         "message": f.message, "message_zh": f.message_zh}
        for f in lint_scheme(loaded).findings
    ]


def _drop_temp(engine: Engine) -> None:
    """Forget the previous run's survey table so a scheme without surveys does not reuse it."""
    engine.execute(sql(f"DROP TABLE IF EXISTS {SURVEY}"))


def score_run(con: duckdb.DuckDBPyConnection, loaded: LoadedScheme, period: str, *,
              uncertainty: bool = False, params: dict[str, Any] | None = None,
              publish_snapshot: bool = True) -> str:
    """Score every unit of the scheme's types for `period`; store the run; return its id.

    Runs single-threaded: floating-point sums depend on the order rows arrive in, and only one
    thread makes that order (and so every last digit) the same from run to run.
    `publish_snapshot=False` leaves the dashboard snapshot to the caller (the CLI reports it).
    """
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1").fetchall()
    try:
        run_id = _score(con, loaded, str(period).strip(), uncertainty, params or {})
    finally:
        con.execute(f"SET threads = {int(threads)}").fetchall()
    if publish_snapshot:
        publish(con)
    return run_id


def _score(con: duckdb.DuckDBPyConnection, loaded: LoadedScheme, period: str,
           uncertainty: bool, params: dict[str, Any]) -> str:
    engine = DuckDBEngine(con)
    scheme = loaded.scheme
    _drop_temp(engine)
    warnings = compute(engine, scheme, period, uncertainty)
    lint = lint_findings(loaded)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    parameters = {"engine": engine.dialect, "uncertainty": uncertainty, "period": period,
                  **params}
    engine.execute(exp.Transaction())
    try:
        write_run(engine, loaded, period, run_id, parameters, warnings, lint)
        from evaluator.flags import compute_flags  # flags builds on the scoring engine: import late

        compute_flags(engine, scheme, run_id)
    except BaseException:
        engine.execute(exp.Rollback())
        raise
    engine.execute(exp.Commit())
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
