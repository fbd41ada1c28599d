"""The bootstrap of a stored run: replicate as a column, every step one set-based statement.

Each replicate r = 0 … R−1 redraws the data a run rests on, then rescores it:

* survey respondents are resampled within their unit with Poisson(1) bootstrap weights (each
  valid response counts k ~ Poisson(1) times in replicate r, on top of its survey weight), so a
  unit's index is re-estimated from its own respondents; a small-sample index keeps the run's
  shrinkage toward its peer mean (index_r = index + shrinkage × (raw_r − raw));
* an outcome measure with a declared `error` gets value + sd × z, z ~ N(0, 1) (Box–Muller);
* everything else (administrative data without declared error, imputed values, the winsor
  bounds, bonuses, deductions and vetoes) stays as the run had it.

The draws are hashes of (seed, replicate, unit, response or indicator): the same seed gives the
same replicates on the same data, whatever the order rows arrive in. Rescoring mirrors the run:
transforms, the indicator rules with their reference values (min, max, mean, sd, ranks)
recomputed per replicate, the weighted tree, adjustments, rounding, ranks and grades with quotas.
Every table carries `rep`; the only Python loop is over the depth of the dimension tree.
"""

from __future__ import annotations

import math

import polars as pl
from sqlglot import exp

from evaluator.scheme.models import MeasureSource, PercentileRule, Scheme
from evaluator.scoring import aggregate as agg
from evaluator.scoring.adjust import final_score_sql, grade_order
from evaluator.scoring.engine import Engine, create_temp, lit, sql, union_all
from evaluator.scoring.grades import GRADE_ITEMS, assign_grades
from evaluator.scoring.rules import rule_expr
from evaluator.scoring.run import round_in_scale
from evaluator.scoring.surveys import build_valid_responses, survey_indicators
from evaluator.scoring.values import log_expr, transform_expr

REPS = "_u_reps"
UNITS = "_u_units"
BASE = "_u_base"
RAW = "_u_raw"
VALUES = "_u_vals"
IND = "_u_ind"
NODES = "_u_nodes"
FINAL = "_u_final"
GRADES = "_u_grades"
FIXED = -1  # the `rep` of rows that are the same in every replicate (stored once)

TWO32 = 4294967296
# Poisson(1) cumulative probabilities P(K ≤ k), k = 0 … 6 (k = 7 beyond: P > 7 is 1e-5)
POISSON1_CDF = [sum(math.exp(-1) / math.factorial(j) for j in range(k + 1)) for k in range(7)]


def uniform(seed: int, *keys: str) -> str:
    """SQL for a uniform draw in (0, 1) from a hash of the seed and the row's keys.

    The keys are joined into one string first: DuckDB's several-argument HASH combines the
    arguments' hashes in a way that leaves draws of one replicate correlated (the variance of
    a sum of Poisson(1) counts came out three times too large); one string's hash does not."""
    return (f"((HASH(CONCAT_WS('|', {int(seed)}, {', '.join(keys)})) % {TWO32}) + 0.5) "
            f"/ {TWO32}.0")


def poisson1(u: str) -> str:
    """SQL: a Poisson(1) count from uniform `u` by inverting the cumulative distribution."""
    cases = " ".join(f"WHEN {u} < {p!r} THEN {k}" for k, p in enumerate(POISSON1_CDF))
    return f"CASE {cases} ELSE 7 END"


