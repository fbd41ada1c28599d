"""PCA-derived weights, shown next to the declared ones and never applied (COINr's `get_PCA`).

For each node with at least two children, the children's scores in a stored run (indicator and
dimension scores), over the units that have all of them (complete cases, as COINr's
`na.omit`), are standardised and the first principal component of their correlation matrix
taken: its loadings are COINr's PCA weights. The sign of a component is arbitrary; it is fixed
so the loadings sum to a positive number, and `share` = loading / Σ loadings is the local weight
an arithmetic mean would apply. A scheme uses them only if the office writes them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from evaluator.scheme.models import Scheme


@dataclass(frozen=True)
class PcaWeight:
    node_id: str
    parent_id: str
    loading: float
    share: float
    units: int  # complete cases the component rests on
    explained: float  # share of the children's variance the first component carries


def children_of(scheme: Scheme) -> dict[str, list[str]]:
    """Each node id with its children's ids (the total is `__total__`)."""
    out = {"__total__": [d.id for d in scheme.dimensions]}
    for dim in scheme.all_dimensions():
        out[dim.id] = [*(i.id for i in dim.indicators), *(d.id for d in dim.dimensions)]
    return out


def pca_weights(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str) -> list[PcaWeight]:
    """The PCA weight of every child of every node with ≥ 2 children and ≥ 3 complete cases
    whose children all vary (a constant child has no correlation)."""
    scores = con.sql(
        "SELECT unit_id, indicator_id AS node_id, score FROM run_indicator_scores "
        "WHERE run_id = $run AND score IS NOT NULL UNION ALL "
        "SELECT unit_id, dimension_id, score FROM run_dimension_scores "
        "WHERE run_id = $run AND score IS NOT NULL", params={"run": run_id}).pl()
    wide = scores.pivot(on="node_id", index="unit_id", values="score") if scores.height else None
    out: list[PcaWeight] = []
    for parent, kids in children_of(scheme).items():
        if wide is None or len(kids) < 2 or not all(k in wide.columns for k in kids):
            continue
        x = wide.select(kids).drop_nulls().to_numpy().astype(float)
        if x.shape[0] < 3 or (x.std(axis=0, ddof=1) == 0).any():
            continue
        values, vectors = np.linalg.eigh(np.corrcoef(x, rowvar=False))  # ascending
        first = vectors[:, -1] * (1.0 if vectors[:, -1].sum() >= 0 else -1.0)
        total = float(first.sum())
        out += [PcaWeight(k, parent, float(v), float(v) / total if total else float("nan"),
                          int(x.shape[0]), float(values[-1] / values.sum()))
                for k, v in zip(kids, first, strict=True)]
    return out


def as_frame(rows: list[PcaWeight]) -> pl.DataFrame:
    return pl.DataFrame([r.__dict__ for r in rows], schema={
        "node_id": pl.String, "parent_id": pl.String, "loading": pl.Float64,
        "share": pl.Float64, "units": pl.Int64, "explained": pl.Float64})
