"""Step 1 — indicator values for the period: roll-up, survey indices, imputation, transforms.

Produces, for every unit scored × indicator, one row of `VALUES`: whether the unit has enough
own data on the indicator's dimension to be scored there (`covered`, see MIN_COVERAGE and
`COVERAGE`), raw value (annual value, or the declared roll-up of the year's sub-annual values, or
the survey index), the imputed value when the missing policy is `peer_median`, the transformed value
(floor/cap, winsorise, log — in that order) and flags saying what happened. Reference values
(winsor bounds, imputation medians) are written to `REFS` so the run can store them.
"""

from __future__ import annotations

import math

import polars as pl
from sqlglot import exp

from evaluator.scheme.models import Indicator, MeasureSource, Scheme
from evaluator.scoring.engine import Engine, create_temp, lit, sql, union_all
from evaluator.scoring.surveys import build_survey_indices, survey_indicators

UNITS = "_sc_units"
META = "_sc_ind_meta"
RAW = "_sc_raw"
VALUES = "_sc_values"
REFS = "_sc_refs"
SURVEY = "_sc_survey"
MEASURES = "_sc_measure_values"
COVERAGE = "_sc_node_cov"  # unit × node (dimension or total): own data share, covered or not
TOTAL_NODE = "__total__"  # the same id as aggregate.ROOT

# A unit is scored on a node (a dimension, or the total) only when it has own data there: at
# least one of the node's indicators, and at least this share of them. Below it the node has
# no score for that unit (nothing imputed, no zero filled in), and a unit without any own data
# has no score, rank or grade at all: one imputed median must never rank a unit.
MIN_COVERAGE = 0.0


def min_coverage(scheme: Scheme) -> float:
    """The coverage a node needs to be scored (the one place a scheme setting would be read)."""
    return MIN_COVERAGE


def build_units(engine: Engine, scheme: Scheme) -> int:
    """Units scored = current units whose type the scheme applies to. Returns how many.

    `unit_ix` numbers them (in id order): the aggregation groups by numbers, not by text."""
    create_temp(engine, UNITS, sql(
        "SELECT unit_id, name AS unit_name, unit_type, peer_group, COALESCE(peer_group, '') AS pg, "
        "CAST(ROW_NUMBER() OVER (ORDER BY unit_id) AS INTEGER) AS unit_ix "
        "FROM current_units WHERE unit_type IN :types",
        types=list(scheme.unit_types),
    ))
    return int(engine.fetch_polars(sql(f"SELECT COUNT(*) AS n FROM {UNITS}"))["n"][0])


def indicator_meta(scheme: Scheme) -> pl.DataFrame:
    """One row per indicator: where its data comes from, its missing policy, and its number
    (`node_ix`, which its rows carry: the aggregation joins and groups on numbers)."""
    rows = []
    for order, (chain, ind) in enumerate(scheme.indicator_paths()):
        src = ind.source
        rows.append({
            "indicator_id": ind.id,
            "dimension_id": chain[-1].id,
            "evidence": ind.evidence.value,
            "source_kind": "measure" if isinstance(src, MeasureSource) else "survey",
            "measure": src.measure if isinstance(src, MeasureSource) else None,
            "rollup": src.rollup.value if isinstance(src, MeasureSource) else None,
            "per": src.per if isinstance(src, MeasureSource) else None,
            "per_factor": src.factor if isinstance(src, MeasureSource) else None,
            "missing_policy": ind.missing.value,
            "rule": ind.rule.type,
            "ord": order,
        })
    return pl.DataFrame(rows, schema={
        "indicator_id": pl.String, "dimension_id": pl.String, "evidence": pl.String,
        "source_kind": pl.String, "measure": pl.String, "rollup": pl.String, "per": pl.String,
        "per_factor": pl.Float64, "missing_policy": pl.String, "rule": pl.String,
        "ord": pl.Int64,
    }).with_columns(  # numbered by id: the same numbers for the same indicators in any order
        node_ix=pl.col("indicator_id").rank("ordinal").cast(pl.Int32))


