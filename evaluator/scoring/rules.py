"""Step 2 — indicator scores on 0–100: each scheme rule is one function returning a sqlglot tree.

A rule reads the transformed value `value` and reference columns computed over the units scored
(`a_*` over all of them, `g_*` within the unit's peer group): n, min, max, mean, sd (sample),
below (units strictly below the value), equal (units with the same value, itself included;
after a log-like transform values are compared on 12 significant digits, `ties.rank_key`, so the
maths library's last bit is no tie-break).

Direction: "better is higher" after the rule. For `lower` indicators the rules flip
explicitly (min_max: (max − x)/(max − min); goalposts: (upper − x)/(upper − lower); bands and
pass_fail compare with ≤; percentile counts units above; zscore negates z; direct gives 100 − x).
`efficacy` takes its direction from good/bad when they are given; `deduction` counts bad
things (incidents), so more is always worse and direction is not used. Parameters in raw units
(goalposts, thresholds, targets, good/bad) are put on the transformed scale by the log only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import polars as pl
from sqlglot import exp

from evaluator.scheme.models import (
    Band,
    BandsRule,
    DeductionRule,
    Direction,
    DirectRule,
    EfficacyRule,
    FractionOfMaxRule,
    GoalpostsRule,
    Indicator,
    MinMaxRule,
    PassFailRule,
    PercentileRule,
    ReferenceUnitRule,
    Scheme,
    TargetRule,
    ZScoreRule,
)
from evaluator.scoring.engine import Engine, create_temp, lit, sql
from evaluator.scoring.errors import ScoringError
from evaluator.scoring.panel import PANEL, build_panel_stats
from evaluator.scoring.ties import rank_key
from evaluator.scoring.values import VALUES, log_expr, transform_param

STATS = "_sc_stats"
INDICATOR_SCORES = "_sc_ind"

X = exp.column("value")


def col(name: str) -> exp.Column:
    return exp.column(name)


def clamp(e: exp.Expression, lo: float | exp.Expression = 0.0,
          hi: float | exp.Expression = 100.0) -> exp.Expression:
    """lo ≤ e ≤ hi, NULL stays NULL (GREATEST/LEAST skip NULLs in some engines, so CASE)."""
    return (
        exp.Case()
        .when(exp.Is(this=e.copy(), expression=exp.Null()), exp.Null())
        .when(e.copy() < lit(lo), lit(lo))
        .when(e.copy() > lit(hi), lit(hi))
        .else_(e.copy())
    )


def div(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """a / b, NULL when b = 0 (DuckDB would return ±inf)."""
    return exp.Div(this=exp.Paren(this=a), expression=exp.Nullif(this=exp.Paren(this=b),
                                                                  expression=lit(0)))


@dataclass(frozen=True)
class Ref:
    """Reference columns for a rule: all units (`a_`) or the unit's peer group (`g_`)."""

    prefix: str

    def __getattr__(self, name: str) -> exp.Column:
        return col(f"{self.prefix}{name}")


def ref(within: str, panel: tuple[int, int] | None = None) -> Ref:
    """`p_` columns: the reference over a panel of years (scoring/panel.py)."""
    if panel is not None:
        return Ref("p_")
    return Ref("g_" if within == "peer_group" else "a_")


def higher(ind: Indicator) -> bool:
    return ind.direction is Direction.HIGHER


def param(ind: Indicator, value: float, what: str) -> float:
    """A raw-unit parameter on the transformed scale; a log of a value ≤ 0 is a scheme error."""
    out = transform_param(ind, value)
    if out != out:
        raise ScoringError(
            f"indicator '{ind.id}': {what} {value:g} cannot be log-transformed (it must be > 0); "
            "change the parameter or remove `transform.log`"
        )
    return out


