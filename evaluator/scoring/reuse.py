"""When indicator-level results can be reused: a weights-only change reruns the aggregation only.

Indicator scores (0–100: roll-ups, survey indices, imputation, transforms, rules) do not depend
on weights, grades or adjustments. The scheme editor's preview and `score_run` share this test:
every indicator must score from the same inputs (source, direction, transform, rule, missing
policy) under the same unit types and survey settings (`indicator_inputs`). When only some
indicators' rule or direction changed (`rule_changes`), their values are unchanged: only those
indicators are scored again (`rules.rescore_indicators`), then the aggregation runs. A stored
run also writes each indicator's evidence, dimension and position, reads the data as they are
now and is made by one code version, so its key (`run_key`) adds those and the period as its
scope: a partial match needs the same scope.

Across processes (`evaluator score` after a weights-only edit) the connection's tables are gone,
so a run also keeps them in the store, in schema `score_cache` (`store`, one table per cached
table beside one key row, replaced by the next run with another key): a new process whose key
matches reads them in place (temporary views), one whose key differs in rules only copies
them back (`prepare`). An upgraded evaluator never
reuses an older one's scores (the code version is in the scope). The cache is derived data,
never published in the dashboard snapshot; `forget` drops it (it is rebuilt by the next run).
"""

from __future__ import annotations

import json
from typing import Any

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import Engine, sql
from evaluator.scoring.rules import INDICATOR_SCORES, STATS
from evaluator.scoring.values import COVERAGE, META, REFS, SURVEY, UNITS

# Indicator fields its 0–100 score does not depend on (weights and labels act later).
NOT_INPUTS = frozenset({"name", "description", "weight", "department", "lint", "frequency",
                        "burden_minutes", "linked_outcomes", "evidence"})
#: the fields whose change rescores only that indicator: its values stay what they were
RULE_INPUTS = frozenset({"rule", "direction"})
KEY_TABLE = "_sc_reuse_key"
#: the indicator-level tables the aggregation and the run's rows read (SURVEY only when built)
CACHED = (UNITS, META, INDICATOR_SCORES, STATS, REFS, COVERAGE, SURVEY)
CACHE_SCHEMA = "score_cache"
STORED_KEY = f"{CACHE_SCHEMA}.reuse_key"


def indicator_inputs(scheme: Scheme) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what every indicator's score depends on, by id; the scheme-wide inputs)."""
    per = {i.id: i.model_dump(mode="json", exclude=set(NOT_INPUTS)) for i in scheme.indicators()}
    common = {"unit_types": scheme.unit_types, "survey": scheme.survey.model_dump(mode="json")}
    return per, common


Inputs = tuple[dict[str, Any], dict[str, Any]]


def rule_changes(old: Inputs, new: Inputs) -> frozenset[str] | None:
    """The indicators of `new` whose rule or direction alone differ from `old`'s: empty when
    none does (a weights-only change), None when anything else differs (an indicator `old`
    has not scored, another source, transform or missing policy, other scheme-wide inputs):
    then everything is scored again."""
    (old_per, old_common), (new_per, new_common) = old, new
    if old_common != new_common or not new_per.keys() <= old_per.keys():
        return None
    changed = set()
    for ind_id, inputs in new_per.items():
        if inputs == old_per[ind_id]:
            continue
        if _values_inputs(inputs) != _values_inputs(old_per[ind_id]):
            return None
        changed.add(ind_id)
    return frozenset(changed)


def _values_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k not in RULE_INPUTS}


def run_key(scheme: Scheme, period: str, data_version: str, code: str) -> str:
    """Everything a stored run's indicator-level tables depend on, as one string: the scope
    (period, data, each indicator's evidence and dimensions, code version) and the inputs."""
    placed = [[ind.id, ind.evidence.value, [d.id for d in chain]]
              for chain, ind in scheme.indicator_paths()]
    return json.dumps({"scope": [period, data_version, placed, code],
                       "inputs": list(indicator_inputs(scheme))},
                      sort_keys=True, ensure_ascii=False, default=str)


def key_rule_changes(old: str, new: str) -> frozenset[str] | None:
    """`rule_changes` between the inputs of two run keys of the same scope (else None)."""
    try:
        before, after = json.loads(old), json.loads(new)
    except ValueError:
        return None
    if not isinstance(before, dict) or before.get("scope") != after["scope"]:
        return None
    (old_per, old_common), (new_per, new_common) = before["inputs"], after["inputs"]
    return rule_changes((old_per, old_common), (new_per, new_common))


def data_version(engine: Engine) -> str:
    """Changes whenever what scoring reads could change: a new accepted batch, or temporary
    `current_*` views (a rerun's as-of reads) on this connection."""
    row = engine.fetch_polars(sql(
        "SELECT CAST(COUNT(*) AS VARCHAR) || '/' || CAST(COALESCE(MAX(batch_id), 0) AS VARCHAR) "
        "|| '/' || COALESCE((SELECT STRING_AGG(sql, ';' ORDER BY view_name) FROM duckdb_views() "
        "WHERE temporary AND view_name NOT IN :cached), '') AS v "
        "FROM load_batches WHERE status = 'accepted'", cached=list(CACHED)))
    return str(row["v"][0])


