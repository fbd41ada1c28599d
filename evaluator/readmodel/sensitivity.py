"""The sensitivity page: satisfaction funnel and rank ranges."""

from __future__ import annotations

import polars as pl

from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.viewer import OFFICE, Viewer, require_not_unit, require_run

# --------------------------------------------------------------------------- sensitivity


def rank_ranges(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """Units with a computed rank interval (empty when the run computed no uncertainty)."""
    require_run(con, viewer, run_id)
    require_not_unit(viewer)
    return _df(
        con,
        """
        SELECT unit_id, unit_name, peer_group, score, score_low, score_high,
               rank, rank_low, rank_high,
               rank_high - rank_low AS rank_spread
        FROM run_scores WHERE run_id = ? AND rank_low IS NOT NULL AND rank_high IS NOT NULL
        ORDER BY rank NULLS LAST, unit_id
        """,
        [run_id],
    )
