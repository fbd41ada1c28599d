"""Step 2 — indicator scores on 0–100: each scheme rule is one function returning a sqlglot tree.

A rule reads the transformed value `value` and reference columns computed over the units scored
(`a_*` over all of them, `g_*` within the unit's peer group): n, min, max, mean, sd (sample),
below (units strictly below the value), equal (units with the same value, itself included).

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

from sqlglot import exp

from evaluator.scheme.models import (
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
from evaluator.scoring.values import VALUES, log_expr, transform_param

STATS = "_sc_stats"
INDICATOR_SCORES = "_sc_ind"

X = exp.column("value")


def col(name: str) -> exp.Column:
    return exp.column(name)


def clamp(e: exp.Expression, lo: float = 0.0, hi: float = 100.0) -> exp.Expression:
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


def param(ind: Indicator, value: float, what: str) -> exp.Expression:
    """A raw-unit parameter on the transformed scale; a log of a value ≤ 0 is a scheme error."""
    out = transform_param(ind, value)
    if out != out:
        raise ScoringError(
            f"indicator '{ind.id}': {what} {value:g} cannot be log-transformed (it must be > 0); "
            "change the parameter or remove `transform.log`"
        )
    return lit(out)


def min_max(ind: Indicator, rule: MinMaxRule) -> exp.Expression:
    r = ref(rule.within, rule.panel)
    num = (X - r.min) if higher(ind) else (r.max - X)
    low, high = rule.range
    if (low, high) == (0.0, 100.0) and rule.panel is None:  # the tree of every older scheme
        return exp.Case().when(r.max.eq(r.min), lit(100.0)).else_(
            lit(100.0) * div(num, r.max - r.min))
    out = lit(low) + lit(high - low) * div(num, r.max - r.min)
    # a year scored outside its panel may lie past the panel's bounds
    return exp.Case().when(r.max.eq(r.min), lit(high)).else_(
        clamp(out, low, high) if rule.panel is not None else out)


def goalposts(ind: Indicator, rule: GoalpostsRule) -> exp.Expression:
    lo, up = param(ind, rule.lower, "goalpost lower"), param(ind, rule.upper, "goalpost upper")
    num = (X - lo) if higher(ind) else (up.copy() - X)
    out = lit(100.0) * div(num, up - lo)
    return clamp(out) if rule.clamp else out


def target(ind: Indicator, rule: TargetRule) -> exp.Expression:
    t = (param(ind, rule.target, "target") if rule.target is not None
         else log_expr(ind, col("unit_target")))
    if higher(ind):
        return (exp.Case().when(t.copy() <= lit(0), exp.Case().when(t.copy() <= X, lit(100.0))
                                .else_(lit(0.0)))
                .else_(clamp(lit(100.0) * div(X, t.copy()))))
    return (exp.Case().when(t.copy() >= X, lit(100.0))
            .when(lit(0) < X, clamp(lit(100.0) * div(t.copy(), X))).else_(lit(0.0)))


def bands(ind: Indicator, rule: BandsRule) -> exp.Expression:
    case = exp.Case()
    for band in sorted(rule.bands, key=lambda b: -b.score):  # the best band reached applies
        t = param(ind, band.threshold, "band threshold")
        case = case.when(t <= X if higher(ind) else t >= X, lit(band.score))
    return case.else_(lit(rule.otherwise))


def percentile(ind: Indicator, rule: PercentileRule) -> exp.Expression:
    """100·(rank − 1)/(n − 1) with rank − 1 = units worse + a share of the others tied:
    (ties − 1)/2 (average, the mid-rank), 0 (min), ties − 1 (max); a lone unit gets 100."""
    r = ref(rule.within)
    worse = r.below if higher(ind) else (r.n - r.below - r.equal)
    tied = {"average": (r.equal - lit(1)) / lit(2.0), "min": None,
            "max": r.equal - lit(1)}[rule.ties]
    pct = lit(100.0) * div(worse if tied is None else worse + tied, r.n - lit(1))
    return exp.Case().when(r.n <= lit(1), lit(100.0)).else_(pct)


def zscore(ind: Indicator, rule: ZScoreRule) -> exp.Expression:
    r = ref(rule.within, rule.panel)
    z = exp.Coalesce(this=div(X - r.mean, r.sd), expressions=[lit(0.0)])
    signed = z if higher(ind) else exp.Neg(this=exp.Paren(this=z))
    out = lit(rule.center) + lit(rule.spread) * signed
    return clamp(out) if rule.clamp else out


def fraction_of_max(ind: Indicator, rule: FractionOfMaxRule) -> exp.Expression:
    """100·x/max (no score when max ≤ 0); lower: 100·min/x (no score when x ≤ 0)."""
    r = ref(rule.within, rule.panel)
    if higher(ind):
        return exp.Case().when(r.max > lit(0), clamp(lit(100.0) * div(X, r.max)))
    return exp.Case().when(lit(0) < X, clamp(lit(100.0) * div(r.min, X)))


def reference_unit(ind: Indicator, rule: ReferenceUnitRule) -> exp.Expression:
    """COINr's n_dist2ref on 0–100: the reference unit's value (a window over the indicator's
    units) scores 100, the worst unit 0; no score when the reference has no value."""
    xref = sql("MAX(CASE WHEN unit_id = :unit THEN value END) OVER (PARTITION BY indicator_id)",
               unit=rule.unit)
    r = ref("all")
    num, den = ((X - r.min, xref - r.min) if higher(ind) else (r.max - X, r.max - xref))
    out = lit(100.0) * div(num, den)
    return clamp(out) if rule.clamp else out


def efficacy(ind: Indicator, rule: EfficacyRule) -> exp.Expression:
    r = ref("all")
    good = param(ind, rule.good, "good") if rule.good is not None else (
        r.max if higher(ind) else r.min)
    bad = param(ind, rule.bad, "bad") if rule.bad is not None else (
        r.min if higher(ind) else r.max)
    out = lit(60.0) + lit(40.0) * div(X - bad, good - bad.copy())
    return exp.Case().when(good.copy().eq(bad.copy()), lit(100.0)).else_(
        clamp(out, rule.floor, 100.0))


def deduction(ind: Indicator, rule: DeductionRule) -> exp.Expression:
    return clamp(lit(100.0) - lit(rule.points) * X, rule.floor, 100.0)


def pass_fail(ind: Indicator, rule: PassFailRule) -> exp.Expression:
    t = param(ind, rule.threshold, "threshold")
    return exp.Case().when(t <= X if higher(ind) else t >= X, lit(100.0)).else_(
        lit(rule.fail_score))


def direct(ind: Indicator, rule: DirectRule) -> exp.Expression:
    return clamp(X if higher(ind) else lit(100.0) - X)


RULES: dict[type, Callable[..., exp.Expression]] = {
    MinMaxRule: min_max, GoalpostsRule: goalposts, TargetRule: target, BandsRule: bands,
    PercentileRule: percentile, ZScoreRule: zscore, EfficacyRule: efficacy,
    DeductionRule: deduction, PassFailRule: pass_fail, DirectRule: direct,
    FractionOfMaxRule: fraction_of_max, ReferenceUnitRule: reference_unit,
}  # fmt: skip


def rule_expr(ind: Indicator) -> exp.Expression:
    """The indicator's score on 0–100 as an expression over `value` and the reference columns."""
    return RULES[type(ind.rule)](ind, ind.rule)


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


