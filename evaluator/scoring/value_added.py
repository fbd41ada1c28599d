"""Peer comparisons and value-added scores of a stored run (docs/fairness.md).

Value-added = observed − expected, where expected is what a unit in the same context would
score: for each indicator (and for the total score, `indicator_id` NULL) an ordinary least-squares
fit of the score on the scheme's declared covariates across the run's units (an intercept,
numeric covariates as they are, categories as 0/1 columns with the first level as the baseline).
With an intercept the residuals of a fit sum to zero, so value-added says how far a unit is above
or below units like it; the raw score stays the score of record. Each row also carries the unit's
peer group (the units-table column the scheme names), its rank within it and the peer median.

Runs after the run's tables are stored (whatever engine computed them), on the store, inside the
run's transaction: one design matrix for the units, then one `numpy.linalg.lstsq` per indicator —
a loop over measures, never over units.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from evaluator.scheme.models import Fairness, Scheme

VALUE_ADDED_COLUMNS: tuple[str, ...] = (
    "run_id", "unit_id", "indicator_id", "peer", "observed", "expected", "value_added", "n_fit",
    "r2", "peer_rank", "peer_units", "peer_median",
)
_CATEGORIES = ("peer_group", "unit_type", "parent_id", "population_band")


def _band(fairness: Fairness) -> pl.Expr:
    """population_band as text: '<20000', '20000–50000', '≥50000' (NULL without population)."""
    edges = fairness.population_bands
    if not edges:
        return pl.lit(None, dtype=pl.String)
    pop = pl.col("population")
    band = pl.when(pop.is_null()).then(pl.lit(None, dtype=pl.String)).when(pop < edges[0]).then(
        pl.lit(f"<{edges[0]:g}"))
    for a, b in zip(edges, edges[1:], strict=False):
        band = band.when(pop < b).then(pl.lit(f"{a:g}–{b:g}"))
    return band.otherwise(pl.lit(f"≥{edges[-1]:g}"))


def unit_context(con: duckdb.DuckDBPyConnection, run_id: str, fairness: Fairness) -> pl.DataFrame:
    """One row per scored unit: unit_id, the total score and every column a covariate or the
    peer grouping can name."""
    frame = con.sql(
        "SELECT s.unit_id, s.score, s.unit_type, s.peer_group, u.parent_id, u.population "
        "FROM run_scores s LEFT JOIN current_units u ON u.unit_id = s.unit_id "
        "WHERE s.run_id = ?", params=[run_id]).pl()
    return frame.with_columns(
        _band(fairness).alias("population_band"),
        pl.when(pl.col("population") > 0).then(pl.col("population").log())
        .alias("log_population"),
    )


def design(context: pl.DataFrame, covariates: list[str]) -> tuple[pl.Series, np.ndarray]:
    """Unit ids and the design matrix (intercept first) of the units that have every covariate:
    a category becomes 0/1 columns (one level dropped as the baseline; the fitted values do
    not depend on which)."""
    complete = context.drop_nulls(covariates)
    parts = [pl.DataFrame({"_intercept": np.ones(complete.height)})]
    for c in covariates:
        if c in _CATEGORIES:
            dummies = complete.select(pl.col(c).cast(pl.String)).to_dummies(drop_first=True)
            parts.append(dummies.select(sorted(dummies.columns)).cast(pl.Float64))
        else:  # centred and scaled: the same fitted values, a well-conditioned matrix
            v = pl.col(c).cast(pl.Float64)
            parts.append(complete.select(((v - v.mean()) / pl.when(v.std() > 0).then(v.std())
                                          .otherwise(1.0)).alias(c)))
    return complete["unit_id"], pl.concat(parts, how="horizontal").to_numpy()


def fit(observed: np.ndarray, x: np.ndarray, min_units: int) -> tuple[np.ndarray, float] | None:
    """Least-squares expected values and R² (None: too few units for the coefficients)."""
    n, p = x.shape
    if n < max(min_units, p + 2):
        return None
    coef, *_ = np.linalg.lstsq(x, observed, rcond=None)
    expected = x @ coef
    total = float(((observed - observed.mean()) ** 2).sum())
    r2 = 1.0 - float(((observed - expected) ** 2).sum()) / total if total > 0 else 0.0
    return expected, r2


def value_added_rows(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str) -> pl.DataFrame:
    """The run's `run_value_added` rows (`VALUE_ADDED_COLUMNS`); empty without `fairness`."""
    fairness = scheme.fairness
    if fairness is None:
        return pl.DataFrame(schema=dict.fromkeys(VALUE_ADDED_COLUMNS, pl.Float64))
    context = unit_context(con, run_id, fairness)
    inds = con.sql("SELECT unit_id, indicator_id, score FROM run_indicator_scores "
                   "WHERE run_id = ? AND score IS NOT NULL", params=[run_id]).pl()
    observed = pl.concat([
        context.select("unit_id", pl.lit(None, dtype=pl.String).alias("indicator_id"),
                       pl.col("score").cast(pl.Float64).alias("observed")),
        inds.select("unit_id", "indicator_id", pl.col("score").cast(pl.Float64).alias("observed")),
    ]).drop_nulls("observed")
    fitted = _fitted(observed, context, fairness)
    peer = context.select("unit_id", pl.col(fairness.peers).cast(pl.String).alias("peer"))
    rows = observed.join(peer, on="unit_id", how="left").join(
        fitted, on=["unit_id", "indicator_id"], how="left", nulls_equal=True)
    group = ["indicator_id", "peer"]
    rows = rows.with_columns(
        pl.when(pl.col("peer").is_not_null()).then(
            pl.col("observed").rank("min", descending=True).over(group)).cast(pl.Int64)
        .alias("peer_rank"),
        pl.when(pl.col("peer").is_not_null()).then(pl.len().over(group)).cast(pl.Int64)
        .alias("peer_units"),
        pl.when(pl.col("peer").is_not_null()).then(pl.col("observed").median().over(group))
        .alias("peer_median"),
        (pl.col("observed") - pl.col("expected")).alias("value_added"),
        pl.lit(run_id).alias("run_id"),
    )
    return rows.select(VALUE_ADDED_COLUMNS).sort("indicator_id", "unit_id", nulls_last=False)


