"""The bootstrap of a stored run: replicate as a column, every step one set-based statement.

Each replicate r = 0 … R−1 redraws the data a run rests on, then rescores it:

* survey respondents are resampled within their unit with Poisson(1) bootstrap weights (each
  valid response counts k ~ Poisson(1) times in replicate r, on top of its survey weight), so a
  unit's index is re-estimated from its own respondents; a small-sample index keeps the run's
  shrinkage toward its peer mean (index_r = index + shrinkage × (raw_r − raw));
* an outcome measure with a declared `error` gets value + sd × z, z ~ N(0, 1) (Box–Muller);
* everything else (administrative data without declared error, imputed values, the winsor
  bounds, bonuses, deductions and vetoes) stays as the run had it.

The draws are integer hashes (`mix_sql`: shifts, XOR, small products, remainders) of (seed,
replicate, the response's or unit's position in id order, indicator): the same seed gives the
same replicates on the same data, whatever the order rows arrive in, on DuckDB and on Spark
alike (their own HASH functions differ). Rescoring mirrors the run: transforms, the indicator
rules with their reference values (min, max, mean, sd, ranks) recomputed per replicate, the
weighted tree with each node's declared mean and `min_coverage`, adjustments, clamping, rounding,
ranks and grades with quotas.
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
from evaluator.scoring.ties import rank_key
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
MIX = 0x45D9F3B  # Mueller's 32-bit hash multiplier (< 2^27: x · MIX < 2^59 fits a BIGINT)
GOLDEN = 0x9E3779B9  # 2^32 / φ: the Weyl step between one replicate's stream and the next
# Poisson(1) cumulative probabilities P(K ≤ k), k = 0 … 6 (k = 7 beyond: P > 7 is 1e-5)
POISSON1_CDF = [sum(math.exp(-1) / math.factorial(j) for j in range(k + 1)) for k in range(7)]


def mix_py(x: int) -> int:
    """Mueller's 32-bit integer hash (a bijection of 0 … 2^32 − 1), in Python: `mix_sql`."""
    x %= TWO32
    x = ((x >> 16) ^ x) * MIX % TWO32
    x = ((x >> 16) ^ x) * MIX % TWO32
    return (x >> 16) ^ x


def mix_sql(x: str) -> str:
    """SQL: `mix_py` of the non-negative BIGINT column `x` < 2^32. Only shifts, XOR, products
    below 2^59 and remainders, so every engine computes the same bits (DuckDB's HASH and
    Spark's HASH differ, and the draws must not). `x` must be a column name: it is repeated."""
    a = f"((XOR({x} >> 16, {x})) * {MIX}) % {TWO32}"
    b = f"((XOR(({a}) >> 16, ({a}))) * {MIX}) % {TWO32}"
    return f"(XOR(({b}) >> 16, ({b})))"


def stream_sql(key: str, rep: str) -> str:
    """SQL: the 32-bit draw of replicate `rep` in the stream of `key` (a mixed 32-bit value)."""
    return mix_sql(f"(({key} + CAST({rep} AS BIGINT) * {GOLDEN}) % {TWO32})")


def to_uniform(h: str) -> str:
    """SQL: a 32-bit draw as a uniform in (0, 1) (exact in a double)."""
    return f"(({h}) + 0.5) / {TWO32}.0"


def poisson1(u: str) -> str:
    """SQL: a Poisson(1) count from uniform `u` by inverting the cumulative distribution."""
    cases = " ".join(f"WHEN {u} < {p!r} THEN {k}" for k, p in enumerate(POISSON1_CDF))
    return f"CASE {cases} ELSE 7 END"