# ------------------------------------------------------------------ rules as data
#
# Each rule is written once, as a builder over its parameters `p` (name -> expression). The
# builder reads the indicator only for discrete choices (direction, `within`, clamp, ties …),
# which `_kind` spells out; numbers come from `p`. `rule_expr` gives the builder literals (one
# tree per indicator, as a scheme reads); `score_indicators` gives it columns of a parameter
# table (one row per indicator) and builds one tree per *kind*, so the SQL has a CASE over a
# few kinds instead of a branch per indicator.
#
# The two are digit for digit the same: every literal parameter meets a DOUBLE before any
# arithmetic (so it is that literal cast to DOUBLE, which is the float the table holds), except
# the two differences of literals (goalposts upper − lower, efficacy good − bad), which engines
# compute exactly in DECIMAL: `literal_diff` does the same.

Params = dict[str, float | str | None]


def _text(value: float) -> str:
    return cast(str, lit(value).sql(dialect="duckdb"))


def engine_double(value: float) -> float:
    """The DOUBLE an engine makes of `lit(value)`: a decimal literal has no negative zero."""
    return value + 0.0


def literal_diff(a: float, b: float) -> float:
    """`lit(a) - lit(b)` as an engine computes it: exact DECIMAL arithmetic, then one rounding
    to DOUBLE; in DOUBLE when either literal is written with an exponent (a DOUBLE literal)."""
    ta, tb = _text(a), _text(b)
    if "e" in ta.lower() or "e" in tb.lower():
        return engine_double(a) - engine_double(b)
    return float(Decimal(ta) - Decimal(tb)) + 0.0


def min_max(ind: Indicator, rule: MinMaxRule, p: dict[str, exp.Expression]) -> exp.Expression:
    r = ref(rule.within, rule.panel)
    num = (X - r.min) if higher(ind) else (r.max - X)
    if _default_range(rule):  # the tree of every older scheme
        return exp.Case().when(r.max.eq(r.min), lit(100.0)).else_(
            lit(100.0) * div(num, r.max - r.min))
    low, high = p["low"], p["high"]
    out = low + p["span"] * div(num, r.max - r.min)
    # a year scored outside its panel may lie past the panel's bounds
    return exp.Case().when(r.max.eq(r.min), high.copy()).else_(
        clamp(out, low.copy(), high.copy()) if rule.panel is not None else out)


def _default_range(rule: MinMaxRule) -> bool:
    return tuple(rule.range) == (0.0, 100.0) and rule.panel is None


def goalposts(ind: Indicator, rule: GoalpostsRule, p: dict[str, exp.Expression]
              ) -> exp.Expression:
    lo, up = p["lo"], p["up"]
    num = (X - lo) if higher(ind) else (up.copy() - X)
    out = lit(100.0) * div(num, p["span"])
    return clamp(out) if rule.clamp else out


def target(ind: Indicator, rule: TargetRule, p: dict[str, exp.Expression]) -> exp.Expression:
    t = p["t"] if rule.target is not None else log_expr(ind, col("unit_target"))
    if higher(ind):
        return (exp.Case().when(t.copy() <= lit(0), exp.Case().when(t.copy() <= X, lit(100.0))
                                .else_(lit(0.0)))
                .else_(clamp(lit(100.0) * div(X, t.copy()))))
    return (exp.Case().when(t.copy() >= X, lit(100.0))
            .when(lit(0) < X, clamp(lit(100.0) * div(t.copy(), X))).else_(lit(0.0)))


def _bands(rule: BandsRule) -> list[Band]:
    return sorted(rule.bands, key=lambda b: -b.score)  # the best band reached applies


def bands(ind: Indicator, rule: BandsRule, p: dict[str, exp.Expression]) -> exp.Expression:
    case = exp.Case()
    for k in range(len(rule.bands)):
        t = p[f"b{k}_t"]
        case = case.when(t <= X if higher(ind) else t >= X, p[f"b{k}_s"])
    return case.else_(p["otherwise"])