def _fitted(observed: pl.DataFrame, context: pl.DataFrame, fairness: Fairness) -> pl.DataFrame:
    """unit_id, indicator_id, expected, n_fit, r2 for every fitted indicator (none without a
    declared value-added model)."""
    empty = pl.DataFrame(schema={"unit_id": pl.String, "indicator_id": pl.String,
                                 "expected": pl.Float64, "n_fit": pl.Int64, "r2": pl.Float64})
    va = fairness.value_added
    if va is None:
        return empty
    ids, x = design(context, list(va.covariates))
    row_of = pl.DataFrame({"unit_id": ids, "_row": np.arange(len(ids))})
    parts = [empty]
    for (indicator,), part in observed.join(row_of, on="unit_id").group_by(
            "indicator_id", maintain_order=True):
        rows = part["_row"].to_numpy()
        result = fit(part["observed"].to_numpy(), x[rows], va.min_units)
        if result is None:
            continue
        expected, r2 = result
        parts.append(pl.DataFrame({
            "unit_id": part["unit_id"], "indicator_id": pl.Series([indicator] * len(rows),
                                                                  dtype=pl.String),
            "expected": expected, "n_fit": len(rows), "r2": r2},
            schema_overrides={"n_fit": pl.Int64}))
    return pl.concat(parts, how="vertical_relaxed")


def store_value_added(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str) -> None:
    """Write the run's peer comparisons and value-added rows (nothing without `fairness`).
    The caller owns the transaction that makes the run all-or-nothing."""
    if scheme.fairness is None:
        return
    rows = value_added_rows(con, scheme, run_id)
    con.register("_va_rows", rows.to_arrow())
    try:
        con.execute("INSERT INTO run_value_added BY NAME SELECT * FROM _va_rows")
    finally:
        con.unregister("_va_rows")
