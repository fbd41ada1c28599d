"""Step 5 — grades (thresholds, veto caps, quotas) and league-table ranks.

Grades: a unit gets the first band (best first) whose `min_score` its rounded score reaches; a
veto caps it at the veto's `max_grade`; then quotas apply band by band, best first. Tie rule for
quotas (deterministic, and fair to equal scores): if admitting every unit tied at the boundary
score would exceed the quota, the whole tie group moves down one band — a quota is never exceeded
and equal scores never get different grades. The quota of a band with `max_share` q is
floor(q · number of units with a score). A vetoed unit never takes a quota place above its cap.

Ranks: RANK() over the score rounded to the scheme's decimals, best first, so ties share the best
rank (1, 2, 2, 4); `peer_rank` is the same within the peer group; `rank_declared` ranks the
declared-weight score. Units without any score have no rank and no grade.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import Engine, create_temp, sql

GRADES = "_sc_grades"
GRADE_ITEMS = "_sc_grade_items"
RANK_INTERVALS = "_sc_rank_intervals"


class GradeTables(NamedTuple):
    """What `assign_grades` made: per unit (`grades`: unit_id, ord, reason) and the bands
    (`items`: ord, code, min_score, max_share)."""

    grades: str
    items: str


def grades_frame(scheme: Scheme) -> pl.DataFrame:
    return pl.DataFrame(
        [{"ord": i, "code": g.code, "min_score": g.min_score, "max_share": g.max_share}
         for i, g in enumerate(scheme.grades)],
        schema={"ord": pl.Int64, "code": pl.String, "min_score": pl.Float64,
                "max_share": pl.Float64},
    )


def assign_grades(engine: Engine, scheme: Scheme, scores: str, by: str | None = None,
                  name: str = GRADES) -> GradeTables:
    """`GRADES`: unit_id, grade, grade_reason from `scores` (unit_id, score, veto_grade_ord).

    `by` names a column (a bootstrap replicate) that splits `scores` into independent
    rankings, each graded on its own (quotas per ranking); the result then carries it."""
    engine.register(GRADE_ITEMS, grades_frame(scheme))
    last = len(scheme.grades) - 1
    keep = f"{by}, " if by else ""
    s_keep = f"s.{by}, " if by else ""
    same = f"AND t.{by} = s.{by}" if by else ""
    part = f"PARTITION BY {by}" if by else ""
    grades_t = name
    create_temp(engine, grades_t, sql(
        f"""
        WITH thr AS (
            SELECT {s_keep}s.unit_id, MIN(g.ord) AS ord
            FROM {scores} s JOIN {GRADE_ITEMS} g
                ON g.min_score IS NULL OR s.score >= g.min_score
            WHERE s.score IS NOT NULL GROUP BY {s_keep}s.unit_id),
        base AS (
            SELECT {s_keep}s.unit_id, s.score,
                   COALESCE(t.ord, :last) AS thr_ord, s.veto_grade_ord
            FROM {scores} s LEFT JOIN thr t ON t.unit_id = s.unit_id {same}
            WHERE s.score IS NOT NULL)
        SELECT {keep}unit_id, score,
               CASE WHEN veto_grade_ord > thr_ord THEN veto_grade_ord ELSE thr_ord END AS ord,
               CASE WHEN veto_grade_ord > thr_ord THEN 'veto' ELSE 'threshold' END AS reason
        FROM base
        """,
        last=last,
    ))
    for k, g in enumerate(scheme.grades):
        if g.max_share is None or k == last:
            continue
        create_temp(engine, f"{grades_t}_prev", sql(f"SELECT * FROM {grades_t}"))
        create_temp(engine, grades_t, sql(
            f"""
            WITH c AS (
                SELECT *, CASE WHEN ord = :k THEN COUNT(*) OVER (
                    PARTITION BY {keep}ord = :k ORDER BY score DESC
                    RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS through,
                    FLOOR(:share * COUNT(*) OVER ({part}) + 1e-9) AS allowed
                FROM {grades_t}_prev)
            SELECT {keep}unit_id, score,
                   CASE WHEN through > allowed THEN :k + 1 ELSE ord END AS ord,
                   CASE WHEN through > allowed THEN 'quota' ELSE reason END AS reason
            FROM c
            """,
            k=k, share=g.max_share,
        ))
    return GradeTables(grades=grades_t, items=GRADE_ITEMS)


def ranks_sql() -> str:
    """Ranking columns (our own SQL) over `score`, `score_declared` and `pg`."""
    return (
        "CASE WHEN score IS NOT NULL THEN RANK() OVER (ORDER BY score DESC NULLS LAST) END "
        "AS rank, "
        "CASE WHEN score IS NOT NULL THEN RANK() OVER (PARTITION BY pg ORDER BY score DESC "
        "NULLS LAST) END AS peer_rank, "
        "CASE WHEN score_declared IS NOT NULL THEN RANK() OVER (ORDER BY score_declared DESC "
        "NULLS LAST) END AS rank_declared"
    )


def rank_intervals(engine: Engine, scores: str) -> str:
    """`RANK_INTERVALS`: best and worst rank a unit could take given every unit's interval.

    rank_low (best) = 1 + units whose score_low beats this unit's score_high;
    rank_high (worst) = 1 + other units whose score_high beats this unit's score_low.
    So rank_low ≤ rank ≤ rank_high. Counted with window sums over the pooled bounds (no
    self-join), so it stays linear in the number of units.
    """
    create_temp(engine, RANK_INTERVALS, sql(
        f"""
        WITH b AS (
            SELECT unit_id, score_low AS v, 1 AS is_low, 0 AS is_high, score_high AS other
            FROM {scores} WHERE score_low IS NOT NULL
            UNION ALL
            SELECT unit_id, score_high, 0, 1, score_low FROM {scores} WHERE score_high IS NOT NULL),
        c AS (
            SELECT *,
                   SUM(is_low) OVER (ORDER BY v DESC RANGE BETWEEN UNBOUNDED PRECEDING
                                     AND CURRENT ROW) - SUM(is_low) OVER (PARTITION BY v)
                       AS lows_above,
                   SUM(is_high) OVER (ORDER BY v DESC RANGE BETWEEN UNBOUNDED PRECEDING
                                      AND CURRENT ROW) - SUM(is_high) OVER (PARTITION BY v)
                       AS highs_above
            FROM b)
        SELECT unit_id,
               MAX(CASE WHEN is_high = 1 THEN 1 + lows_above END) AS rank_low,
               MAX(CASE WHEN is_low = 1 THEN 1 + highs_above
                        - CASE WHEN other > v THEN 1 ELSE 0 END END) AS rank_high
        FROM c GROUP BY unit_id
        """
    ))
    return RANK_INTERVALS


def grades_by_tier(units: pl.DataFrame, scheme: Scheme) -> pl.DataFrame:
    """Grades that never split a tier (scheme `uncertainty.tier_grades`).

    `units`: unit_id, score, rank (the run's), tier, veto_grade_ord (NULL: no veto). Units of
    one tier cannot be told apart at the run's level, so they get one grade: the band (by the
    thresholds) of the tier's median unit in rank order (of an even tier, the better of the two
    middle units). A veto still caps its own unit (a fact, not noise). Then quotas, best band
    first, count whole tiers: a tier whose units would take the band past floor(share · n)
    moves down one band whole, as tied scores do in the score-band grades. Returns unit_id,
    tier_grade (the band's code). Set-based: a loop over bands, never over units or tiers."""
    items = grades_frame(scheme)
    last = items.height - 1
    mins = [(i, g.min_score) for i, g in enumerate(scheme.grades) if g.min_score is not None]
    band = pl.lit(last, dtype=pl.Int64)
    for i, m in reversed(mins):
        band = pl.when(pl.col("score") >= m).then(pl.lit(i, dtype=pl.Int64)).otherwise(band)
    ranked = units.filter(pl.col("score").is_not_null() & pl.col("tier").is_not_null())
    ranked = ranked.sort("rank", "unit_id").with_columns(
        band.alias("band"),
        pl.int_range(pl.len()).over("tier").alias("pos"), pl.len().over("tier").alias("size"))
    median = (ranked.filter(pl.col("pos") == (pl.col("size") - 1) // 2)
              .select("tier", pl.col("band").alias("tier_band")))
    graded = ranked.join(median, on="tier").with_columns(
        pl.max_horizontal("tier_band", pl.col("veto_grade_ord").fill_null(-1)).alias("ord"))
    n = graded.height
    for k, g in enumerate(scheme.grades):
        if g.max_share is None or k == last:
            continue
        allowed = int(g.max_share * n + 1e-9)
        per_tier = (graded.filter(pl.col("ord") == k).group_by("tier").agg(pl.len().alias("m"))
                    .sort("tier").with_columns(pl.col("m").cum_sum().alias("through")))
        over = per_tier.filter(pl.col("through") > allowed)["tier"]
        graded = graded.with_columns(
            pl.when((pl.col("ord") == k) & pl.col("tier").is_in(over.implode()))
            .then(k + 1).otherwise(pl.col("ord")).alias("ord"))
    return (graded.join(items.select("ord", pl.col("code").alias("tier_grade")), on="ord")
            .select("unit_id", "tier_grade"))
