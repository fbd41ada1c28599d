"""Step 4 — bonus and deduction items within their caps, vetoes, the scheme's scale.

Events of the scored year (any period of it) are read from `current_events`. An adjustment item
gives `points` × Σ(event value, 1 when not given), between 0 and its `cap`; bonuses and
deductions are summed separately. A veto item applies when its event occurred at all: it caps
the grade (see grades.py) and, with `max_score`, the score.

score = clamp(base + bonus − deduction, scale.min, scale.max), then min(score, veto max_score);
a ratio total has no top (`Scheme.score_ceiling`: the caller binds it as :scale_hi).
The declared-weight score goes through the same adjustments, so the two rankings compare
weights only.
"""

from __future__ import annotations

import polars as pl

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.values import UNITS

ADJUST = "_sc_adjust"


def grade_order(scheme: Scheme) -> dict[str, int]:
    """Grade code → position, best first (0)."""
    return {g.code: i for i, g in enumerate(scheme.grades)}


def build_adjustments(engine: Engine, scheme: Scheme, year: int) -> None:
    """`ADJUST`: per unit scored, bonus, deduction, veto ids, veto grade cap and score cap."""
    order = grade_order(scheme)
    engine.register("_sc_adj_items", pl.DataFrame(
        [{"item_id": a.id, "kind": a.kind, "event": a.event, "points": a.points, "cap": a.cap}
         for a in scheme.adjustments],
        schema={"item_id": pl.String, "kind": pl.String, "event": pl.String,
                "points": pl.Float64, "cap": pl.Float64},
    ))
    engine.register("_sc_veto_items", pl.DataFrame(
        [{"veto_id": v.id, "event": v.event, "max_grade_ord": order[v.max_grade],
          "max_score": v.max_score} for v in scheme.vetoes],
        schema={"veto_id": pl.String, "event": pl.String, "max_grade_ord": pl.Int64,
                "max_score": pl.Float64},
    ))
    create_temp(engine, ADJUST, sql(
        f"""
        WITH ev AS (
            SELECT e.unit_id, e.event, SUM(COALESCE(e.value, 1.0)) AS amount
            FROM current_events e JOIN {UNITS} u ON u.unit_id = e.unit_id
            WHERE e.year = :year GROUP BY e.unit_id, e.event),
        items AS (
            SELECT ev.unit_id, i.kind,
                   LEAST(i.cap, GREATEST(0.0, i.points * ev.amount)) AS pts
            FROM ev JOIN _sc_adj_items i ON i.event = ev.event),
        adj AS (
            SELECT unit_id,
                   SUM(CASE WHEN kind = 'bonus' THEN pts ELSE 0.0 END) AS bonus,
                   SUM(CASE WHEN kind = 'deduction' THEN pts ELSE 0.0 END) AS deduction
            FROM items GROUP BY unit_id),
        vet AS (
            SELECT ev.unit_id, STRING_AGG(v.veto_id, ',' ORDER BY v.veto_id) AS veto,
                   MAX(v.max_grade_ord) AS veto_grade_ord, MIN(v.max_score) AS veto_max_score
            FROM ev JOIN _sc_veto_items v ON v.event = ev.event GROUP BY ev.unit_id)
        SELECT u.unit_id, COALESCE(a.bonus, 0.0) AS bonus, COALESCE(a.deduction, 0.0) AS deduction,
               v.veto, v.veto_grade_ord, v.veto_max_score
        FROM {UNITS} u LEFT JOIN adj a ON a.unit_id = u.unit_id
        LEFT JOIN vet v ON v.unit_id = u.unit_id
        """,
        year=year,
    ))


def final_score_sql(base: str) -> str:
    """SQL template for the adjusted, clamped, veto-capped score of column `base` (adjustment
    columns from alias `a`); bind :scale_lo and :scale_hi."""
    raw = f"({base} + a.bonus - a.deduction)"
    clamped = (f"CASE WHEN {base} IS NULL THEN NULL WHEN {raw} < :scale_lo THEN :scale_lo "
               f"WHEN {raw} > :scale_hi THEN :scale_hi ELSE {raw} END")
    return (f"CASE WHEN a.veto_max_score IS NOT NULL AND ({clamped}) > a.veto_max_score "
            f"THEN a.veto_max_score ELSE {clamped} END")