def node_members(scheme: Scheme) -> pl.DataFrame:
    """(node_id, indicator_id) for every dimension and the total with each indicator below it."""
    rows = [{"node_id": node, "indicator_id": ind.id}
            for chain, ind in scheme.indicator_paths()
            for node in (TOTAL_NODE, *(d.id for d in chain))]
    return pl.DataFrame(rows, schema={"node_id": pl.String, "indicator_id": pl.String})


def build_coverage(engine: Engine, scheme: Scheme, pairs: str = "_sc_pairs") -> None:
    """`COVERAGE` from `pairs` (every unit × indicator with its `raw_value`): for each unit and
    node of `scheme`, the share of the node's indicators with the unit's own (not imputed)
    value, and whether that is enough to score the node."""
    engine.register("_sc_members", node_members(scheme))
    create_temp(engine, COVERAGE, sql(
        f"""
        SELECT p.unit_id, m.node_id,
               COUNT(p.raw_value) AS own, COUNT(*) AS indicators,
               COUNT(p.raw_value) / COUNT(*) AS coverage,
               COUNT(p.raw_value) > 0 AND COUNT(p.raw_value) >= :min_cov * COUNT(*) AS covered
        FROM {pairs} p JOIN _sc_members m ON m.indicator_id = p.indicator_id
        GROUP BY p.unit_id, m.node_id
        """,
        min_cov=min_coverage(scheme),
    ))


def annual_first(column: str) -> str:
    """SQL aggregate over a roll-up grouped per kind (`sub` 0 = the annual value, 1 = the
    sub-annual roll-up; one row each): the annual row's `column` when there is one, else the
    sub-annual row's. An annual value wins over sub-annual ones."""
    return (f"CASE WHEN MIN(sub) = 0 THEN MAX(CASE WHEN sub = 0 THEN {column} END) "
            f"ELSE MAX({column}) END")


def _period_key() -> str:
    """Sort key of a sub-annual period by its end: 2026-03 and 2026Q1 both end in month 3."""
    return (
        "CASE WHEN o.period LIKE '%Q%' THEN CAST(substr(o.period, 6, 1) AS INT) * 6 + 1 "
        "WHEN o.period LIKE '%-%' THEN CAST(substr(o.period, 6, 2) AS INT) * 2 ELSE 100 END"
    )


def build_raw(engine: Engine, scheme: Scheme, period: str) -> bool:
    """Measure values (annual wins over sub-annual) plus survey indices, as `RAW`.

    Returns whether survey indices exist (then `use_survey_column` can swap in a CI bound).
    Sums and means of sub-annual values add in period order (an ordered aggregate, which the
    Spark engine runs as the same left fold), so a tie between units is a tie on every engine.
    Each kind (annual, sub-annual) is rolled up on its own and `annual_first` keeps one: a
    window over every value to find the kind first cost as much as the roll-up itself (9 M
    values at province: 6.3 s → about 3 s, the same numbers).
    """
    year = int(period)
    measure_q = sql(
        f"""
        WITH o AS (
            SELECT o.unit_id, m.indicator_id, m.rollup, o.value, o.period,
                   CASE WHEN o.period = :period THEN 0 ELSE 1 END AS sub,
                   {_period_key()} AS period_key
            FROM current_outcomes o
            JOIN {META} m ON m.measure = o.measure AND m.source_kind = 'measure'
            JOIN {UNITS} u ON u.unit_id = o.unit_id
            WHERE o.year = :year),
        per_sub AS (
            SELECT unit_id, indicator_id, sub,
                   CASE WHEN MAX(rollup) = 'sum' THEN SUM(value ORDER BY period_key, value)
                        WHEN MAX(rollup) = 'last' THEN ARG_MAX(value, period_key)
                        ELSE SUM(value ORDER BY period_key, value) / COUNT(value) END AS raw_value,
                   COUNT(*) AS n_obs
            FROM o GROUP BY unit_id, indicator_id, sub)
        SELECT unit_id, indicator_id, {annual_first("raw_value")} AS raw_value,
               {annual_first("n_obs")} AS n_obs
        FROM per_sub GROUP BY unit_id, indicator_id
        """,
        period=period, year=year,
    )
    create_temp(engine, MEASURES, measure_q)
    if any(isinstance(i.source, MeasureSource) and i.source.per for i in scheme.indicators()):
        denominate(engine, period)
    has_survey = build_survey(engine, scheme, period) is not None
    use_survey_column(engine, has_survey, "index_value")
    return has_survey