def score_indicators(engine: Engine, scheme: Scheme) -> None:
    """`INDICATOR_SCORES`: every unit × indicator with its score (NULL when missing)."""
    build_stats(engine)
    case = exp.Case(this=col("indicator_id"))
    for ind in scheme.indicators():
        case = case.when(lit(ind.id), rule_expr(ind), copy=False)  # linear, not quadratic
    panels = ("p",) if build_panel_stats(engine, scheme) else ()
    stat_cols = ", ".join(
        f"{p}.{c} AS {p}_{c}" for p in ("a", "g", *panels)
        for c in ("n", "min", "max", "mean", "sd")
    )
    panel_join = f"LEFT JOIN {PANEL} p ON p.indicator_id = r.indicator_id" if panels else ""
    create_temp(engine, "_sc_ruled", sql(
        f"""
        WITH r AS (
            SELECT v.*,
                   RANK() OVER (PARTITION BY indicator_id ORDER BY value) - 1 AS a_below,
                   COUNT(*) OVER (PARTITION BY indicator_id, value) AS a_equal,
                   RANK() OVER (PARTITION BY indicator_id, pg ORDER BY value) - 1 AS g_below,
                   COUNT(*) OVER (PARTITION BY indicator_id, pg, value) AS g_equal
            FROM {VALUES} v WHERE value IS NOT NULL),
        j AS (
            SELECT r.*, {stat_cols}
            FROM r
            LEFT JOIN {STATS} a ON a.indicator_id = r.indicator_id AND a.pg IS NULL
            LEFT JOIN {STATS} g ON g.indicator_id = r.indicator_id AND g.pg = r.pg
            {panel_join})
        SELECT unit_id, indicator_id, CAST(:score AS DOUBLE) AS rule_score FROM j
        """,
        score=case,
    ))
    create_temp(engine, INDICATOR_SCORES, sql(
        f"""
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
        FROM {VALUES} v
        LEFT JOIN _sc_ruled s ON s.unit_id = v.unit_id AND s.indicator_id = v.indicator_id
        """
    ))