def load_run(engine: Engine, scheme: Scheme, run_id: str, replicates: int) -> None:
    """The run's own rows as the bootstrap's inputs: units with their adjustments, and every
    unit × indicator with its raw, transformed and scored value."""
    create_temp(engine, REPS, sql("SELECT CAST(range AS INTEGER) AS rep FROM range(:n)",
                                  n=int(replicates)))
    order = grade_order(scheme)
    engine.register("_u_veto_items", pl.DataFrame(
        [{"veto_id": v.id, "max_grade_ord": order[v.max_grade], "max_score": v.max_score}
         for v in scheme.vetoes],
        schema={"veto_id": pl.String, "max_grade_ord": pl.Int64, "max_score": pl.Float64}))
    create_temp(engine, UNITS, sql(
        """
        WITH v AS (
            SELECT s.unit_id, MAX(i.max_grade_ord) AS veto_grade_ord,
                   MIN(i.max_score) AS veto_max_score
            FROM (SELECT unit_id, UNNEST(STRING_SPLIT(veto, ',')) AS veto_id FROM run_scores
                  WHERE run_id = :run AND veto IS NOT NULL) s
            JOIN _u_veto_items i ON i.veto_id = s.veto_id GROUP BY s.unit_id)
        SELECT s.unit_id, s.peer_group, COALESCE(s.peer_group, '') AS pg,
               COALESCE(s.bonus, 0.0) AS bonus, COALESCE(s.deduction, 0.0) AS deduction,
               v.veto_grade_ord, v.veto_max_score, s.score AS run_score, s.rank AS run_rank
        FROM run_scores s LEFT JOIN v ON v.unit_id = s.unit_id WHERE s.run_id = :run
        """, run=run_id))
    create_temp(engine, BASE, sql(
        f"""
        SELECT i.unit_id, u.pg, i.indicator_id, i.raw_value, i.transformed_value, i.score,
               t.value AS unit_target
        FROM run_indicator_scores i JOIN {UNITS} u ON u.unit_id = i.unit_id
        LEFT JOIN run_reference_values t ON t.run_id = i.run_id AND t.unit_id = i.unit_id
             AND t.indicator_id = i.indicator_id AND t.name = 'target'
        WHERE i.run_id = :run
        """, run=run_id))
    create_temp(engine, "_u_cov", sql(
        """
        SELECT unit_id, dimension_id AS node_id FROM run_dimension_scores
        WHERE run_id = :run AND score IS NOT NULL
        UNION ALL
        SELECT unit_id, :root FROM run_scores WHERE run_id = :run AND base_score IS NOT NULL
        """, run=run_id, root=agg.ROOT))
    engine.register(agg.WEIGHTS, agg.weights_frame(scheme))


def survey_replicates(engine: Engine, scheme: Scheme, run_id: str, period: str, seed: int,
                      resample: bool = True) -> exp.Expression | None:
    """Replicate survey indices from respondents resampled within unit (None: no surveys).

    One row per response carries its value on every survey indicator (so one draw of k serves
    all the indicators a respondent answered) and a hash of (seed, unit, response) computed
    once; each replicate's draw hashes that with the replicate number."""
    inds = [i for i, _ in survey_indicators(scheme)]
    if not inds:
        return None
    build_valid_responses(engine, scheme, period, UNITS, "_u_valid")
    cols = ", ".join(
        f"MAX(CASE WHEN indicator_id = {lit(i).sql('duckdb')} THEN pct END) AS p{k}"
        for k, i in enumerate(inds))
    create_temp(engine, "_u_resp", sql(
        f"""
        SELECT unit_id, MAX(w) AS w, HASH(CONCAT_WS('|', :seed, unit_id, response_id)) AS h0,
               {cols}
        FROM _u_valid GROUP BY unit_id, response_id
        """, seed=int(seed)))
    u = f"((HASH(XOR(v.h0, CAST(r.rep AS UBIGINT))) % {TWO32}) + 0.5) / {TWO32}.0"
    k = poisson1("u") if resample else "1"
    sums = ", ".join(f"SUM(wk * p{j}) AS s{j}, SUM(CASE WHEN p{j} IS NOT NULL THEN wk END) "
                     f"AS n{j}" for j in range(len(inds)))
    create_temp(engine, "_u_survey_est", sql(
        f"""
        WITH d AS (SELECT r.rep, v.*, {u} AS u FROM _u_resp v CROSS JOIN {REPS} r),
        b AS (SELECT *, w * ({k}) AS wk FROM d)
        SELECT rep, unit_id, {sums} FROM b GROUP BY rep, unit_id
        """))
    create_temp(engine, "_u_survey_rep", union_all([sql(
        f"SELECT rep, unit_id, CAST(:ind AS VARCHAR) AS indicator_id, s{j} / NULLIF(n{j}, 0) "
        f"AS raw_r FROM _u_survey_est", ind=i) for j, i in enumerate(inds)]))
    return sql(
        """
        SELECT e.rep, e.unit_id, e.indicator_id,
               q.index_value + q.shrinkage * (COALESCE(e.raw_r, q.raw_index) - q.raw_index)
                   AS raw_rep
        FROM _u_survey_rep e JOIN run_survey_quality q ON q.run_id = :run
             AND q.unit_id = e.unit_id AND q.indicator_id = e.indicator_id
        WHERE q.index_value IS NOT NULL
        """, run=run_id)