def load_run(engine: Engine, scheme: Scheme, run_id: str, replicates: int) -> None:
    """The run's own rows as the bootstrap's inputs: units with their adjustments, and every
    unit × indicator with its raw, transformed and scored value."""
    engine.register(REPS, pl.DataFrame({"rep": pl.arange(0, int(replicates), eager=True)
                                        .cast(pl.Int32)}))
    order = grade_order(scheme)
    engine.register("_u_veto_items", pl.DataFrame(
        [{"veto_id": v.id, "max_grade_ord": order[v.max_grade], "max_score": v.max_score}
         for v in scheme.vetoes],
        schema={"veto_id": pl.String, "max_grade_ord": pl.Int64, "max_score": pl.Float64}))
    # a unit's vetoes, one row each (the run stores them comma-separated): a small frame
    vetoes = engine.fetch_polars(sql(
        "SELECT unit_id, veto FROM run_scores WHERE run_id = :run AND veto IS NOT NULL",
        run=run_id))
    engine.register("_u_vetoes", vetoes.with_columns(pl.col("veto").str.split(","))
                    .explode("veto").select("unit_id", pl.col("veto").alias("veto_id"))
                    if vetoes.height else
                    pl.DataFrame(schema={"unit_id": pl.String, "veto_id": pl.String}))
    create_temp(engine, UNITS, sql(
        """
        WITH v AS (
            SELECT s.unit_id, MAX(i.max_grade_ord) AS veto_grade_ord,
                   MIN(i.max_score) AS veto_max_score
            FROM _u_vetoes s JOIN _u_veto_items i ON i.veto_id = s.veto_id GROUP BY s.unit_id)
        SELECT s.unit_id, s.peer_group, COALESCE(s.peer_group, '') AS pg,
               COALESCE(s.bonus, 0.0) AS bonus, COALESCE(s.deduction, 0.0) AS deduction,
               v.veto_grade_ord, v.veto_max_score, s.score AS run_score, s.rank AS run_rank,
               CAST(ROW_NUMBER() OVER (ORDER BY s.unit_id) AS BIGINT) AS ux
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
        SELECT unit_id, dimension_id AS node_id, TRUE AS covered FROM run_dimension_scores
        WHERE run_id = :run AND score IS NOT NULL
        UNION ALL
        SELECT unit_id, :root, TRUE FROM run_scores WHERE run_id = :run AND base_score IS NOT NULL
        """, run=run_id, root=agg.ROOT))
    engine.register(agg.WEIGHTS, agg.weights_frame(scheme))


def drawn(source: str, cols: list[str], key: str, seed_rows: str = "") -> str:
    """SQL: `source` × replicates with each row's uniform draw `u` in the stream of its `key`
    (a mixed 32-bit value), one hash stage per projection (each stage reads its input once)."""
    keep = ", ".join(["rep", *cols])
    mixed = [f"((XOR(x{i} >> 16, x{i})) * {MIX}) % {TWO32}" for i in (0, 1)]
    return f"""
        SELECT {keep}, ((XOR(x2 >> 16, x2)) + 0.5) / {TWO32}.0 AS u FROM (
          SELECT {keep}, {mixed[1]} AS x2 FROM (
            SELECT {keep}, {mixed[0]} AS x1 FROM (
              SELECT r.rep, {", ".join(f"v.{c}" for c in cols)},
                     (v.{key} + CAST(r.rep AS BIGINT) * {GOLDEN}) % {TWO32} AS x0
              FROM {source} v CROSS JOIN {REPS} r {seed_rows}) s0) s1) s2"""