def percentile(ind: Indicator, rule: PercentileRule, p: dict[str, exp.Expression]
               ) -> exp.Expression:
    """100·(rank − 1)/(n − 1) with rank − 1 = units worse + a share of the others tied:
    (ties − 1)/2 (average, the mid-rank), 0 (min), ties − 1 (max); a lone unit gets 100."""
    r = ref(rule.within)
    worse = r.below if higher(ind) else (r.n - r.below - r.equal)
    tied = {"average": (r.equal - lit(1)) / lit(2.0), "min": None,
            "max": r.equal - lit(1)}[rule.ties]
    pct = lit(100.0) * div(worse if tied is None else worse + tied, r.n - lit(1))
    return exp.Case().when(r.n <= lit(1), lit(100.0)).else_(pct)


def zscore(ind: Indicator, rule: ZScoreRule, p: dict[str, exp.Expression]) -> exp.Expression:
    r = ref(rule.within, rule.panel)
    z = exp.Coalesce(this=div(X - r.mean, r.sd), expressions=[lit(0.0)])
    signed = z if higher(ind) else exp.Neg(this=exp.Paren(this=z))
    out = p["center"] + p["spread"] * signed
    return clamp(out) if rule.clamp else out


def fraction_of_max(ind: Indicator, rule: FractionOfMaxRule, p: dict[str, exp.Expression]
                    ) -> exp.Expression:
    """100·x/max (no score when max ≤ 0); lower: 100·min/x (no score when x ≤ 0)."""
    r = ref(rule.within, rule.panel)
    if higher(ind):
        return exp.Case().when(r.max > lit(0), clamp(lit(100.0) * div(X, r.max)))
    return exp.Case().when(lit(0) < X, clamp(lit(100.0) * div(r.min, X)))


def reference_unit(ind: Indicator, rule: ReferenceUnitRule, p: dict[str, exp.Expression]
                   ) -> exp.Expression:
    """COINr's n_dist2ref on 0–100: the reference unit's value (a window over the indicator's
    units) scores 100, the worst unit 0; no score when the reference has no value."""
    xref = sql("MAX(CASE WHEN unit_id = :unit THEN value END) OVER (PARTITION BY indicator_id)",
               unit=p["unit"])
    r = ref("all")
    num, den = ((X - r.min, xref - r.min) if higher(ind) else (r.max - X, r.max - xref))
    out = lit(100.0) * div(num, den)
    return clamp(out) if rule.clamp else out


def efficacy(ind: Indicator, rule: EfficacyRule, p: dict[str, exp.Expression]
             ) -> exp.Expression:
    r = ref("all")
    good = p["good"] if rule.good is not None else (r.max if higher(ind) else r.min)
    bad = p["bad"] if rule.bad is not None else (r.min if higher(ind) else r.max)
    span = p["span"] if "span" in p else good - bad.copy()
    out = lit(60.0) + lit(40.0) * div(X - bad, span)
    return exp.Case().when(good.copy().eq(bad.copy()), lit(100.0)).else_(
        clamp(out, p["floor"], lit(100.0)))


def deduction(ind: Indicator, rule: DeductionRule, p: dict[str, exp.Expression]
              ) -> exp.Expression:
    return clamp(lit(100.0) - p["points"] * X, p["floor"], lit(100.0))


def pass_fail(ind: Indicator, rule: PassFailRule, p: dict[str, exp.Expression]
              ) -> exp.Expression:
    t = p["t"]
    return exp.Case().when(t <= X if higher(ind) else t >= X, lit(100.0)).else_(p["fail"])


def direct(ind: Indicator, rule: DirectRule, p: dict[str, exp.Expression]) -> exp.Expression:
    return clamp(X if higher(ind) else lit(100.0) - X)


RULES: dict[type, Callable[..., exp.Expression]] = {
    MinMaxRule: min_max, GoalpostsRule: goalposts, TargetRule: target, BandsRule: bands,
    PercentileRule: percentile, ZScoreRule: zscore, EfficacyRule: efficacy,
    DeductionRule: deduction, PassFailRule: pass_fail, DirectRule: direct,
    FractionOfMaxRule: fraction_of_max, ReferenceUnitRule: reference_unit,
}  # fmt: skip


