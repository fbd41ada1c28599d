"""The unit profile's value-added block: the stored peer comparison and value-added rows."""

from __future__ import annotations

import polars as pl

from evaluator.labels import Group, label
from evaluator.readmodel._base import Con, _df
from evaluator.readmodel.labels import _in_scheme_order, _with_names, scheme_labels
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run, require_unit


def unit_value_added(
    con: Con, run_id: str, unit_id: str, lang: str = "zh", *, viewer: Viewer = OFFICE
) -> pl.DataFrame:
    """The unit's raw score beside the score expected in its context and the difference, for
    the total (first row, `indicator_id` NULL) and each indicator in scheme order; with its peer
    group, rank in it and the peer median. Empty when the run's scheme declares no `fairness`."""
    require_run(con, viewer, run_id)
    require_unit(viewer, unit_id)
    df = _df(
        con,
        """
        SELECT indicator_id, peer, observed, expected, value_added, peer_rank, peer_units,
               peer_median, n_fit, r2
        FROM run_value_added WHERE run_id = ? AND unit_id = ?
        """,
        [run_id, unit_id],
    )
    if df.is_empty():
        return df.with_columns(pl.lit(None, dtype=pl.String).alias("indicator_name"))
    labels = scheme_labels(con, run_id)
    total = df.filter(pl.col("indicator_id").is_null()).with_columns(
        pl.lit(label(Group.node_kind, "total", lang)).alias("indicator_name"))
    parts = _in_scheme_order(
        _with_names(df.filter(pl.col("indicator_id").is_not_null()), labels, "indicator_id",
                    "indicator_name", lang), labels, "indicator_id")
    return pl.concat([total, parts], how="diagonal_relaxed")


def value_added_covariates(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> list[str]:
    """The context covariates the run's scheme fitted value-added on ([] without a model)."""
    require_run(con, viewer, run_id)
    scheme = scheme_labels(con, run_id).scheme
    model = scheme.fairness.value_added if scheme and scheme.fairness else None
    return list(model.covariates) if model else []