def survey_replicates(engine: Engine, scheme: Scheme, run_id: str, period: str, seed: int,
                      resample: bool = True) -> exp.Expression | None:
    """Replicate survey indices from respondents resampled within unit (None: no surveys).

    One row per response carries w × value on every survey indicator it answered, its weight
    w, and the key of its stream: the mixed (seed, position in unit and response order). One
    draw of k serves all the indicators a respondent answered; a replicate's draw mixes the key
    with the replicate number. The sums are Σ k·w·value per indicator and Σ k·w over every
    response; the weights of the responses that skipped an indicator (item non-response, a
    few) are summed apart and taken off. Responses drawn k = 0 times (37%) add nothing and are
    left out; every unit with responses still has a row per replicate."""
    inds = [i for i, _ in survey_indicators(scheme)]
    if not inds:
        return None
    build_valid_responses(engine, scheme, period, UNITS, "_u_valid")
    n_ind = len(inds)
    cols = ", ".join(
        f"MAX(CASE WHEN indicator_id = {lit(i).sql('duckdb')} THEN w * pct END) AS a{k}, "
        f"MAX(CASE WHEN indicator_id = {lit(i).sql('duckdb')} AND pct IS NOT NULL THEN 1 END) "
        f"AS has{k}"
        for k, i in enumerate(inds))
    create_temp(engine, "_u_resp0", sql(
        f"SELECT unit_id, response_id, MAX(w) AS w, {cols} FROM _u_valid "
        f"GROUP BY unit_id, response_id"))
    a_cols = [f"a{j}" for j in range(n_ind)]
    m_cols = ", ".join(f"CASE WHEN has{j} IS NULL THEN w ELSE 0.0 END AS m{j}"
                       for j in range(n_ind))
    partial = " OR ".join(f"has{j} IS NULL" for j in range(n_ind))
    create_temp(engine, "_u_resp", sql(
        f"""
        WITH n AS (
            SELECT *, (CAST(ROW_NUMBER() OVER (ORDER BY unit_id, response_id) AS BIGINT)
                       + :salt) % {TWO32} AS x
            FROM _u_resp0)
        SELECT unit_id, w, {", ".join(a_cols)}, {m_cols}, {partial} AS partial,
               {mix_sql("x")} AS h0
        FROM n
        """, salt=mix_py(seed)))
    engine.drop_temp("_u_resp0")
    k = poisson1("u") if resample else "1"
    keep = "WHERE u >= " + repr(POISSON1_CDF[0]) if resample else ""
    sums = ", ".join([f"SUM(k * a{j}) AS s{j}" for j in range(n_ind)] + ["SUM(k * w) AS nw"])
    msums = ", ".join(f"SUM(k * m{j}) AS m{j}" for j in range(n_ind))
    draws_a = drawn("_u_resp", ["unit_id", "w", *a_cols], "h0")
    draws_m = drawn("_u_resp", ["unit_id", *[f"m{j}" for j in range(n_ind)]], "h0",
                    "WHERE v.partial")
    create_temp(engine, "_u_survey_est", sql(
        f"""
        WITH e AS (
            SELECT rep, unit_id, {sums} FROM (
                SELECT *, {k} AS k FROM ({draws_a}) d
                {keep}) b
            GROUP BY rep, unit_id),
        m AS (
            SELECT rep, unit_id, {msums} FROM (
                SELECT *, {k} AS k FROM ({draws_m}) d
                {keep}) b
            GROUP BY rep, unit_id)
        SELECT r.rep, g.unit_id, {", ".join(f"e.s{j}" for j in range(n_ind))},
               {", ".join(f"e.nw - COALESCE(m.m{j}, 0.0) AS n{j}" for j in range(n_ind))}
        FROM (SELECT DISTINCT unit_id FROM _u_resp) g CROSS JOIN {REPS} r
        LEFT JOIN e ON e.rep = r.rep AND e.unit_id = g.unit_id
        LEFT JOIN m ON m.rep = r.rep AND m.unit_id = g.unit_id
        """))
    engine.register("_u_sinds", pl.DataFrame({"j": list(range(n_ind)), "indicator_id": inds},
                                              schema={"j": pl.Int64, "indicator_id": pl.String}))
    raw_r = " ".join(f"WHEN {j} THEN e.s{j} / NULLIF(e.n{j}, 0)" for j in range(n_ind))
    return sql(
        f"""
        SELECT e.rep, e.unit_id, i.indicator_id,
               q.index_value + q.shrinkage * (COALESCE(CASE i.j {raw_r} END, q.raw_index)
                                              - q.raw_index) AS raw_rep
        FROM _u_survey_est e CROSS JOIN _u_sinds i
        JOIN run_survey_quality q ON q.run_id = :run
             AND q.unit_id = e.unit_id AND q.indicator_id = i.indicator_id
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
    engine.register("_u_errors", errors.with_row_index("ix").with_columns(
        pl.col("ix").cast(pl.Int64)))
    salt = mix_py(seed)
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
                   COALESCE(e.sd, e.relative * ABS(b.raw_value), s.sd) AS sd,
                   (u.ux * 4096 + e.ix * 2 + :salt) % {TWO32} AS x
            FROM {BASE} b JOIN _u_errors e ON e.indicator_id = b.indicator_id
            JOIN {UNITS} u ON u.unit_id = b.unit_id
            LEFT JOIN unit_sd s ON s.unit_id = b.unit_id AND s.indicator_id = b.indicator_id
            WHERE b.raw_value IS NOT NULL),
        keyed AS (SELECT *, {mix_sql("x")} AS h1, {mix_sql("x1")} AS h2
                  FROM (SELECT *, (x + 1) % {TWO32} AS x1 FROM sds) s),
        drawn AS (SELECT r.rep, b.*, {to_uniform(stream_sql("b.h1", "r.rep"))} AS u1,
                         {to_uniform(stream_sql("b.h2", "r.rep"))} AS u2
                  FROM keyed b CROSS JOIN {REPS} r)
        SELECT rep, unit_id, indicator_id,
               raw_value + COALESCE(sd, 0.0) * :noise
                   * SQRT(-2.0 * LN(u1)) * COS(2.0 * PI() * u2) AS raw_rep
        FROM drawn
        """, period=period, year=int(period[:4]), noise=1.0 if resample else 0.0, salt=salt)


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