def rule_params(ind: Indicator) -> tuple[str, Params, dict[str, tuple[float, float]]]:
    """(kind, parameters, differences) of an indicator's rule.

    `kind` names every discrete choice the rule's builder reads, so indicators of one kind share
    one tree; parameters are its numbers (on the transformed scale) and the reference unit;
    differences are parameters that are a difference of two literals (name -> (a, b))."""
    rule = ind.rule
    hi = "higher" if higher(ind) else "lower"
    parts: list[object] = [rule.type, hi]
    out: Params = {}
    diffs: dict[str, tuple[float, float]] = {}
    if isinstance(rule, MinMaxRule):
        parts += [rule.within, rule.panel is not None, _default_range(rule)]
        low, high = rule.range
        out.update(low=low, high=high, span=high - low)
    elif isinstance(rule, GoalpostsRule):
        parts.append(rule.clamp)
        lo = param(ind, rule.lower, "goalpost lower")
        up = param(ind, rule.upper, "goalpost upper")
        out.update(lo=lo, up=up)
        diffs["span"] = (up, lo)
    elif isinstance(rule, TargetRule):
        parts.append(rule.target is not None)
        if rule.target is not None:
            out["t"] = param(ind, rule.target, "target")
        else:
            parts.append(ind.transform is not None and ind.transform.log)
    elif isinstance(rule, BandsRule):
        parts.append(len(rule.bands))
        for k, band in enumerate(_bands(rule)):
            out[f"b{k}_t"] = param(ind, band.threshold, "band threshold")
            out[f"b{k}_s"] = band.score
        out["otherwise"] = rule.otherwise
    elif isinstance(rule, PercentileRule):
        parts += [rule.within, rule.ties]
    elif isinstance(rule, ZScoreRule):
        parts += [rule.within, rule.panel is not None, rule.clamp]
        out.update(center=rule.center, spread=rule.spread)
    elif isinstance(rule, FractionOfMaxRule):
        parts += [rule.within, rule.panel is not None]
    elif isinstance(rule, ReferenceUnitRule):
        parts.append(rule.clamp)
        out["unit"] = rule.unit
    elif isinstance(rule, EfficacyRule):
        parts += [rule.good is not None, rule.bad is not None]
        if rule.good is not None:
            out["good"] = param(ind, rule.good, "good")
        if rule.bad is not None:
            out["bad"] = param(ind, rule.bad, "bad")
        if rule.good is not None and rule.bad is not None:
            diffs["span"] = (cast(float, out["good"]), cast(float, out["bad"]))
        out["floor"] = rule.floor
    elif isinstance(rule, DeductionRule):
        out.update(points=rule.points, floor=rule.floor)
    elif isinstance(rule, PassFailRule):
        out.update(t=param(ind, rule.threshold, "threshold"), fail=rule.fail_score)
    return ":".join(str(x) for x in parts), out, diffs


def rule_expr(ind: Indicator) -> exp.Expression:
    """The indicator's score on 0–100 as an expression over `value` and the reference columns,
    with its parameters as literals."""
    _, values, diffs = rule_params(ind)
    p: dict[str, exp.Expression] = {k: lit(v) for k, v in values.items()}
    for name, (a, b) in diffs.items():
        p[name] = lit(a) - lit(b)
    return RULES[type(ind.rule)](ind, ind.rule, p)


NUMERIC = pl.Float64


