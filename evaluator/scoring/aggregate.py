"""Step 3 — weighted aggregation up the tree, and contributions back down.

Each dimension (and the total, node `__total__`) aggregates its children that have a score and a
positive weight, with weights re-normalised over those children, for the units with enough own
data on it (values.COVERAGE: a unit without any is not scored on the node, nor on the total):
arithmetic Σ wᵢsᵢ / Σ wᵢ, geometric exp(Σ wᵢ ln sᵢ / Σ wᵢ) (0 when a child scores 0).
A node's `min_coverage` withholds its score from a unit with fewer than ⌈min_coverage · n⌉ of
its n children (of positive weight) scored, so one component of three never makes an index.
Weights are the `effective_local` shares of `weight_table` (trace policy applied) or, for the
"declared" ranking, the declared `local` shares. Levels run deepest first: a loop over tree
depth, never over data rows.

Contribution (points of the 0–100 total each node adds) is split top-down: at an arithmetic node
a child gets wᵢsᵢ / S of the node's points, at a geometric node wᵢ ln sᵢ / ln S (log shares,
which sum to one because ln S = Σ wᵢ ln sᵢ; when S ≤ 1 the split falls back to the weights).
So indicator contributions always sum to the total.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.scheme.models import Aggregation, Dimension, Scheme
from evaluator.scheme.weights import NodeWeight, weight_table
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.rules import INDICATOR_SCORES
from evaluator.scoring.values import COVERAGE, META, TOTAL_NODE, UNITS

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
    frame = pl.DataFrame(rows, schema={
        "node_id": pl.String, "kind": pl.String, "parent_id": pl.String, "p_depth": pl.Int64,
        "p_agg": pl.String, "w_eff": pl.Float64, "w_decl": pl.Float64, "declared": pl.Float64,
        "effective": pl.Float64, "evidence": pl.String,
    })
    frame = with_needed_children(frame, node_min_coverage(scheme))
    if not uses_other_means(scheme):
        return frame
    power = {ROOT: scheme.power, **{d.id: d.power for d in scheme.all_dimensions()}}
    order = {n: i for i, n in enumerate(d.id for d in scheme.dimensions)}
    for dim in scheme.all_dimensions():
        order.update({c: i for i, c in enumerate(
            [*(i.id for i in dim.indicators), *(d.id for d in dim.dimensions)])})
    return frame.with_columns(
        p_power=pl.col("parent_id").replace_strict(power, default=None, return_dtype=pl.Float64),
        sib_ord=pl.col("node_id").replace_strict(order, return_dtype=pl.Int64))


CLASSIC = frozenset({Aggregation.arithmetic, Aggregation.geometric})


def aggregations(scheme: Scheme) -> set[Aggregation]:
    """The means the scheme's nodes use."""
    return {scheme.aggregation, *(d.aggregation for d in scheme.all_dimensions())}


def uses_other_means(scheme: Scheme) -> bool:
    """Whether any node aggregates other than arithmetic/geometric (see `other_means_level`)."""
    return bool(aggregations(scheme) - CLASSIC)


def node_min_coverage(scheme: Scheme) -> dict[str, float]:
    """Each node's `min_coverage` (the total's is the scheme's)."""
    return {ROOT: float(scheme.min_coverage),
            **{d.id: float(d.min_coverage) for d in scheme.all_dimensions()}}


def with_needed_children(frame: pl.DataFrame, min_cov: dict[str, float]) -> pl.DataFrame:
    """`p_need_w_eff` / `p_need_w_decl`: how many of the parent's children of positive weight
    (under that weight column) must have a score: ⌈min_coverage · n⌉ (a tolerance keeps
    2/3 · 3 at 2). Scheme metadata, one row per node: no data is read here."""
    cov = pl.col("parent_id").replace_strict(min_cov, default=0.0, return_dtype=pl.Float64)
    need = {
        f"p_need_{w}": (cov * (pl.col(w) > 0).cast(pl.Float64).sum().over("parent_id") - 1e-9)
        .ceil().clip(lower_bound=0).cast(pl.Int64)
        for w in ("w_eff", "w_decl")
    }
    return frame.with_columns(**need)


def max_depth(scheme: Scheme) -> int:
    """Depth of the deepest dimension (top-level dimensions have depth 0)."""
    def depth(dim: Dimension, d: int) -> int:
        return max([d, *(depth(s, d + 1) for s in dim.dimensions)])
    return max(depth(d, 0) for d in scheme.dimensions)