def nested(query: exp.Expression, alias: str = "z") -> exp.Expression:
    """SELECT * FROM (query) alias: a query with its own WITH can then sit in a UNION."""
    return exp.select("rep", "unit_id", "indicator_id", "raw_rep").from_(exp.Subquery(
        this=query, alias=exp.TableAlias(this=exp.to_identifier(alias))))


def build_values(engine: Engine, scheme: Scheme, run_id: str, period: str, seed: int,
                 resample: bool = True) -> None:
    """`VALUES`: rep × unit × redrawn indicator with the value each replicate scores."""
    parts = [q for q in (survey_replicates(engine, scheme, run_id, period, seed, resample),
                         measure_replicates(engine, scheme, period, seed, resample))
             if q is not None]
    drawn_rows = union_all([nested(q, f"p{i}") for i, q in enumerate(parts)]) if parts else sql(
        "SELECT 0 AS rep, CAST(NULL AS VARCHAR) AS unit_id, CAST(NULL AS VARCHAR) AS "
        "indicator_id, CAST(NULL AS DOUBLE) AS raw_rep WHERE FALSE")
    # the transformed replicate value, computed once per drawn row
    create_temp(engine, RAW, exp.select(
        "rep", "unit_id", "indicator_id",
        exp.alias_(transform_case(scheme, winsor_bounds(engine, run_id)), "raw_rep"),
    ).from_(exp.Subquery(
        this=drawn_rows, alias=exp.TableAlias(this=exp.to_identifier("z")))))
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
        WITH k AS (SELECT rep, unit_id, indicator_id, pg, :tk AS tie_key FROM {VALUES}
                   WHERE value IS NOT NULL AND indicator_id IN :ids)
        SELECT rep, unit_id, indicator_id,
               RANK() OVER (PARTITION BY rep, indicator_id ORDER BY tie_key) - 1 AS a_below,
               COUNT(*) OVER (PARTITION BY rep, indicator_id, tie_key) AS a_equal,
               RANK() OVER (PARTITION BY rep, indicator_id, pg ORDER BY tie_key) - 1 AS g_below,
               COUNT(*) OVER (PARTITION BY rep, indicator_id, pg, tie_key) AS g_equal
        FROM k
        """, ids=[*ranked, ""], tk=rank_key(inds)))  # ties as the run decides them
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
    """`NODES`: replicate scores of every node, the tree walked deepest level first, each node
    with its declared aggregation, as the run did (`scoring.aggregate`).

    A node's children split into those that move with the replicate and those that do not
    (rep = FIXED); a node without moving children is computed once, not R times. For a tree of
    arithmetic and geometric means the fixed part of a node's sums is computed once and added
    to each replicate's moving part; a tree with another mean (harmonic, generalised, median,
    Mazziotta–Pareto, ratio) copies the fixed children of a moving node into every replicate
    and runs the run's own query for that level (`aggregate.other_means_level`) per replicate.
    Only the units and nodes the run scored are scored (`_u_cov`: its coverage and
    `min_coverage`); the other-means query checks `min_coverage` again per replicate.
    """
    create_temp(engine, NODES, sql(
        f"SELECT rep, unit_id, indicator_id AS node_id, score FROM {IND} WHERE score IS NOT NULL"))
    if agg.uses_other_means(scheme):
        for d in range(agg.max_depth(scheme), -2, -1):
            create_temp(engine, "_u_parts", sql(
                f"""
                WITH kids AS (
                    SELECT n.rep, n.unit_id, n.node_id, n.score, w.parent_id
                    FROM {NODES} n JOIN {agg.WEIGHTS} w ON w.node_id = n.node_id
                    WHERE w.p_depth = :depth AND n.score IS NOT NULL),
                moving AS (SELECT DISTINCT unit_id, parent_id FROM kids WHERE rep <> :fixed)
                SELECT rep, unit_id, node_id, score FROM kids WHERE rep <> :fixed
                UNION ALL
                SELECT r.rep, k.unit_id, k.node_id, k.score
                FROM kids k JOIN moving m ON m.unit_id = k.unit_id AND m.parent_id = k.parent_id
                CROSS JOIN {REPS} r WHERE k.rep = :fixed
                UNION ALL
                SELECT k.rep, k.unit_id, k.node_id, k.score FROM kids k
                WHERE k.rep = :fixed AND NOT EXISTS (
                    SELECT 1 FROM moving m WHERE m.unit_id = k.unit_id
                    AND m.parent_id = k.parent_id)
                """, depth=d, fixed=FIXED))
            engine.append_temp(NODES, sql(
                agg.other_means_level("_u_parts", "w_eff", coverage="_u_cov", by=("rep",)),
                depth=d))
        return
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
    a total that no replicate moves is copied into every replicate here. Clamped as the run
    clamps: to the scale, a ratio total only at `scale.min` (`Scheme.score_ceiling`)."""
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
        """, lo=lo, hi=hi, scale_lo=lo, scale_hi=scheme.score_ceiling, dec=scheme.scale.decimals,
        root=agg.ROOT, fixed=FIXED))
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
    forget(engine, "_u_resp", "_u_survey_est", RAW)
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
    def interp(end: str) -> str:
        """QUANTILE_CONT's interpolation written out (lo + (hi − lo) · fraction at position
        q·(R − 1)), so both engines do the same floating-point operations on the same two
        scores: a percentile that falls on a rounding boundary rounds alike."""
        lo = f"MAX(CASE WHEN spos = CAST(FLOOR(h_{end}) AS BIGINT) THEN score END)"
        hi = f"MAX(CASE WHEN spos = CAST(CEIL(h_{end}) AS BIGINT) THEN score END)"
        frac = f"MAX(h_{end} - FLOOR(h_{end}))"
        return f"({lo} + ({hi} - {lo}) * {frac})"

    # rounded scores as exact integers (DECIMAL(38, 0): exact sums on every engine, whatever
    # the order rows are added in); rank percentiles as the first rank whose cumulative share
    # reaches q (position ⌈q·R⌉ in the sorted replicate ranks, as DuckDB's QUANTILE_DISC)
    units = engine.fetch_polars(sql(
        f"""
        WITH f AS (
            SELECT unit_id, score, rank, n_ranked,
                   CAST(ROUND(score * :unit) AS DECIMAL(38, 0)) AS si,
                   ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY rank) AS pos,
                   ROW_NUMBER() OVER (PARTITION BY unit_id ORDER BY score) - 1 AS spos,
                   COUNT(*) OVER (PARTITION BY unit_id) AS reps
            FROM {FINAL}),
        h AS (SELECT *, :q_lo * CAST(reps - 1 AS DOUBLE) AS h_lo,
                     :q_hi * CAST(reps - 1 AS DOUBLE) AS h_hi FROM f),
        s AS (
            SELECT unit_id, COUNT(*) AS n, SUM(si) AS s1, SUM(si * si) AS s2,
                   {interp("lo")} AS score_low, {interp("hi")} AS score_high,
                   QUANTILE_CONT(rank, 0.5) AS rank_median,
                   MAX(CASE WHEN pos = GREATEST(1, CAST(CEIL(:q_lo * reps) AS BIGINT))
                            THEN rank END) AS rank_low,
                   MAX(CASE WHEN pos = GREATEST(1, CAST(CEIL(:q_hi * reps) AS BIGINT))
                            THEN rank END) AS rank_high,
                   AVG(CASE WHEN rank <= GREATEST(1, CEIL(0.1 * n_ranked)) THEN 1.0 ELSE 0.0 END)
                       AS p_top10,
                   AVG(CASE WHEN rank > n_ranked - GREATEST(1, CEIL(0.1 * n_ranked))
                            THEN 1.0 ELSE 0.0 END) AS p_bottom10
            FROM h GROUP BY unit_id)
        SELECT u.unit_id,
               ROUND(CAST(s.s1 AS DOUBLE) / s.n / :unit, :dec + 2) AS score_mean,
               ROUND(SQRT(GREATEST(CAST(s.n * s.s2 - s.s1 * s.s1 AS DOUBLE), 0.0)
                          / (s.n * (s.n - 1))) / :unit, :dec + 2) AS score_sd,
               ROUND(s.score_low, :dec) AS score_low, ROUND(s.score_high, :dec) AS score_high,
               s.rank_median, CAST(s.rank_low AS INTEGER) AS rank_low,
               CAST(s.rank_high AS INTEGER) AS rank_high, s.p_top10, s.p_bottom10, u.run_rank
        FROM {UNITS} u JOIN s ON s.unit_id = u.unit_id
        ORDER BY u.run_rank NULLS LAST, u.unit_id
        """, dec=decimals, q_lo=q_lo, q_hi=q_hi, unit=10 ** decimals))
    grades = engine.fetch_polars(sql(
        f"""
        SELECT g.unit_id, i.code AS grade, COUNT(*) / :n AS probability
        FROM {GRADES} g JOIN {GRADE_ITEMS} i ON i.ord = g.ord
        GROUP BY g.unit_id, i.code, i.ord ORDER BY g.unit_id, i.ord
        """, n=float(replicates)))
    return units, grades