def error_frame(scheme: Scheme) -> pl.DataFrame:
    """One row per measure indicator with declared measurement error."""
    rows = []
    for ind in scheme.indicators():
        src = ind.source
        if isinstance(src, MeasureSource) and src.error is not None:
            rows.append({"indicator_id": ind.id, "sd_measure": src.error.sd_measure,
                         "relative": src.error.relative, "sd": src.error.sd})
    return pl.DataFrame(rows, schema={"indicator_id": pl.String, "sd_measure": pl.String,
                                      "relative": pl.Float64, "sd": pl.Float64})


def measure_replicates(engine: Engine, scheme: Scheme, period: str, seed: int,
                       resample: bool = True) -> exp.Expression | None:
    """Replicate raw values of measures with declared error: value + sd × N(0, 1)."""
    errors = error_frame(scheme)
    if errors.is_empty():
        return None
    engine.register("_u_errors", errors)
    u1 = uniform(seed, "r.rep", "b.unit_id", "b.indicator_id", "1")
    u2 = uniform(seed, "r.rep", "b.unit_id", "b.indicator_id", "2")
    return sql(
        f"""
        WITH unit_sd AS (
            SELECT o.unit_id, e.indicator_id,
                   COALESCE(MAX(CASE WHEN o.period = :period THEN o.value END), AVG(o.value))
                       AS sd
            FROM current_outcomes o JOIN _u_errors e ON e.sd_measure = o.measure
            WHERE o.year = :year GROUP BY o.unit_id, e.indicator_id),
        sds AS (
            SELECT b.unit_id, b.indicator_id, b.raw_value,
                   COALESCE(e.sd, e.relative * ABS(b.raw_value), s.sd) AS sd
            FROM {BASE} b JOIN _u_errors e ON e.indicator_id = b.indicator_id
            LEFT JOIN unit_sd s ON s.unit_id = b.unit_id AND s.indicator_id = b.indicator_id
            WHERE b.raw_value IS NOT NULL)
        SELECT r.rep, b.unit_id, b.indicator_id,
               b.raw_value + COALESCE(b.sd, 0.0) * :noise
                   * SQRT(-2.0 * LN({u1})) * COS(2.0 * PI() * {u2}) AS raw_rep
        FROM sds b CROSS JOIN {REPS} r
        """, period=period, year=int(period[:4]), noise=1.0 if resample else 0.0)


def winsor_bounds(engine: Engine, run_id: str) -> dict[str, tuple[float, float]]:
    """The run's winsorising bounds per indicator (kept fixed across replicates)."""
    frame = engine.fetch_polars(sql(
        """
        SELECT indicator_id, MAX(CASE WHEN name = 'winsor_low' THEN value END) AS lo,
               MAX(CASE WHEN name = 'winsor_high' THEN value END) AS hi
        FROM run_reference_values WHERE run_id = :run AND name IN ('winsor_low', 'winsor_high')
        GROUP BY indicator_id
        """, run=run_id))
    return {r["indicator_id"]: (r["lo"], r["hi"]) for r in frame.iter_rows(named=True)
            if r["lo"] is not None and r["hi"] is not None}


def transform_case(scheme: Scheme, bounds: dict[str, tuple[float, float]]) -> exp.Expression:
    """A replicate raw value on the scored scale: floor/cap, the run's winsor bounds, log."""
    x = exp.column("raw_rep")
    case = exp.Case(this=exp.column("indicator_id"))
    changed = False
    for ind in scheme.indicators():
        if ind.transform is None:
            continue
        e = transform_expr(ind, x)
        if ind.id in bounds:
            lo, hi = bounds[ind.id]
            e = exp.Least(this=exp.Greatest(this=e, expressions=[lit(lo)]), expressions=[lit(hi)])
        case = case.when(lit(ind.id), log_expr(ind, e))
        changed = True
    return case.else_(x) if changed else x


def varying(scheme: Scheme) -> list[str]:
    """Indicators whose values a replicate redraws: survey indices and measures with error.
    Every other indicator keeps the run's scores in every replicate (its data and its
    reference values do not move)."""
    return [i.id for i in scheme.indicators()
            if not isinstance(i.source, MeasureSource) or i.source.error is not None]


