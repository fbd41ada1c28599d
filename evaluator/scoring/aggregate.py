"""Step 3 — weighted aggregation up the tree, and contributions back down.

Each dimension (and the total, node `__total__`) aggregates its children that have a score and a
positive weight, with weights re-normalised over those children, for the units with enough own
data on it (values.COVERAGE: a unit without any is not scored on the node, nor on the total):
arithmetic Σ wᵢsᵢ / Σ wᵢ, geometric exp(Σ wᵢ ln sᵢ / Σ wᵢ) (0 when a child scores 0).
Weights are the `effective_local` shares of `weight_table` (trace policy applied) or, for the
"declared" ranking, the declared `local` shares. Levels run deepest first: a loop over tree
depth, never over data rows.

Contribution (points of the 0–100 total each node adds) is split top-down: at an arithmetic node
a child gets wᵢsᵢ / S of the node's points, at a geometric node wᵢ ln sᵢ / ln S (log shares,
which sum to one because ln S = Σ wᵢ ln sᵢ; when S ≤ 1 the split falls back to the weights).
So indicator contributions always sum to the total.

Every weighted sum adds in value order (`SUM(v ORDER BY v)`), so a node's score does not depend
on the order its children's rows arrive in: the same bits on every engine (docs/scale-out.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.scheme.models import Dimension, Scheme
from evaluator.scheme.weights import NodeWeight, weight_table
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.rules import INDICATOR_SCORES
from evaluator.scoring.values import COVERAGE, TOTAL_NODE

ROOT = TOTAL_NODE
WEIGHTS = "_sc_w"
SHARES = "_sc_shares2"


def weights_frame(scheme: Scheme, table: list[NodeWeight] | None = None) -> pl.DataFrame:
    """Every node with its parent, the parent's depth and aggregation, and both weight shares."""
    table = table if table is not None else weight_table(scheme)
    depth: dict[str, int] = {ROOT: -1}
    agg: dict[str, str] = {ROOT: scheme.aggregation.value}
    for dim in scheme.all_dimensions():
        agg[dim.id] = dim.aggregation.value
    by_id = {n.node_id: n for n in table}
    for n in table:  # file order: a parent precedes its children
        if n.kind == "dimension":
            depth[n.node_id] = depth[n.parent_id or ROOT] + 1
    rows = []
    for n in table:
        parent = n.parent_id or ROOT
        parent_effective = by_id[parent].effective if parent in by_id else 1.0
        rows.append({
            "node_id": n.node_id, "kind": n.kind, "parent_id": parent,
            "p_depth": depth[parent], "p_agg": agg[parent],
            # a parent without effective weight still gets a score, under declared shares
            "w_eff": n.effective_local if parent_effective > 0 else n.local,
            "w_decl": n.local, "declared": n.declared, "effective": n.effective,
            "evidence": n.evidence.value if n.evidence is not None else None,
        })
    return pl.DataFrame(rows, schema={
        "node_id": pl.String, "kind": pl.String, "parent_id": pl.String, "p_depth": pl.Int64,
        "p_agg": pl.String, "w_eff": pl.Float64, "w_decl": pl.Float64, "declared": pl.Float64,
        "effective": pl.Float64, "evidence": pl.String,
    })


def max_depth(scheme: Scheme) -> int:
    """Depth of the deepest dimension (top-level dimensions have depth 0)."""
    def depth(dim: Dimension, d: int) -> int:
        return max([d, *(depth(s, d + 1) for s in dim.dimensions)])
    return max(depth(d, 0) for d in scheme.dimensions)


def aggregate(engine: Engine, scheme: Scheme, weight: str) -> str:
    """Scores of every node for every unit under weight column `weight` (w_eff | w_decl)."""
    table = f"_sc_nodes_{weight}"
    create_temp(engine, table, sql(
        f"SELECT unit_id, indicator_id AS node_id, score FROM {INDICATOR_SCORES}"))
    for d in range(max_depth(scheme), -2, -1):
        engine.append_temp(table, sql(
            f"""
            SELECT unit_id, node_id,
                   CASE WHEN MAX(p_agg) = 'geometric' THEN
                        CASE WHEN MIN(score) <= 0 THEN 0.0
                             ELSE EXP(SUM(wl ORDER BY wl) / SUM(wt ORDER BY wt)) END
                        ELSE SUM(ws ORDER BY ws) / SUM(wt ORDER BY wt) END AS score
            FROM (SELECT n.unit_id, w.parent_id AS node_id, w.p_agg, n.score, w.{weight} AS wt,
                         w.{weight} * n.score AS ws,
                         w.{weight} * LN(CASE WHEN n.score > 0 THEN n.score END) AS wl
                  FROM {table} n JOIN {WEIGHTS} w ON w.node_id = n.node_id
                  JOIN {COVERAGE} c ON c.unit_id = n.unit_id AND c.node_id = w.parent_id
                  WHERE w.p_depth = :depth AND n.score IS NOT NULL AND w.{weight} > 0
                        AND c.covered) AS x
            GROUP BY unit_id, node_id
            """,
            depth=d,
        ))
    return table


@dataclass(frozen=True)
class Contributions:
    """Tables of `contributions`: `shares` (unit, node, w_norm, share) and `points`."""

    shares: str
    points: str


def contributions(engine: Engine, scheme: Scheme, nodes: str) -> Contributions:
    """Per unit and node: re-normalised local weight, share of the parent's points, points."""
    create_temp(engine, "_sc_shares", sql(
        f"""
        WITH c AS (
            SELECT n.unit_id, n.node_id, w.parent_id, w.p_depth, n.score, w.w_eff,
                   p.score AS parent_score, w.p_agg
            FROM {nodes} n
            JOIN {WEIGHTS} w ON w.node_id = n.node_id
            JOIN {nodes} p ON p.unit_id = n.unit_id AND p.node_id = w.parent_id
            WHERE n.score IS NOT NULL AND w.w_eff > 0),
        t AS (  -- the weights of the children scored, added in value order
            SELECT unit_id, parent_id, SUM(w_eff ORDER BY w_eff) AS w_total
            FROM c GROUP BY unit_id, parent_id)
        SELECT c.unit_id, c.node_id, c.parent_id, c.p_depth, c.score,
               c.w_eff / t.w_total AS w_norm, c.parent_score, c.p_agg
        FROM c JOIN t ON t.unit_id = c.unit_id AND t.parent_id = c.parent_id
        """
    ))
    create_temp(engine, SHARES, sql(
        """
        SELECT *,
               CASE WHEN p_agg = 'geometric' THEN
                        CASE WHEN parent_score > 1 THEN w_norm * LN(GREATEST(score, 1e-300))
                                                        / LN(parent_score)
                             ELSE w_norm END
                    ELSE CASE WHEN parent_score > 0 THEN w_norm * score / parent_score
                              ELSE w_norm END END AS share
        FROM _sc_shares
        """
    ))
    table = "_sc_contrib"
    create_temp(engine, table, sql(
        f"SELECT unit_id, node_id, score AS points FROM {nodes} WHERE node_id = :root",
        root=ROOT,
    ))
    for d in range(-1, max_depth(scheme) + 1):
        engine.append_temp(table, sql(
            f"""
            SELECT c.unit_id, s.node_id, c.points * s.share
            FROM {table} c JOIN {SHARES} s ON s.unit_id = c.unit_id AND s.parent_id = c.node_id
            WHERE s.p_depth = :depth
            """,
            depth=d,
        ))
    return Contributions(shares=SHARES, points=table)