def cached_key(engine: Engine) -> str | None:
    """The key of the indicator-level tables left on this connection, if any."""
    if not engine.table_exists(KEY_TABLE):
        return None
    rows = engine.fetch_polars(sql(f"SELECT k FROM {KEY_TABLE}"))
    return str(rows["k"][0]) if rows.height else None


def remember(engine: Engine, key: str | None) -> None:
    """Record (or, with None, forget) the key of the indicator-level tables just built.
    Forgetting also drops the views `prepare` may have left (`release`): the tables are about
    to be built again, and a temporary table cannot replace a view."""
    engine.drop_temp(KEY_TABLE)
    if key is None and engine.SHARES_STORE:  # only a store-sharing engine reads in place
        release(engine)
    if key is not None:
        engine.create_temp(KEY_TABLE, sql("SELECT CAST(:k AS VARCHAR) AS k", k=key))


def _stored(name: str) -> str:
    """The persisted copy of temporary table `name` (`_sc_ind` → `score_cache.cache_sc_ind`):
    another name, so `table_exists` never mistakes it for the temporary table."""
    return f"{CACHE_SCHEMA}.cache{name}"


def _schema_exists(engine: Engine) -> bool:
    rows = engine.fetch_polars(sql(
        "SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = :s "
        "AND catalog_name = current_database()", s=CACHE_SCHEMA))
    return bool(rows["n"][0])


def stored_key(engine: Engine) -> str | None:
    """The key of the indicator-level tables kept in the store, if any."""
    if not _schema_exists(engine):
        return None
    rows = engine.fetch_polars(sql(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = :s "
        "AND table_name = 'reuse_key' AND table_catalog = current_database()", s=CACHE_SCHEMA))
    if not rows["n"][0]:
        return None
    keys = engine.fetch_polars(sql(f"SELECT k FROM {STORED_KEY}"))
    return str(keys["k"][0]) if keys.height else None


def store(engine: Engine, key: str) -> None:
    """Keep the indicator-level tables just built (`remember`ed under `key`) in the store.

    Call it inside the run's transaction: the cache then commits (or not) with the run. A no-op
    when the store already holds this key."""
    if stored_key(engine) == key:
        return
    engine.execute(sql(f"CREATE SCHEMA IF NOT EXISTS {CACHE_SCHEMA}"))
    engine.execute(sql(f"DELETE FROM {STORED_KEY}") if stored_key(engine) is not None
                   else sql(f"CREATE TABLE IF NOT EXISTS {STORED_KEY} (k VARCHAR)"))
    for name in CACHED:
        engine.execute(sql(f"DROP TABLE IF EXISTS {_stored(name)}"))
        if engine.table_exists(name):
            engine.execute(sql(f"CREATE TABLE {_stored(name)} AS SELECT * FROM {name}"))
    engine.execute(sql(f"INSERT INTO {STORED_KEY} VALUES (CAST(:k AS VARCHAR))", k=key))


def prepare(engine: Engine, key: str) -> frozenset[str] | None:
    """Make reusable indicator-level tables current for a run under `key`: those left on this
    connection, else those kept in the store. Returns the indicators the caller must score
    again (`rule_changes`; empty: none, only the aggregation runs), or None when nothing is
    reusable (a full run). Tables of the same key are preferred to a partial match.

    Kept tables of the same key are read in place (temporary views of the store's copies: a
    copy of the indicator rows was the longest step of a weights-only re-score); tables to be
    scored again in part are copied, since they are updated."""
    kept = [(k, on_connection) for k, on_connection in
            ((cached_key(engine), True), (stored_key(engine), False)) if k is not None]
    for exact in (True, False):
        for candidate, on_connection in kept:
            changed: frozenset[str] | None
            if exact:
                changed = frozenset() if candidate == key else None
            else:
                changed = key_rule_changes(candidate, key)
            if changed is None:
                continue
            if not on_connection or (changed and _views(engine)):
                _restore(engine, candidate, in_place=not changed)
            return changed
    return None


def _views(engine: Engine) -> list[str]:
    """The cached tables that are views of the store's copies on this connection."""
    found = engine.fetch_polars(sql(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name IN :names",
        names=list(CACHED)))
    return [str(v) for v in found["view_name"]]


def release(engine: Engine) -> None:
    """Drop the views `prepare` left for the cached tables."""
    for name in _views(engine):
        engine.execute(sql(f"DROP VIEW {name}"))


def _restore(engine: Engine, key: str, in_place: bool) -> None:
    """The stored indicator-level tables (kept under `key`) as this connection's: views of
    them (`in_place`) or copies."""
    remember(engine, None)
    kept = set(engine.fetch_polars(sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
        "AND table_catalog = current_database()", s=CACHE_SCHEMA))["table_name"].to_list())
    for name in CACHED:
        engine.drop_temp(name)
        if f"cache{name}" not in kept:
            continue  # a table the run did not build (no survey): absent here too
        if in_place:
            engine.execute(sql(f"CREATE TEMPORARY VIEW {name} AS SELECT * FROM {_stored(name)}"))
        else:
            engine.create_temp(name, sql(f"SELECT * FROM {_stored(name)}"))
    remember(engine, key)


def forget(engine: Engine) -> None:
    """Drop the indicator-level tables kept in the store (the next run rebuilds them)."""
    engine.execute(sql(f"DROP SCHEMA IF EXISTS {CACHE_SCHEMA} CASCADE"))