NUMBERED = "_sc_w_ix"  # WEIGHTS with each node's and its parent's number
UNCOVERED = "_sc_uncovered"  # (unit, node) numbers a node's score is withheld from


def number_nodes(engine: Engine) -> None:
    """`NUMBERED`: `WEIGHTS` with `node_ix` and `parent_ix`. Indicators have the numbers their
    rows carry (`META`'s, so a draft that drops or moves indicators still matches them),
    dimensions count down from -1 in id order, the total is 0."""
    create_temp(engine, NUMBERED, sql(
        f"""
        WITH ix AS (
            SELECT indicator_id AS node_id, node_ix AS ix FROM {META}
            UNION ALL
            SELECT node_id, -CAST(ROW_NUMBER() OVER (ORDER BY node_id) AS INTEGER)
            FROM {WEIGHTS} WHERE kind = 'dimension'
            UNION ALL
            SELECT CAST(:root AS VARCHAR), 0)
        SELECT w.*, n.ix AS node_ix, p.ix AS parent_ix
        FROM {WEIGHTS} w JOIN ix n ON n.node_id = w.node_id JOIN ix p ON p.node_id = w.parent_id
        """, root=ROOT))


def node_rows(table: str) -> str:
    """Every node's rows as one relation: the indicators' (read where they are, in
    `INDICATOR_SCORES`) then the aggregated ones of `table` (`aggregate`'s result)."""
    return (f"(SELECT unit_id, indicator_id AS node_id, score, unit_ix, node_ix, "
            f"CAST(NULL AS DOUBLE) AS weight_sum FROM {INDICATOR_SCORES} "
            f"UNION ALL SELECT * FROM {table})")


def aggregate(engine: Engine, scheme: Scheme, weight: str) -> str:
    """The scores of every dimension and the total for every unit under weight column
    `weight` (w_eff | w_decl): a table of (unit_id, node_id, score, unit_ix, node_ix,
    weight_sum), where `weight_sum` is the node's children's weight its mean divided by
    (`contributions` divides by it too). `node_rows` adds the indicators' rows.

    Levels join and group on the units' and nodes' numbers: on text keys the indicator level
    took 2.5× as long. The indicator rows are read in place, not copied (0.3 s per call at
    province). One thread (`Engine.session`) makes the order rows reach each sum, and so every
    last digit, the same from run to run; a different plan may change that order (and the last
    digits) from one evaluator version to the next (docs/scoring.md, "Rebuilding a run")."""
    table = f"_sc_nodes_{weight}"
    number_nodes(engine)
    create_temp(engine, table, sql(
        f"SELECT unit_id, indicator_id AS node_id, score, unit_ix, node_ix, "
        f"CAST(NULL AS DOUBLE) AS weight_sum FROM {INDICATOR_SCORES} LIMIT 0"))
    nodes = node_rows(table)
    mean = f"SUM(w.{weight} * n.score) / SUM(w.{weight})"
    if Aggregation.geometric in aggregations(scheme):
        mean = f"""CASE WHEN MAX(w.p_agg) = 'geometric' THEN
                        CASE WHEN MIN(n.score) <= 0 THEN 0.0
                             ELSE EXP(SUM(w.{weight} * LN(CASE WHEN n.score > 0 THEN n.score END))
                                      / SUM(w.{weight})) END
                        ELSE {mean} END"""
    parents = f"(SELECT DISTINCT parent_id AS node_id, parent_ix AS node_ix FROM {NUMBERED})"
    # the few (unit, node) pairs without enough own data, and nodes `COVERAGE` does not know (a
    # draft's new dimension): a group is kept unless it is one of them. An anti-join with
    # this small table instead of a join with all of `COVERAGE` (a third of the level's time)
    create_temp(engine, UNCOVERED, sql(
        f"""
        SELECT u.unit_ix, p.node_ix FROM {COVERAGE} c
        JOIN {UNITS} u ON u.unit_id = c.unit_id JOIN {parents} p ON p.node_id = c.node_id
        WHERE NOT c.covered
        UNION ALL
        SELECT u.unit_ix, p.node_ix FROM {UNITS} u CROSS JOIN {parents} p
        WHERE p.node_id NOT IN (SELECT DISTINCT node_id FROM {COVERAGE})
        """))
    children = f"""FROM {nodes} n JOIN {NUMBERED} w ON w.node_ix = n.node_ix
                   WHERE w.p_depth = :depth AND n.score IS NOT NULL AND w.{weight} > 0"""
    for d in range(max_depth(scheme), -2, -1):
        if uses_other_means(scheme):
            engine.append_temp(table, sql(
                f"""
                SELECT o.unit_id, o.node_id, o.score, u.unit_ix, p.node_ix, s.weight_sum
                FROM ({other_means_level(nodes, weight)}) o
                JOIN {UNITS} u ON u.unit_id = o.unit_id JOIN {parents} p ON p.node_id = o.node_id
                JOIN (SELECT n.unit_ix, w.parent_ix, SUM(w.{weight}) AS weight_sum {children}
                      GROUP BY n.unit_ix, w.parent_ix) s
                  ON s.unit_ix = u.unit_ix AND s.parent_ix = p.node_ix
                """, depth=d))
            continue
        # coverage is the same for all of a group's rows: checked on the groups, not the rows
        engine.append_temp(table, sql(
            f"""
            SELECT u.unit_id, p.node_id, g.score, g.unit_ix, g.node_ix, g.weight_sum FROM (
                SELECT n.unit_ix, w.parent_ix AS node_ix, {mean} AS score,
                       SUM(w.{weight}) AS weight_sum
                {children}
                GROUP BY n.unit_ix, w.parent_ix
                HAVING COUNT(*) >= MAX(w.p_need_{weight})
            ) g JOIN {UNITS} u ON u.unit_ix = g.unit_ix JOIN {parents} p ON p.node_ix = g.node_ix
            WHERE NOT EXISTS (SELECT 1 FROM {UNCOVERED} x
                              WHERE x.unit_ix = g.unit_ix AND x.node_ix = g.node_ix)
            """,
            depth=d,
        ))
    return table


