"""Scoring test helpers: a real database through `evaluator.store.connect`, rows inserted into the
raw tables, a real scheme built from small dicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from evaluator.scheme.dump import dump_scheme
from evaluator.scheme.loader import LoadedScheme, load_scheme_text
from evaluator.scheme.models import Scheme
from evaluator.scoring import score_run
from evaluator.store import connect
from evaluator.store.current import mark_superseded

DEMO_SCHEME = Path(__file__).resolve().parents[2] / "indicators/demo_township.yaml"


def scheme_variant(loaded: LoadedScheme, edit: str) -> LoadedScheme:
    """The scheme with its weights swapped (`edit="weights"`: the indicator level is reusable),
    two indicators' rules changed (`"rules"`: percentile within peer groups, z-score; only
    those two score again), its first indicator's transform changed (`"transform"`: its values
    change, everything scores again) or its first indicator's direction flipped (any other
    `edit`: that indicator scores again)."""
    data = loaded.scheme.model_dump(mode="json")
    first = data["dimensions"][0]["indicators"]
    if edit == "weights":
        first[0]["weight"], first[1]["weight"] = first[1]["weight"] + 1, first[0]["weight"]
        data["dimensions"][1]["weight"] += 5
        data["dimensions"][0]["weight"] -= 5
    elif edit == "rules":
        first[0]["rule"] = {"type": "percentile", "within": "peer_group", "ties": "min"}
        data["dimensions"][1]["indicators"][0]["rule"] = {"type": "zscore", "spread": 20}
    elif edit == "transform":
        first[0]["transform"] = {"floor": 0, "cap": 1e9}
    else:
        first[0]["direction"] = "lower" if first[0].get("direction") == "higher" else "higher"
    data.pop("total_points", None)
    for d in data["dimensions"]:
        d.pop("total_points", None)
    return load_scheme_text(dump_scheme(Scheme.model_validate(data)), f"{edit}.yaml")


def indicator(id: str, measure: str | None = None, rule: dict | None = None, **kw: Any) -> dict:
    return {
        "id": id, "name": {"zh": id, "en": id}, "evidence": kw.pop("evidence", "outcome"),
        "source": {"measure": measure or id, **kw.pop("source", {})},
        "rule": rule or {"type": "direct"}, **kw,
    }


def dimension(id: str, indicators: list[dict] | None = None, **kw: Any) -> dict:
    return {"id": id, "name": {"zh": id, "en": id}, "indicators": indicators or [], **kw}


def make_scheme(dimensions: list[dict], **top: Any) -> LoadedScheme:
    doc = {"id": "t", "name": {"zh": "测试", "en": "Test"}, "year": 2026,
           "unit_types": ["township"], "dimensions": dimensions, **top}
    scheme = Scheme.model_validate(doc)
    return LoadedScheme(scheme=scheme, path=Path("t.yaml"), text=json.dumps(doc), tree=None)


def one(rule: dict, **kw: Any) -> LoadedScheme:
    """A scheme with a single indicator `x` on measure `x`."""
    return make_scheme([dimension("d", [indicator("x", rule=rule, **kw)])])


def memory_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database with the real schema (fast; the CLI tests use files)."""
    c = connect(":memory:")
    yield c
    c.close()


def _batch(con: duckdb.DuckDBPyConnection, kind: str) -> int:
    row = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM load_batches").fetchall()
    batch = int(row[0][0])
    con.execute("INSERT INTO load_batches (batch_id, kind, file_name, checksum, status, loaded_at)"
                " VALUES (?, ?, 'test', ?, 'accepted', now())", [batch, kind, f"c{batch}"])
    return batch


def add_units(con, units: list[tuple[str, str | None]] | int, unit_type: str = "township"
              ) -> None:
    """Units as (unit_id, peer_group) pairs, or N units u01… without peer group."""
    if isinstance(units, int):
        units = [(f"u{i:02d}", None) for i in range(1, units + 1)]
    b = _batch(con, "units")
    con.executemany("INSERT INTO units (batch_id, unit_id, name, unit_type, peer_group) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [[b, u, f"Unit {u}", unit_type, g] for u, g in units])
    mark_superseded(con, "units", b)  # as ingest does


def add_values(con, measure: str, values: dict[str, float], period: str = "2026") -> None:
    b = _batch(con, "outcomes")
    con.executemany("INSERT INTO outcomes (batch_id, unit_id, period, year, measure, value) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [[b, u, period, int(period[:4]), measure, v] for u, v in values.items()])
    mark_superseded(con, "outcomes", b)  # as ingest does


def add_events(con, rows: list[tuple[str, str, float | None]], period: str = "2026") -> None:
    b = _batch(con, "events")
    con.executemany("INSERT INTO events (batch_id, unit_id, period, year, event, value) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [[b, u, period, int(period[:4]), e, v] for u, e, v in rows])


def add_targets(con, measure: str, targets: dict[str, float], period: str = "2026") -> None:
    b = _batch(con, "targets")
    con.executemany("INSERT INTO targets (batch_id, unit_id, period, year, measure, target) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [[b, u, period, int(period), measure, t] for u, t in targets.items()])
    mark_superseded(con, "targets", b)  # as ingest does


def run(con, loaded: LoadedScheme, period: str = "2026") -> tuple[str, pl.DataFrame, pl.DataFrame]:
    """Score; return run id, run_scores and run_indicator_scores (sorted by unit)."""
    run_id = score_run(con, loaded, period)
    scores = con.sql("SELECT * FROM run_scores WHERE run_id = ? ORDER BY unit_id",
                     params=[run_id]).pl()
    inds = con.sql("SELECT * FROM run_indicator_scores WHERE run_id = ? "
                   "ORDER BY unit_id, indicator_id", params=[run_id]).pl()
    return run_id, scores, inds


def col(frame: pl.DataFrame, name: str, where: dict[str, Any] | None = None) -> list[Any]:
    if where:
        for k, v in where.items():
            frame = frame.filter(pl.col(k) == v)
    return frame[name].to_list()


def approx(values: list[Any], expected: list[float | None], tol: float = 1e-9) -> bool:
    return len(values) == len(expected) and all(
        (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)
        for a, b in zip(values, expected, strict=True)
    )