def denominate(engine: Engine, period: str) -> None:
    """Divide each denominated indicator's value by its `per` measure (× `factor`), in place in
    `MEASURES`. The denominator is the unit's value of the year: the annual value, else the mean
    of its sub-annual values (added in period order, as `build_raw` does). No denominator, or
    0, leaves the value missing: a rate without its base is not a rate."""
    create_temp(engine, "_sc_denoms", sql(
        f"""
        WITH o AS (
            SELECT o.unit_id, o.measure, o.value,
                   CASE WHEN o.period = :period THEN 0 ELSE 1 END AS sub,
                   {_period_key()} AS period_key
            FROM current_outcomes o JOIN {UNITS} u ON u.unit_id = o.unit_id
            WHERE o.year = :year AND o.measure IN (SELECT per FROM {META} WHERE per IS NOT NULL)),
        per_sub AS (
            SELECT unit_id, measure, sub,
                   SUM(value ORDER BY period_key, value) / COUNT(value) AS base
            FROM o GROUP BY unit_id, measure, sub)
        SELECT unit_id, measure, {annual_first("base")} AS base
        FROM per_sub GROUP BY unit_id, measure
        """,
        period=period, year=int(period),
    ))
    create_temp(engine, "_sc_measures_num", sql(f"SELECT * FROM {MEASURES}"))
    create_temp(engine, MEASURES, sql(
        f"""
        SELECT v.unit_id, v.indicator_id,
               CASE WHEN m.per IS NULL THEN v.raw_value
                    ELSE v.raw_value / NULLIF(d.base, 0) * m.per_factor END AS raw_value,
               v.n_obs
        FROM _sc_measures_num v JOIN {META} m ON m.indicator_id = v.indicator_id
        LEFT JOIN _sc_denoms d ON d.unit_id = v.unit_id AND d.measure = m.per
        """
    ))


SURVEY_VALUE_COLUMNS = ("index_value", "ci_low", "ci_high")


def use_survey_column(engine: Engine, has_survey: bool, column: str) -> None:
    """(Re)build `RAW` from the measure values and the survey indices' `column`: the index, or
    a bound of its 95% interval (for score intervals; a missing bound falls back to the index)."""
    if column not in SURVEY_VALUE_COLUMNS:
        raise ValueError(f"survey column must be one of {SURVEY_VALUE_COLUMNS}")
    parts = [sql(f"SELECT unit_id, indicator_id, raw_value, n_obs FROM {MEASURES}")]
    if has_survey:
        parts.append(sql(
            f"SELECT unit_id, indicator_id, COALESCE({column}, index_value) AS raw_value, "
            f"valid AS n_obs FROM {SURVEY} WHERE index_value IS NOT NULL"
        ))
    create_temp(engine, RAW, union_all(parts))


def build_survey(engine: Engine, scheme: Scheme, period: str) -> str | None:
    """Satisfaction indices from `scoring.surveys` in `SURVEY`; None when not needed."""
    if not survey_indicators(scheme):
        return None
    return build_survey_indices(engine, scheme, period, UNITS, SURVEY)


# ------------------------------------------------------------------------ transforms