def other_means_level(table: str, weight: str, coverage: str = COVERAGE,
                      by: tuple[str, ...] = ()) -> str:
    """One level of the tree when some node uses another mean (harmonic, generalised, median,
    Mazziotta–Pareto, ratio): the children of each unit and parent with their running weight
    (for the median) first, then one CASE arm per aggregation. Only schemes using these run
    this query, so the arithmetic/geometric trees of every other scheme stay as they were.
    `by`: further key columns of `table` computed apart (the bootstrap's `rep`); `coverage`:
    the unit × node table with a `covered` column."""
    nkeys, kkeys = ("".join(f"{a}.{c}, " for c in by) for a in ("n", "k"))
    m = "SUM(k.wt * k.score) / SUM(k.wt)"  # the weighted mean, M
    q = "SUM(k.wt * k.score * k.score) / SUM(k.wt)"  # the weighted mean of squares
    half = "k.tot / 2.0"
    return f"""
        SELECT * FROM (
        SELECT {kkeys}k.unit_id, k.node_id,
               CASE WHEN MAX(k.p_agg) = 'geometric' THEN
                        CASE WHEN MIN(k.score) <= 0 THEN 0.0
                             ELSE EXP(SUM(k.wt * LN(CASE WHEN k.score > 0 THEN k.score END))
                                      / SUM(k.wt)) END
                    WHEN MAX(k.p_agg) = 'harmonic' THEN
                        CASE WHEN MIN(k.score) <= 0 THEN 0.0
                             ELSE SUM(k.wt) / SUM(k.wt / k.score) END
                    WHEN MAX(k.p_agg) = 'generalised' THEN
                        CASE WHEN MAX(k.p_power) < 0 AND MIN(k.score) <= 0 THEN 0.0
                             ELSE POWER(SUM(k.wt * POWER(GREATEST(k.score, 0.0), k.p_power))
                                        / SUM(k.wt), 1.0 / MAX(k.p_power)) END
                    WHEN MAX(k.p_agg) = 'median' THEN
                        CASE WHEN ABS(MIN(CASE WHEN k.cum >= {half} - 1e-12 * k.tot THEN k.cum END)
                                      - MAX({half})) <= 1e-12 * MAX(k.tot)
                             THEN (MIN(CASE WHEN k.cum >= {half} - 1e-12 * k.tot THEN k.score END)
                                   + MIN(CASE WHEN k.cum > {half} + 1e-12 * k.tot
                                              THEN k.score END)) / 2.0
                             ELSE MIN(CASE WHEN k.cum >= {half} - 1e-12 * k.tot
                                           THEN k.score END) END
                    WHEN MAX(k.p_agg) = 'mazziotta_pareto' THEN
                        CASE WHEN {m} <= 0 THEN 0.0
                             ELSE GREATEST({m} - GREATEST({q} - {m} * {m}, 0.0) / ({m}), 0.0)
                             END
                    WHEN MAX(k.p_agg) = 'ratio' THEN
                        100.0 * MAX(CASE WHEN k.sib_ord = 0 THEN k.score END)
                        / NULLIF(MAX(CASE WHEN k.sib_ord = 1 THEN k.score END), 0)
                    ELSE {m} END AS score
        FROM (
            SELECT {nkeys}n.unit_id, w.parent_id AS node_id, n.score, w.{weight} AS wt,
                   w.p_agg, w.p_power, w.sib_ord, w.p_need_{weight} AS need,
                   SUM(w.{weight}) OVER (PARTITION BY {nkeys}n.unit_id, w.parent_id
                                         ORDER BY n.score, n.node_id ROWS BETWEEN UNBOUNDED
                                         PRECEDING AND CURRENT ROW) AS cum,
                   SUM(w.{weight}) OVER (PARTITION BY {nkeys}n.unit_id, w.parent_id) AS tot
            FROM {table} n JOIN {WEIGHTS} w ON w.node_id = n.node_id
            JOIN {coverage} c ON c.unit_id = n.unit_id AND c.node_id = w.parent_id
            WHERE w.p_depth = :depth AND n.score IS NOT NULL AND w.{weight} > 0 AND c.covered
        ) k
        GROUP BY {kkeys}k.unit_id, k.node_id
        HAVING COUNT(*) >= MAX(k.need)
        ) WHERE score IS NOT NULL
        """