def build_values(engine: Engine, scheme: Scheme, run_id: str, period: str, seed: int,
                 resample: bool = True) -> None:
    """`VALUES`: rep × unit × redrawn indicator with the value each replicate scores."""
    parts = [q for q in (survey_replicates(engine, scheme, run_id, period, seed, resample),
                         measure_replicates(engine, scheme, period, seed, resample))
             if q is not None]
    create_temp(engine, "_u_raw0", union_all(parts) if parts else sql(
        "SELECT 0 AS rep, CAST(NULL AS VARCHAR) AS unit_id, CAST(NULL AS VARCHAR) AS "
        "indicator_id, CAST(NULL AS DOUBLE) AS raw_rep WHERE FALSE"))
    # the transformed replicate value, computed once per drawn row
    create_temp(engine, RAW, sql(
        "SELECT rep, unit_id, indicator_id, :t AS raw_rep FROM _u_raw0",
        t=transform_case(scheme, winsor_bounds(engine, run_id))))
    # drawn pairs take their replicate values; a redrawn indicator's other units (no responses,
    # an imputed value) keep the run's value in every replicate
    create_temp(engine, VALUES, sql(
        f"""
        SELECT x.rep, b.unit_id, b.pg, b.indicator_id, b.score AS run_score, b.unit_target,
               x.raw_rep AS value
        FROM {RAW} x JOIN {BASE} b ON b.unit_id = x.unit_id AND b.indicator_id = x.indicator_id
        UNION ALL
        SELECT r.rep, b.unit_id, b.pg, b.indicator_id, b.score, b.unit_target,
               b.transformed_value
        FROM (SELECT * FROM {BASE} WHERE indicator_id IN :ids) b
        CROSS JOIN {REPS} r
        WHERE NOT EXISTS (SELECT 1 FROM {RAW} x WHERE x.rep = 0 AND x.unit_id = b.unit_id
                          AND x.indicator_id = b.indicator_id)
        """, ids=[*varying(scheme), ""]))


def score_indicators(engine: Engine, scheme: Scheme) -> None:
    """`IND`: each replicate's indicator scores: the run's rules over per-replicate reference
    values for the redrawn indicators, the run's own scores for the others."""
    inds = [i for i in scheme.indicators() if i.id in set(varying(scheme))]
    aggs = ("COUNT(value) AS n, MIN(value) AS min, MAX(value) AS max, AVG(value) AS mean, "
            "STDDEV_SAMP(value) AS sd")
    create_temp(engine, "_u_stats", sql(
        f"SELECT rep, indicator_id, CAST(NULL AS VARCHAR) AS pg, {aggs} FROM {VALUES} "
        f"WHERE value IS NOT NULL GROUP BY rep, indicator_id "
        f"UNION ALL SELECT rep, indicator_id, pg, {aggs} FROM {VALUES} "
        f"WHERE value IS NOT NULL GROUP BY rep, indicator_id, pg"))
    ranked = [i.id for i in inds if isinstance(i.rule, PercentileRule)]
    create_temp(engine, "_u_ranks", sql(
        f"""
        SELECT rep, unit_id, indicator_id,
               RANK() OVER (PARTITION BY rep, indicator_id ORDER BY value) - 1 AS a_below,
               COUNT(*) OVER (PARTITION BY rep, indicator_id, value) AS a_equal,
               RANK() OVER (PARTITION BY rep, indicator_id, pg ORDER BY value) - 1 AS g_below,
               COUNT(*) OVER (PARTITION BY rep, indicator_id, pg, value) AS g_equal
        FROM {VALUES} WHERE value IS NOT NULL AND indicator_id IN :ids
        """, ids=[*ranked, ""]))
    stat_cols = ", ".join(f"{p}.{c} AS {p}_{c}" for p in ("a", "g")
                          for c in ("n", "min", "max", "mean", "sd"))
    case = exp.Case(this=exp.column("indicator_id"))
    for ind in inds:
        case = case.when(lit(ind.id), rule_expr(ind))
    create_temp(engine, IND, sql(
        f"""
        WITH j AS (
            SELECT v.*, {stat_cols}, k.a_below, k.a_equal, k.g_below, k.g_equal
            FROM {VALUES} v
            LEFT JOIN _u_stats a ON a.rep = v.rep AND a.indicator_id = v.indicator_id
                 AND a.pg IS NULL
            LEFT JOIN _u_stats g ON g.rep = v.rep AND g.indicator_id = v.indicator_id
                 AND g.pg = v.pg
            LEFT JOIN _u_ranks k ON k.rep = v.rep AND k.unit_id = v.unit_id
                 AND k.indicator_id = v.indicator_id
            WHERE v.value IS NOT NULL)
        SELECT rep, unit_id, indicator_id, COALESCE(CAST(:score AS DOUBLE), run_score) AS score
        FROM j
        UNION ALL
        SELECT rep, unit_id, indicator_id, run_score FROM {VALUES}
        WHERE value IS NULL AND run_score IS NOT NULL
        UNION ALL
        SELECT CAST(:fixed AS INTEGER), unit_id, indicator_id, score FROM {BASE}
        WHERE score IS NOT NULL AND indicator_id NOT IN :ids
        """, score=case if inds else lit(None), ids=[*varying(scheme), ""], fixed=FIXED))