def transform_expr(ind: Indicator, x: exp.Expression) -> exp.Expression:
    """floor/cap then log of an expression (winsorising needs data: see `build_values`)."""
    t = ind.transform
    if t is None:
        return x
    case = exp.Case()
    if t.floor is not None:
        case = case.when(x.copy() < lit(t.floor), lit(t.floor))
    if t.cap is not None:
        case = case.when(x.copy() > lit(t.cap), lit(t.cap))
    return case.else_(x.copy()) if case.args.get("ifs") else x


def log_expr(ind: Indicator, x: exp.Expression) -> exp.Expression:
    """Natural log when the transform asks for it; NULL for values ≤ 0 (flagged, not scored)."""
    if ind.transform is None or not ind.transform.log:
        return x
    return exp.Case().when(x > lit(0), exp.Ln(this=x))


def transform_param(ind: Indicator, value: float) -> float:
    """A parameter given in raw units (goalposts, targets, thresholds) on the transformed scale.

    Only the log is applied: floor/cap/winsorise change values, not the yardstick.
    """
    if ind.transform is not None and ind.transform.log:
        if value <= 0:
            return math.nan
        return math.log(value)
    if ind.transform is not None and ind.transform.box_cox is not None:
        from evaluator.scoring.treatment import box_cox_value  # lazy: it imports this module

        return box_cox_value(value, ind.transform.box_cox)
    return value


def _case(scheme: Scheme, build: dict[str, exp.Expression],
          default: exp.Expression) -> exp.Expression:
    """CASE indicator_id WHEN 'id' THEN expr … ELSE default END (only indicators that differ)."""
    if not build:
        return default
    case = exp.Case(this=exp.column("indicator_id"))
    for ind_id, e in build.items():
        case = case.when(lit(ind_id), e, copy=False)  # copying each time is quadratic
    return case.else_(default)