@dataclass(frozen=True)
class Contributions:
    """Tables of `contributions`, keyed by unit and node number (`unit_ix`, `node_ix`):
    `shares` (with `parent_ix`, `p_depth`, `w_norm`, `share`) and `points`."""

    shares: str
    points: str


def contributions(engine: Engine, scheme: Scheme, nodes: str, *,
                  indicator_points: bool = True) -> Contributions:
    """Per unit and node: re-normalised local weight (its weight over the parent's
    `weight_sum`, the very sum the parent's mean divided by), share of the parent's points,
    points. `indicator_points=False` leaves the indicators out of `points` (2.4 M of its 2.7 M
    rows at province) for a caller that multiplies their parent's points by their share."""
    over = "PARTITION BY unit_ix, parent_ix"
    other = (f"WHEN p_agg NOT IN ('arithmetic', 'geometric') THEN "
             f"CASE WHEN SUM(w_norm * score) OVER ({over}) > 0 "
             f"THEN w_norm * score / SUM(w_norm * score) OVER ({over}) "
             f"ELSE w_norm END") if uses_other_means(scheme) else ""
    create_temp(engine, SHARES, sql(
        f"""
        SELECT unit_ix, node_ix, parent_ix, p_depth, w_norm,
               CASE {other} WHEN p_agg = 'geometric' THEN
                        CASE WHEN parent_score > 1 THEN w_norm * LN(GREATEST(score, 1e-300))
                                                        / LN(parent_score)
                             ELSE w_norm END
                    ELSE CASE WHEN parent_score > 0 THEN w_norm * score / parent_score
                              ELSE w_norm END END AS share
        FROM (
            SELECT n.unit_ix, n.node_ix, w.parent_ix, w.p_depth, n.score,
                   w.w_eff / p.weight_sum AS w_norm, p.score AS parent_score, w.p_agg
            FROM {node_rows(nodes)} n
            JOIN {NUMBERED} w ON w.node_ix = n.node_ix
            JOIN {nodes} p ON p.unit_ix = n.unit_ix AND p.node_ix = w.parent_ix
            WHERE n.score IS NOT NULL AND w.w_eff > 0)
        """
    ))
    table = "_sc_contrib"
    create_temp(engine, table, sql(
        f"SELECT unit_ix, node_ix, score AS points FROM {nodes} WHERE node_id = :root", root=ROOT,
    ))
    for d in range(-1, max_depth(scheme) + 1):
        engine.append_temp(table, sql(
            f"""
            SELECT s.unit_ix, s.node_ix, c.points * s.share
            FROM {table} c JOIN {SHARES} s ON s.unit_ix = c.unit_ix AND s.parent_ix = c.node_ix
            WHERE s.p_depth = :depth AND (:all OR s.node_ix <= 0)
            """,
            depth=d, all=indicator_points,
        ))
    return Contributions(shares=SHARES, points=table)