def aggregate(engine: Engine, scheme: Scheme) -> None:
    """`NODES`: replicate scores of every node, the tree walked deepest level first.

    A node's children split into those that move with the replicate and those that do not
    (rep = FIXED); the fixed part of a node's sums is computed once and added to each
    replicate's moving part, so a node without moving children is computed once, not R times.
    """
    create_temp(engine, NODES, sql(
        f"SELECT rep, unit_id, indicator_id AS node_id, score FROM {IND} WHERE score IS NOT NULL"))
    for d in range(agg.max_depth(scheme), -2, -1):
        create_temp(engine, "_u_parts", sql(
            f"""
            SELECT n.rep, n.unit_id, w.parent_id, MAX(w.p_agg) AS p_agg,
                   SUM(w.w_eff * n.score) AS sws, SUM(w.w_eff) AS sw,
                   SUM(w.w_eff * LN(CASE WHEN n.score > 0 THEN n.score END)) AS swl,
                   MIN(n.score) AS lowest
            FROM {NODES} n JOIN {agg.WEIGHTS} w ON w.node_id = n.node_id
            JOIN _u_cov c ON c.unit_id = n.unit_id AND c.node_id = w.parent_id
            WHERE w.p_depth = :depth AND n.score IS NOT NULL AND w.w_eff > 0
            GROUP BY n.rep, n.unit_id, w.parent_id
            """, depth=d))
        engine.append_temp(NODES, sql(
            """
            WITH fixed AS (SELECT * FROM _u_parts WHERE rep = :fixed),
            moving AS (SELECT * FROM _u_parts WHERE rep <> :fixed),
            summed AS (
                SELECT m.rep, m.unit_id, m.parent_id, m.p_agg,
                       m.sws + COALESCE(f.sws, 0.0) AS sws, m.sw + COALESCE(f.sw, 0.0) AS sw,
                       m.swl + COALESCE(f.swl, 0.0) AS swl, LEAST(m.lowest, COALESCE(f.lowest,
                       m.lowest)) AS lowest
                FROM moving m LEFT JOIN fixed f
                     ON f.unit_id = m.unit_id AND f.parent_id = m.parent_id
                UNION ALL
                SELECT f.* FROM fixed f WHERE NOT EXISTS (
                    SELECT 1 FROM _u_parts m WHERE m.rep = 0 AND m.unit_id = f.unit_id
                    AND m.parent_id = f.parent_id))
            SELECT rep, unit_id, parent_id AS node_id,
                   CASE WHEN p_agg = 'geometric' THEN
                        CASE WHEN lowest <= 0 THEN 0.0 ELSE EXP(swl / sw) END
                        ELSE sws / sw END AS score
            FROM summed
            """, fixed=FIXED))


def final_scores(engine: Engine, scheme: Scheme) -> None:
    """`FINAL` (rep, unit, score, rank, veto cap) and `GRADES` (rep, unit, ord) per replicate;
    a total that no replicate moves is copied into every replicate here."""
    lo, hi = scheme.scale.min, scheme.scale.max
    adjusted = final_score_sql("(:lo + (:hi - :lo) * t.score / 100.0)")
    create_temp(engine, "_u_final0", sql(
        f"""
        WITH t AS (
            SELECT n.rep, n.unit_id, n.score FROM {NODES} n
            WHERE n.node_id = :root AND n.rep <> :fixed
            UNION ALL
            SELECT r.rep, n.unit_id, n.score FROM {NODES} n CROSS JOIN {REPS} r
            WHERE n.node_id = :root AND n.rep = :fixed)
        SELECT t.rep, t.unit_id, {round_in_scale(f'({adjusted})')} AS score, a.veto_grade_ord
        FROM t JOIN {UNITS} a ON a.unit_id = t.unit_id
        """, lo=lo, hi=hi, scale_lo=lo, scale_hi=hi, dec=scheme.scale.decimals, root=agg.ROOT,
        fixed=FIXED))
    create_temp(engine, FINAL, sql(
        """
        SELECT *, RANK() OVER (PARTITION BY rep ORDER BY score DESC) AS rank,
               COUNT(*) OVER (PARTITION BY rep) AS n_ranked
        FROM _u_final0 WHERE score IS NOT NULL
        """))
    assign_grades(engine, scheme, FINAL, by="rep", name=GRADES)