def build_values(engine: Engine, scheme: Scheme, period: str) -> None:
    """`VALUES`: every unit × indicator with raw, imputed and transformed values, and `REFS`."""
    inds = scheme.indicators()
    # 1. all pairs, raw values, per-unit targets
    create_temp(engine, "_sc_pairs", sql(
        f"""
        SELECT u.unit_id, u.pg, m.indicator_id, m.dimension_id, m.evidence, m.missing_policy,
               m.measure, r.raw_value, t.target AS unit_target,
               u.unit_ix, m.node_ix
        FROM {UNITS} u CROSS JOIN {META} m
        LEFT JOIN {RAW} r ON r.unit_id = u.unit_id AND r.indicator_id = m.indicator_id
        LEFT JOIN (SELECT unit_id, measure, MAX(target) AS target FROM current_targets
                   WHERE period = :period GROUP BY unit_id, measure) t
               ON t.unit_id = u.unit_id AND t.measure = m.measure
        """,
        period=period,
    ))
    build_coverage(engine, scheme)
    # 2. peer-group median imputation of raw values (overall median when a group has no data),
    #    only where the unit is scored on the indicator's dimension (see MIN_COVERAGE)
    create_temp(engine, "_sc_medians", sql(
        """
        SELECT indicator_id, pg, MEDIAN(raw_value) AS med FROM _sc_pairs
        WHERE raw_value IS NOT NULL GROUP BY indicator_id, pg
        UNION ALL
        SELECT indicator_id, NULL AS pg, MEDIAN(raw_value) AS med FROM _sc_pairs
        WHERE raw_value IS NOT NULL GROUP BY indicator_id
        """
    ))
    create_temp(engine, "_sc_v0", sql(
        f"""
        SELECT p.*, c.covered,
               CASE WHEN p.raw_value IS NULL AND p.missing_policy = 'peer_median' AND c.covered
                    THEN COALESCE(g.med, a.med) END AS imputed_value,
               COALESCE(p.raw_value IS NULL AND p.missing_policy = 'peer_median' AND c.covered
                        AND COALESCE(g.med, a.med) IS NOT NULL, FALSE) AS imputed
        FROM _sc_pairs p
        JOIN {COVERAGE} c ON c.unit_id = p.unit_id AND c.node_id = p.dimension_id
        LEFT JOIN _sc_medians g ON g.indicator_id = p.indicator_id AND g.pg = p.pg
        LEFT JOIN _sc_medians a ON a.indicator_id = p.indicator_id AND a.pg IS NULL
        """
    ))
    from evaluator.scoring import impute  # imports this module's tables: a lazy import

    more_imputed = impute.build_imputations(engine, scheme, period)
    x = exp.column("v0")
    clipped = _case(scheme, {i.id: transform_expr(i, x) for i in inds
                             if i.transform is not None}, x)
    # the floored/capped values, read in place by the bounds and `VALUES` (not stored: a copy
    # of every row took as long as the statement that reads it)
    v1 = ("(SELECT *, :clipped AS v1 FROM "
          "(SELECT *, COALESCE(raw_value, imputed_value) AS v0 FROM _sc_v0))")
    # 3. winsorising: bounds are quantiles of the floored/capped values over the units scored
    wins = [i for i in inds if i.transform is not None and i.transform.winsorize is not None]
    bound_parts = []
    for i in wins:
        assert i.transform is not None and i.transform.winsorize is not None
        lo, hi = i.transform.winsorize
        bound_parts.append(sql(
            "SELECT CAST(:id AS VARCHAR) AS indicator_id, QUANTILE_CONT(v1, :lo) AS wlo, "
            "QUANTILE_CONT(v1, :hi) AS whi "
            f"FROM {v1} WHERE indicator_id = :id AND v1 IS NOT NULL",
            id=i.id, lo=lo, hi=hi, clipped=clipped,
        ))
    create_temp(engine, "_sc_wins", union_all(bound_parts) if bound_parts else sql(
        "SELECT CAST(NULL AS VARCHAR) AS indicator_id, CAST(NULL AS DOUBLE) AS wlo, "
        "CAST(NULL AS DOUBLE) AS whi WHERE FALSE"))
    v2 = exp.column("v2")
    logged = _case(scheme, {i.id: log_expr(i, v2) for i in inds
                            if i.transform is not None and i.transform.log}, v2)
    create_temp(engine, VALUES, sql(
        f"""
        SELECT unit_id, pg, indicator_id, dimension_id, evidence, missing_policy, measure,
               raw_value, imputed_value, imputed, covered, unit_target, v2 AS winsorised,
               :logged AS value,
               CASE WHEN v2 IS NOT NULL AND :logged IS NULL
                    THEN 'log_of_nonpositive' END AS value_flag, unit_ix, node_ix
        FROM (SELECT v.*, CASE WHEN w.indicator_id IS NULL OR v.v1 IS NULL THEN v.v1
                               ELSE LEAST(GREATEST(v.v1, w.wlo), w.whi) END AS v2
              FROM {v1} v LEFT JOIN _sc_wins w ON w.indicator_id = v.indicator_id)
        """,
        logged=logged, clipped=clipped,
    ))
    # 4. reference values this step produced
    create_temp(engine, REFS, sql(
        """
        SELECT indicator_id, CAST(NULL AS VARCHAR) AS pg, CAST(NULL AS VARCHAR) AS unit_id,
               'winsor_low' AS name, wlo AS value FROM _sc_wins
        UNION ALL SELECT indicator_id, NULL, NULL, 'winsor_high', whi FROM _sc_wins
        UNION ALL SELECT m.indicator_id, m.pg, NULL, 'impute_median', m.med FROM _sc_medians m
            JOIN (SELECT DISTINCT indicator_id FROM _sc_pairs
                  WHERE missing_policy = 'peer_median') p
            ON p.indicator_id = m.indicator_id
        UNION ALL SELECT indicator_id, NULL, unit_id, 'target', unit_target FROM _sc_pairs
            WHERE unit_target IS NOT NULL
        """
    ))
    if more_imputed:
        engine.append_temp(REFS, sql(impute.group_refs_query()))
    from evaluator.scoring.treatment import build_treatments  # lazy, as impute

    build_treatments(engine, scheme)
