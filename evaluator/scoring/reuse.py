"""When indicator-level results can be reused: a weights-only change reruns the aggregation only.

Indicator scores (0–100: roll-ups, survey indices, imputation, transforms, rules) do not depend
on weights, grades or adjustments. The scheme editor's preview and `score_run` share this test:
every indicator must score from the same inputs (source, direction, transform, rule, missing
policy) under the same unit types and survey settings (`indicator_inputs`). A stored run also
writes each indicator's evidence, dimension and position, and reads the data as they are now, so
its key (`run_key`) adds those, the period and the store's data version.
"""

from __future__ import annotations

import json
from typing import Any

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import Engine, sql

# Indicator fields its 0–100 score does not depend on (weights and labels act later).
NOT_INPUTS = frozenset({"name", "description", "weight", "department", "lint", "frequency",
                        "burden_minutes", "linked_outcomes", "evidence"})
KEY_TABLE = "_sc_reuse_key"


def indicator_inputs(scheme: Scheme) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what every indicator's score depends on, by id; the scheme-wide inputs)."""
    per = {i.id: i.model_dump(mode="json", exclude=set(NOT_INPUTS)) for i in scheme.indicators()}
    common = {"unit_types": scheme.unit_types, "survey": scheme.survey.model_dump(mode="json")}
    return per, common


def run_key(scheme: Scheme, period: str, data_version: str) -> str:
    """Everything a stored run's indicator-level tables depend on, as one string."""
    per, common = indicator_inputs(scheme)
    placed = [[ind.id, ind.evidence.value, [d.id for d in chain]]
              for chain, ind in scheme.indicator_paths()]
    return json.dumps([period, data_version, per, common, placed], sort_keys=True,
                      ensure_ascii=False, default=str)


def data_version(engine: Engine) -> str:
    """Changes whenever what scoring reads could change: a new accepted batch, or temporary
    `current_*` views (a rerun's as-of reads) on this connection."""
    row = engine.fetch_polars(sql(
        "SELECT CAST(COUNT(*) AS VARCHAR) || '/' || CAST(COALESCE(MAX(batch_id), 0) AS VARCHAR) "
        "|| '/' || COALESCE((SELECT STRING_AGG(sql, ';' ORDER BY view_name) FROM duckdb_views() "
        "WHERE temporary), '') AS v FROM load_batches WHERE status = 'accepted'"))
    return str(row["v"][0])


def cached_key(engine: Engine) -> str | None:
    """The key of the indicator-level tables left on this connection, if any."""
    if not engine.table_exists(KEY_TABLE):
        return None
    rows = engine.fetch_polars(sql(f"SELECT k FROM {KEY_TABLE}"))
    return str(rows["k"][0]) if rows.height else None


def remember(engine: Engine, key: str | None) -> None:
    """Record (or, with None, forget) the key of the indicator-level tables just built."""
    engine.drop_temp(KEY_TABLE)
    if key is not None:
        engine.create_temp(KEY_TABLE, sql("SELECT CAST(:k AS VARCHAR) AS k", k=key))