def run_bootstrap(engine: Engine, scheme: Scheme, run_id: str, period: str, replicates: int,
                  seed: int, resample: bool = True) -> None:
    """Every replicate of the run, down to `FINAL` and `GRADES`. `resample=False` draws nothing:
    every replicate is then the run itself (the check that rescoring mirrors the run)."""
    load_run(engine, scheme, run_id, replicates)
    build_values(engine, scheme, run_id, period, seed, resample)
    forget(engine, "_u_resp", "_u_survey_est", "_u_survey_rep", "_u_raw0", RAW)
    score_indicators(engine, scheme)
    forget(engine, VALUES, "_u_stats", "_u_ranks")
    aggregate(engine, scheme)
    forget(engine, IND, "_u_parts")
    final_scores(engine, scheme)
    forget(engine, NODES, "_u_final0", f"{GRADES}_prev")


def forget(engine: Engine, *tables: str) -> None:
    """Drop intermediate tables once the next step has read them (they hold R × units rows)."""
    for table in tables:
        engine.drop_temp(table)


def summarise(engine: Engine, level: float, replicates: int, decimals: int
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per unit: score and rank intervals at `level`, median rank, P(top / bottom 10%); and
    P(grade) per unit and grade band."""
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    units = engine.fetch_polars(sql(
        f"""
        SELECT u.unit_id,
               -- exact integer sums of the rounded scores: the same digits whatever the
               -- order the threads add them in
               ROUND(CAST(SUM(CAST(ROUND(f.score * :unit) AS HUGEINT)) AS DOUBLE)
                     / COUNT(*) / :unit, :dec + 2) AS score_mean,
               ROUND(SQRT(GREATEST(CAST(
                   COUNT(*) * SUM(CAST(ROUND(f.score * :unit) AS HUGEINT)
                                  * CAST(ROUND(f.score * :unit) AS HUGEINT))
                   - SUM(CAST(ROUND(f.score * :unit) AS HUGEINT))
                     * SUM(CAST(ROUND(f.score * :unit) AS HUGEINT)) AS DOUBLE), 0.0)
                   / (COUNT(*) * (COUNT(*) - 1))) / :unit, :dec + 2) AS score_sd,
               ROUND(QUANTILE_CONT(f.score, :q_lo), :dec) AS score_low,
               ROUND(QUANTILE_CONT(f.score, :q_hi), :dec) AS score_high,
               MEDIAN(f.rank) AS rank_median,
               CAST(QUANTILE_DISC(f.rank, :q_lo) AS INTEGER) AS rank_low,
               CAST(QUANTILE_DISC(f.rank, :q_hi) AS INTEGER) AS rank_high,
               AVG(CASE WHEN f.rank <= GREATEST(1, CEIL(0.1 * f.n_ranked)) THEN 1.0 ELSE 0.0 END)
                   AS p_top10,
               AVG(CASE WHEN f.rank > f.n_ranked - GREATEST(1, CEIL(0.1 * f.n_ranked))
                        THEN 1.0 ELSE 0.0 END) AS p_bottom10,
               u.run_rank
        FROM {UNITS} u JOIN {FINAL} f ON f.unit_id = u.unit_id
        GROUP BY u.unit_id, u.run_rank
        ORDER BY u.run_rank NULLS LAST, u.unit_id
        """, dec=decimals, q_lo=q_lo, q_hi=q_hi, unit=10 ** decimals))
    grades = engine.fetch_polars(sql(
        f"""
        SELECT g.unit_id, i.code AS grade, COUNT(*) / :n AS probability
        FROM {GRADES} g JOIN {GRADE_ITEMS} i ON i.ord = g.ord
        GROUP BY g.unit_id, i.code, i.ord ORDER BY g.unit_id, i.ord
        """, n=float(replicates)))
    return units, grades
