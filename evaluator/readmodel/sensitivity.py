"""The sensitivity page: rank intervals (bootstrap once computed), weight sensitivity, grade
stability and probabilities, leave-one-out, and how they were computed. A unit sees only its
own rows; every figure is read from the run's stored tables, never recomputed."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from evaluator.readmodel._base import Con, _df, _one
from evaluator.readmodel.labels import _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run


def _own(viewer: Viewer, alias: str) -> tuple[str, list[Any]]:
    """SQL filter keeping a unit viewer to its own rows (everyone else: every unit)."""
    if viewer.role == "unit":
        return f" AND {alias}.unit_id = ?", [viewer.unit_id]
    return "", []


def rank_ranges(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Units with a rank interval (empty when the run computed none): the bootstrap's once
    `evaluator uncertainty` ran, with tier and P(top / bottom 10%), else the survey-CI bounds."""
    require_run(con, viewer, run_id)
    own, params = _own(viewer, "s")
    return _df(
        con,
        f"""
        SELECT s.unit_id, s.unit_name, s.peer_group, s.score, i.score_low, i.score_high,
               s.rank, i.rank_low, i.rank_high, i.rank_high - i.rank_low AS rank_spread,
               i.tier, u.rank_median, u.p_top10, u.p_bottom10, i.interval_source
        FROM run_scores s JOIN run_intervals i USING (run_id, unit_id)
        LEFT JOIN run_uncertainty u USING (run_id, unit_id)
        WHERE s.run_id = ? AND i.rank_low IS NOT NULL AND i.rank_high IS NOT NULL{own}
        ORDER BY s.rank NULLS LAST, s.unit_id
        """,
        [run_id, *params],
    )


def uncertainty_settings(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> dict[str, Any] | None:
    """How the run's uncertainty was computed (replicates, level, seed, method, summary); None
    when it was not. A unit viewer gets no list of other units' weight-dependent grades."""
    require_run(con, viewer, run_id)
    row = _one(con, "SELECT replicates, level, seed, weight_draws, tiers, method, summary, "
               "computed_at FROM run_uncertainty_settings WHERE run_id = ?", [run_id])
    if row is None:
        return None
    summary = json.loads(row[6]) if row[6] else {}
    if viewer.role == "unit":
        summary.pop("weight_dependent", None)
    return {"replicates": row[0], "level": row[1], "seed": row[2], "weight_draws": row[3],
            "tiers": row[4], "method": json.loads(row[5]) if row[5] else {},
            "summary": summary, "computed_at": row[7]}


def weight_sensitivity(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Per unit: the run's rank and grade, median rank and 5–95% range over the weight draws,
    grade stability and whether the grade is firm."""
    require_run(con, viewer, run_id)
    own, params = _own(viewer, "s")
    return _df(
        con,
        f"""
        SELECT s.unit_id, s.unit_name, s.rank, s.grade, w.rank_median, w.rank_p05, w.rank_p95,
               w.grade_stability, w.firm
        FROM run_sensitivity w JOIN run_scores s USING (run_id, unit_id)
        WHERE s.run_id = ?{own}
        ORDER BY s.rank NULLS LAST, s.unit_id
        """,
        [run_id, *params],
    )


def grade_probabilities(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Per unit and grade band: the share of bootstrap replicates giving that grade."""
    require_run(con, viewer, run_id)
    own, params = _own(viewer, "g")
    return _df(
        con,
        f"SELECT g.unit_id, g.grade, g.probability FROM run_grade_probabilities g "
        f"WHERE g.run_id = ?{own} ORDER BY g.unit_id, g.probability DESC",
        [run_id, *params],
    )


def indicator_sensitivity(con: Con, run_id: str, lang: str = "zh", *,
                          viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Leave-one-out per indicator with its name in `lang` (about the scheme, not about any
    unit: every role)."""
    require_run(con, viewer, run_id)
    return _with_names(_df(
        con,
        """
        SELECT l.indicator_id, w.effective_weight, l.mean_abs_rank_change,
               l.max_abs_rank_change, l.spearman
        FROM run_sensitivity_indicators l
        LEFT JOIN run_weights w ON w.run_id = l.run_id AND w.node_id = l.indicator_id
        WHERE l.run_id = ? ORDER BY l.mean_abs_rank_change DESC, l.indicator_id
        """,
        [run_id],
    ), scheme_labels(con, run_id), "indicator_id", "indicator_name", lang)