def rule_table(inds: list[Indicator]) -> tuple[pl.DataFrame, dict[str, exp.Expression]]:
    """One row of parameters per indicator (`indicator_id`, `kind`, the numbers as the engine
    would read the literals) and one expression per kind over the table's columns (`q_*`)."""
    rows: list[dict[str, object]] = []
    first: dict[str, tuple[Indicator, list[str]]] = {}
    for ind in inds:
        kind, values, diffs = rule_params(ind)
        row: dict[str, object] = {"indicator_id": ind.id, "kind": kind}
        for k, v in values.items():
            row[k] = engine_double(v) if isinstance(v, float) else v
        for k, (a, b) in diffs.items():
            row[k] = literal_diff(a, b)
        rows.append(row)
        first.setdefault(kind, (ind, [*values, *diffs]))
    names = sorted({k for r in rows for k in r} - {"indicator_id", "kind"})
    schema = {"indicator_id": pl.Utf8, "kind": pl.Utf8,
              **{k: (pl.Utf8 if k == "unit" else NUMERIC) for k in names}}
    frame = pl.from_dicts(rows, schema=schema)
    kinds = {kind: RULES[type(ind.rule)](ind, ind.rule, {k: col(f"q_{k}") for k in used})
             for kind, (ind, used) in first.items()}
    return frame, kinds


def build_stats(engine: Engine) -> None:
    """Reference values per indicator over all units (pg NULL) and per peer group."""
    aggs = ("COUNT(value) AS n, MIN(value) AS min, MAX(value) AS max, AVG(value) AS mean, "
            "STDDEV_SAMP(value) AS sd, MEDIAN(value) AS median")
    create_temp(engine, STATS, sql(
        f"SELECT indicator_id, CAST(NULL AS VARCHAR) AS pg, {aggs} FROM {VALUES} "
        f"WHERE value IS NOT NULL GROUP BY indicator_id "
        f"UNION ALL SELECT indicator_id, pg, {aggs} FROM {VALUES} "
        f"WHERE value IS NOT NULL GROUP BY indicator_id, pg"
    ))


RULE_PARAMS = "_sc_rule_params"


def score_indicators(engine: Engine, scheme: Scheme, *, as_data: bool = True) -> None:
    """`INDICATOR_SCORES`: every unit × indicator with its score (NULL when missing).

    Rules as data: the parameter table `RULE_PARAMS` (one row per indicator) is joined to the
    values, and the score is a CASE over the rule kinds (`rule_table`), so the statement's size
    and its per-row work do not grow with the number of indicators. `as_data=False` writes the
    reference form instead, a CASE over the indicators with their parameters as literals (one
    branch per indicator: quadratic at thousands of indicators; the tests compare the two)."""
    build_stats(engine)
    _rule_scores(engine, scheme, scheme.indicators(), VALUES, as_data)
    create_temp(engine, INDICATOR_SCORES, sql(_with_policies(VALUES)))


RESCORED = "_sc_rescored"


def rescore_indicators(engine: Engine, scheme: Scheme, ids: frozenset[str]) -> None:
    """Score `ids` again in `INDICATOR_SCORES`, in place, after a change to their rule or
    direction only (`reuse.rule_changes`): their values, the statistics and every other row stay.

    The rule step is partitioned by indicator (ranks, statistics, parameters), so these rows are
    the ones a full run computes; the UPDATE keeps every row where it was, and the aggregation,
    which sums in row order, gives a full run's numbers to the last bit."""
    inds = [i for i in scheme.indicators() if i.id in ids]
    engine.register("_sc_rescore_ids", pl.DataFrame({"indicator_id": [i.id for i in inds]},
                                                    schema={"indicator_id": pl.Utf8}))
    create_temp(engine, "_sc_values_part", sql(
        f"SELECT * EXCLUDE (score, imputed_any, flags) FROM {INDICATOR_SCORES} "
        "WHERE indicator_id IN (SELECT indicator_id FROM _sc_rescore_ids)"))
    _rule_scores(engine, scheme, inds, "_sc_values_part", as_data=True)
    create_temp(engine, RESCORED, sql(_with_policies("_sc_values_part")))
    engine.execute(sql(
        f"""
        UPDATE {INDICATOR_SCORES} SET score = n.score, imputed_any = n.imputed_any,
                                      flags = n.flags
        FROM {RESCORED} n
        WHERE n.unit_ix = {INDICATOR_SCORES}.unit_ix
          AND n.node_ix = {INDICATOR_SCORES}.node_ix
        """))


def _rule_scores(engine: Engine, scheme: Scheme, inds: list[Indicator], values: str,
                 as_data: bool) -> None:
    """`_sc_ruled`: the rule's score of every valued row of `values` for indicators `inds`
    (`STATS` holds their reference values)."""
    params, kinds = rule_table(inds)
    engine.register(RULE_PARAMS, params)
    if as_data:
        case = exp.Case(this=col("q_kind"))
        for kind, expr in kinds.items():
            case = case.when(lit(kind), expr, copy=False)
    else:
        case = exp.Case(this=col("indicator_id"))
        for ind in inds:
            case = case.when(lit(ind.id), rule_expr(ind), copy=False)
    panels = ("p",) if build_panel_stats(engine, scheme) else ()
    stat_cols = ", ".join(
        f"{p}.{c} AS {p}_{c}" for p in ("a", "g", *panels)
        for c in ("n", "min", "max", "mean", "sd")
    )
    param_cols = ", ".join(f"q.{c} AS q_{c}" for c in params.columns if c != "indicator_id")
    panel_join = f"LEFT JOIN {PANEL} p ON p.indicator_id = r.indicator_id" if panels else ""
    create_temp(engine, "_sc_ruled", sql(
        f"""
        WITH k AS (SELECT v.*, :tk AS tie_key FROM {values} v WHERE value IS NOT NULL),
        r AS (
            SELECT k.*,
                   RANK() OVER (PARTITION BY indicator_id ORDER BY tie_key) - 1 AS a_below,
                   COUNT(*) OVER (PARTITION BY indicator_id, tie_key) AS a_equal,
                   RANK() OVER (PARTITION BY indicator_id, pg ORDER BY tie_key) - 1 AS g_below,
                   COUNT(*) OVER (PARTITION BY indicator_id, pg, tie_key) AS g_equal
            FROM k),
        j AS (
            SELECT r.*, {stat_cols}, {param_cols}
            FROM r
            LEFT JOIN {STATS} a ON a.indicator_id = r.indicator_id AND a.pg IS NULL
            LEFT JOIN {STATS} g ON g.indicator_id = r.indicator_id AND g.pg = r.pg
            LEFT JOIN {RULE_PARAMS} q ON q.indicator_id = r.indicator_id
            {panel_join})
        SELECT unit_ix, node_ix, CAST(:score AS DOUBLE) AS rule_score FROM j
        """,
        score=case, tk=rank_key(inds),  # ties after a log: ties.py
    ))


def _with_policies(values: str) -> str:
    """Each row of `values` with its score (the rule's, or 0 under `missing: zero`), whether
    anything was imputed, and its flags."""
    return f"""
        SELECT v.*,
               CASE WHEN s.rule_score IS NULL AND v.missing_policy = 'zero' AND v.covered
                    THEN 0.0 ELSE s.rule_score END AS score,
               COALESCE(v.imputed, FALSE)
                   OR (s.rule_score IS NULL AND v.missing_policy = 'zero' AND v.covered)
                   AS imputed_any,
               CONCAT_WS(',', v.value_flag,
                   CASE WHEN v.raw_value IS NULL AND NOT COALESCE(v.imputed, FALSE)
                        THEN 'missing' END,
                   CASE WHEN v.value IS NOT NULL AND s.rule_score IS NULL THEN 'unscored' END,
                   CASE WHEN v.imputed THEN CONCAT('imputed_', v.missing_policy) END,
                   CASE WHEN s.rule_score IS NULL AND v.missing_policy = 'zero' AND v.covered
                        THEN 'scored_zero' END,
                   CASE WHEN NOT v.covered THEN 'no_own_data' END) AS flags
        FROM {values} v
        LEFT JOIN _sc_ruled s ON s.unit_ix = v.unit_ix AND s.node_ix = v.node_ix
        """
