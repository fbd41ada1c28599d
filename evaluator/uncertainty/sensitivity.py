"""Weight sensitivity of a stored run (COINr-style), vectorised over draws in numpy.

From the run's stored indicator scores, D draws re-aggregate the tree with other weights and,
optionally, another aggregation per node:

* weights: each local weight × U(1 − r, 1 + r) (`weight_range` r), or a Dirichlet around the
  declared sibling shares (`dirichlet`, α = concentration × share);
* aggregation: each node's declared mean (arithmetic, geometric, harmonic, generalised,
  weighted median, Mazziotta–Pareto, ratio: the formulas of `scoring.aggregate`, with its
  `min_coverage`); with `vary_aggregation`, each node but a ratio of each draw is arithmetic or
  geometric with probability ½.

Each draw goes through the run's adjustments, rounding, ranking and grades (thresholds, veto
caps, quotas) so a draw is the run as it would have come out under those weights. Per unit:
median rank, 5–95% range, and grade stability (the share of draws keeping the run's grade).
Leave-one-out drops one indicator at a time (weights as declared): mean and largest |Δrank| and
Spearman's ρ with the run's ranking. The only loops are over the tree's nodes, the grade bands
and chunks of draws; every unit and every draw is an array axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from evaluator.scheme.models import Scheme, UncertaintySettings
from evaluator.scoring import aggregate as agg

CHUNK = 128  # draws computed at once (memory: CHUNK × units × children floats per node)
FIRM = 0.9  # a grade kept in at least this share of draws is "firm"


@dataclass(frozen=True)
class RunArrays:
    """A run's scores as arrays: units on axis 0 (run order), indicators on axis 1."""

    unit_ids: list[str]
    indicator_ids: list[str]
    scores: np.ndarray  # units × indicators, NaN where the run has no score
    covered: dict[str, np.ndarray]  # node → bool per unit (the run scored the unit there)
    bonus: np.ndarray
    deduction: np.ndarray
    veto_max: np.ndarray  # NaN: no score cap
    veto_ord: np.ndarray  # -1: no grade cap
    rank: np.ndarray
    grade_ord: np.ndarray


def load_arrays(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str) -> RunArrays:
    """The run's stored rows as arrays (units the run scored only)."""
    order = {g.code: i for i, g in enumerate(scheme.grades)}
    vetoes = {v.id: v for v in scheme.vetoes}
    units = con.sql(
        "SELECT unit_id, bonus, deduction, veto, rank, grade FROM run_scores "
        "WHERE run_id = ? AND score IS NOT NULL ORDER BY rank, unit_id", params=[run_id]).pl()
    ids = units["unit_id"].to_list()
    inds = [i.id for i in scheme.indicators()]
    long = con.sql(
        "SELECT unit_id, indicator_id, score FROM run_indicator_scores WHERE run_id = ?",
        params=[run_id]).pl()
    wide = (pl.DataFrame({"unit_id": ids}).join(
        long.pivot(on="indicator_id", index="unit_id", values="score"), on="unit_id",
        how="left"))
    scores = np.column_stack([
        wide[i].cast(pl.Float64).fill_null(np.nan).to_numpy() if i in wide.columns
        else np.full(len(ids), np.nan) for i in inds]) if inds else np.empty((len(ids), 0))
    dims = con.sql(
        "SELECT unit_id, dimension_id FROM run_dimension_scores WHERE run_id = ? "
        "AND score IS NOT NULL", params=[run_id]).pl()
    index = {u: k for k, u in enumerate(ids)}
    covered: dict[str, np.ndarray] = {agg.ROOT: np.ones(len(ids), dtype=bool)}
    for node, group in dims.group_by("dimension_id"):
        mask = np.zeros(len(ids), dtype=bool)
        mask[[index[u] for u in group["unit_id"] if u in index]] = True
        covered[str(node[0])] = mask

    def veto(codes: str | None) -> tuple[float, int]:
        items = [vetoes[c] for c in (codes or "").split(",") if c in vetoes]
        caps = [v.max_score for v in items if v.max_score is not None]
        return (min(caps) if caps else np.nan,
                max((order[v.max_grade] for v in items), default=-1))

    caps = [veto(v) for v in units["veto"].to_list()]  # one per veto code list, not per row
    return RunArrays(
        unit_ids=ids, indicator_ids=inds, scores=scores, covered=covered,
        bonus=units["bonus"].fill_null(0.0).to_numpy(),
        deduction=units["deduction"].fill_null(0.0).to_numpy(),
        veto_max=np.array([c[0] for c in caps], dtype=float),
        veto_ord=np.array([c[1] for c in caps], dtype=int),
        rank=units["rank"].to_numpy(),
        grade_ord=np.array([order.get(g, len(order) - 1) for g in units["grade"].to_list()]),
    )


@dataclass(frozen=True)
class Tree:
    """The dimension tree as arrays: nodes deepest first, each with its children's positions."""

    nodes: list[str]  # dimensions and the total, deepest level first
    children: dict[str, list[str]]  # in sibling order (a ratio's first child over its second)
    weight: dict[str, float]  # local effective weight of every node (indicator or dimension)
    method: dict[str, str]  # the scheme's own aggregation of each parent
    power: dict[str, float]  # the exponent of a generalised mean (NaN for the others)
    min_coverage: dict[str, float]  # each parent's `min_coverage`


def tree(scheme: Scheme) -> Tree:
    frame = agg.weights_frame(scheme)
    if "sib_ord" in frame.columns:  # a ratio reads its children in sibling order
        frame = frame.sort("sib_ord", maintain_order=True)
    children: dict[str, list[str]] = {}
    depth: dict[str, int] = {}
    weight: dict[str, float] = {}
    method: dict[str, str] = {}
    power: dict[str, float] = {}
    for row in frame.iter_rows(named=True):  # one row per scheme node
        children.setdefault(row["parent_id"], []).append(row["node_id"])
        depth[row["parent_id"]] = row["p_depth"]
        weight[row["node_id"]] = row["w_eff"]
        method[row["parent_id"]] = row["p_agg"]
        p = row.get("p_power")
        power[row["parent_id"]] = float(p) if p is not None else float("nan")
    nodes = sorted(children, key=lambda n: -depth[n])
    return Tree(nodes=nodes, children=children, weight=weight, method=method, power=power,
                min_coverage=agg.node_min_coverage(scheme))


def draw_weights(t: Tree, draws: int, rng: np.random.Generator, spread: float,
                 kind: str, concentration: float) -> dict[str, np.ndarray]:
    """Per node, a (draws,) array of local weights."""
    out: dict[str, np.ndarray] = {}
    for parent in t.nodes:
        kids = t.children[parent]
        base = np.array([t.weight[k] for k in kids])
        if kind == "dirichlet" and spread > 0 and base.sum() > 0:
            share = base / base.sum()
            w = np.zeros((draws, len(kids)))
            pos = share > 0
            w[:, pos] = rng.dirichlet(concentration * share[pos], size=draws)
        else:
            w = base * rng.uniform(1 - spread, 1 + spread, size=(draws, len(kids)))
        for j, k in enumerate(kids):
            out[k] = w[:, j]
    return out


def node_mean(method: str, x: np.ndarray, w: np.ndarray, present: np.ndarray,
              power: float, den: np.ndarray) -> np.ndarray:
    """One aggregation over the last axis (children) of draws × units × children, as
    `scoring.aggregate` computes it (docs/scheme.md): `x` is 0 and `w` 0 where a child is not
    `present`; `den` is Σ w; where no child is present the result is masked by the caller."""
    if method in ("geometric", "harmonic", "generalised"):
        nonpos = (present & (x <= 0)).any(axis=-1)
    if method == "geometric":
        logs = np.where(present & (x > 0), np.log(np.where(x > 0, x, 1.0)), 0.0)
        return np.where(nonpos, 0.0, np.exp((w * logs).sum(axis=-1) / den))
    if method == "harmonic":
        inv = np.where(present & (x > 0), w / np.where(x > 0, x, 1.0), 0.0).sum(axis=-1)
        return np.where(nonpos, 0.0, den / inv)
    if method == "generalised":
        base = np.where(present, np.maximum(x, 0.0), 1.0)
        out = ((w * base ** power).sum(axis=-1) / den) ** (1.0 / power)
        return np.where(nonpos, 0.0, out) if power < 0 else out
    mean = (w * x).sum(axis=-1) / den
    if method == "mazziotta_pareto":
        var = np.maximum((w * x * x).sum(axis=-1) / den - mean * mean, 0.0)
        return np.where(mean <= 0, 0.0, np.maximum(mean - var / mean, 0.0))
    if method == "median":  # the first child whose running weight reaches W/2 (ties: a mean)
        order = np.argsort(np.where(present, x, np.inf), axis=-1, kind="stable")
        xs = np.take_along_axis(x, order, axis=-1)
        cum = np.cumsum(np.take_along_axis(w, order, axis=-1), axis=-1)
        half, tol = cum[..., -1:] / 2.0, 1e-12 * cum[..., -1:]
        i1 = np.argmax(cum >= half - tol, axis=-1)[..., None]
        i2 = np.argmax(cum > half + tol, axis=-1)[..., None]
        s1, s2 = np.take_along_axis(xs, i1, -1), np.take_along_axis(xs, i2, -1)
        exact = np.abs(np.take_along_axis(cum, i1, -1) - half) <= tol
        return np.where(exact, (s1 + s2) / 2.0, s1)[..., 0]
    if method == "ratio":  # 100 · first / second child; no score without both or at s₂ = 0
        first = np.where(present[..., 0], x[..., 0], np.nan)
        second = np.where(present[..., 1], x[..., 1], np.nan)
        return np.where(second == 0, np.nan, 100.0 * first / np.where(second == 0, 1.0, second))
    return mean


def aggregate(run: RunArrays, t: Tree, weights: dict[str, np.ndarray],
              methods: dict[str, np.ndarray]) -> np.ndarray:
    """Total (0–100) per draw × unit: the run's tree with these weights and, per node, these
    aggregations (a (draws,) array of method names). A node is scored where the run scored the
    unit there and at least ⌈min_coverage · n⌉ of its n children of positive weight are."""
    draws = next(iter(weights.values())).shape[0]
    col = {i: k for k, i in enumerate(run.indicator_ids)}
    node_score: dict[str, np.ndarray] = {}
    for parent in t.nodes:
        kids = t.children[parent]
        x = np.stack([node_score[k] if k in node_score else
                      np.broadcast_to(run.scores[:, col[k]], (draws, len(run.unit_ids)))
                      for k in kids], axis=-1)  # draws × units × children
        w = np.stack([weights[k] for k in kids], axis=-1)[:, None, :]
        present = ~np.isnan(x) & (w > 0)
        wp = np.where(present, w, 0.0)
        xs = np.where(present, x, 0.0)
        den = wp.sum(axis=-1)
        kinds = np.unique(methods[parent])
        power = t.power.get(parent, float("nan"))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            score = node_mean(str(kinds[0]), xs, wp, present, power, den)
            for method in kinds[1:]:  # several only under vary_aggregation
                use = (methods[parent] == method)[:, None]
                score = np.where(use, node_mean(str(method), xs, wp, present, power, den),
                                 score)
        ok = (den > 0) & run.covered.get(parent, np.zeros(len(run.unit_ids), dtype=bool))
        cov = t.min_coverage.get(parent, 0.0)
        if cov > 0:  # ⌈min_coverage · n⌉ of the n children of positive weight in the draw
            need = np.clip(np.ceil(cov * (w > 0).sum(axis=-1) - 1e-9), 0, None)  # draws × 1
            ok &= present.sum(axis=-1) >= need
        node_score[parent] = np.where(ok, score, np.nan)
    return node_score[agg.ROOT]


def finalise(run: RunArrays, scheme: Scheme, total: np.ndarray) -> np.ndarray:
    """The run's adjustments, clamping (a ratio total only at `scale.min`: `score_ceiling`),
    veto caps and rounding on draws × units totals."""
    lo, hi, top = scheme.scale.min, scheme.scale.max, scheme.score_ceiling
    s = np.clip(lo + (hi - lo) * total / 100.0 + run.bonus - run.deduction, lo, top)
    s = np.where(np.isnan(run.veto_max), s, np.minimum(s, run.veto_max))
    return np.clip(round_half_away(s, scheme.scale.decimals), lo, top)


def two_product(a: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """a·b = hi + lo exactly (Dekker's product, no fused multiply-add needed)."""
    def split(v: Any) -> tuple[Any, Any]:
        c = 134217729.0 * v  # 2^27 + 1
        high = c - (c - v)
        return high, v - high
    hi = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    return hi, ((ah * bh - hi) + ah * bl + al * bh) + al * bl


def round_half_away(x: np.ndarray, decimals: int) -> np.ndarray:
    """SQL ROUND(x, decimals) on doubles as DuckDB does it: the exact binary value rounded to
    `decimals` places, halves away from zero (numpy's `round` scales inexactly and rounds
    halves to even, so 3.42675 − 2⁻⁵⁰ would come out 3.4268 where the run has 3.4267)."""
    scale = 10.0 ** decimals
    ax = np.abs(x)
    hi, lo = two_product(ax, scale)
    n = np.floor(hi + 0.5)
    with np.errstate(invalid="ignore"):
        n = np.where((hi - (n - 0.5)) + lo < 0, n - 1, n)  # the exact product is below n − ½
        n = np.where((hi - (n + 0.5)) + lo >= 0, n + 1, n)  # … or at least n + ½
    out = np.copysign(n / scale, x)
    return np.where(np.isfinite(x), out, x)


def count_at_least(values: np.ndarray, floor: float) -> np.ndarray:
    """Per row, how many entries are ≥ each entry (NaN entries count as below `floor`)."""
    v = np.where(np.isnan(values), floor, values)
    span = float(np.nanmax(v) - floor) + 10.0 if v.size else 10.0
    offset = (np.arange(v.shape[0]) * span)[:, None]
    flat = np.sort(v + offset, axis=1).ravel()
    below = np.searchsorted(flat, (v + offset).ravel(), side="left").reshape(v.shape)
    return v.shape[1] - (below - np.arange(v.shape[0])[:, None] * v.shape[1])


def competition_ranks(scores: np.ndarray) -> np.ndarray:
    """Per row: 1 + the number of entries strictly greater (ties share the best rank)."""
    n = scores.shape[1]
    low = float(np.nanmin(scores)) - 1000.0 if np.isfinite(scores).any() else 0.0
    s = np.where(np.isnan(scores), low, scores)  # no total: below every unit with one
    at_most = count_at_least(-s, -float(s.max()) - 10.0)  # entries ≤ each
    return 1 + n - at_most


def grades(scheme: Scheme, run: RunArrays, scores: np.ndarray) -> np.ndarray:
    """Grade position per draw × unit: thresholds, veto caps, then quotas band by band."""
    bands = scheme.grades
    last = len(bands) - 1
    reach = np.stack([np.ones_like(scores, dtype=bool) if g.min_score is None
                      else scores >= g.min_score for g in bands], axis=-1)
    ords = np.where(reach.any(axis=-1), reach.argmax(axis=-1), last)
    ords = np.maximum(ords, run.veto_ord[None, :])
    n = scores.shape[1]
    floor = float(np.nanmin(scores)) - 10.0
    for k, g in enumerate(bands):
        if g.max_share is None or k == last:
            continue
        allowed = np.floor(g.max_share * n + 1e-9)
        through = count_at_least(np.where(ords == k, scores, np.nan), floor)
        ords = np.where((ords == k) & (through > allowed), k + 1, ords)
    return ords


def draw_methods(t: Tree, draws: int, rng: np.random.Generator,
                 cfg: UncertaintySettings) -> dict[str, np.ndarray]:
    """Per node, a (draws,) array of aggregations: the scheme's own, or with `vary_aggregation`
    arithmetic or geometric with probability ½ (a ratio node stays a ratio: its two children
    are a numerator and a denominator, not scores to average)."""
    out = {}
    for p in t.nodes:
        own = np.full(draws, t.method[p])
        if cfg.vary_aggregation:
            geo = rng.random(draws) < 0.5  # drawn for every node: the same stream as before
            if t.method[p] != "ratio":
                own = np.where(geo, "geometric", "arithmetic")
        out[p] = own
    return out


@dataclass(frozen=True)
class Sensitivity:
    units: pl.DataFrame  # unit_id, rank_median, rank_p05, rank_p95, grade_stability, firm
    indicators: pl.DataFrame  # indicator_id, mean_abs_rank_change, max_abs_rank_change, spearman


def monte_carlo(run: RunArrays, scheme: Scheme, draws: int, seed: int) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Ranks and grade positions, draws × units, under the scheme's uncertainty settings."""
    cfg = scheme.uncertainty
    t = tree(scheme)
    rng = np.random.default_rng(seed)
    rank_chunks, grade_chunks = [], []
    for start in range(0, draws, CHUNK):
        d = min(CHUNK, draws - start)
        w = draw_weights(t, d, rng, cfg.weight_range, cfg.weight_draws,
                         cfg.dirichlet_concentration)
        scores = finalise(run, scheme, aggregate(run, t, w, draw_methods(t, d, rng, cfg)))
        rank_chunks.append(competition_ranks(scores))
        grade_chunks.append(grades(scheme, run, scores))
    return np.vstack(rank_chunks), np.vstack(grade_chunks)


def leave_one_out(run: RunArrays, scheme: Scheme) -> pl.DataFrame:
    """Per indicator: the ranking with it dropped (other weights as the run) against the run's."""
    t = tree(scheme)
    inds = run.indicator_ids
    w = {k: np.full(len(inds), v) for k, v in t.weight.items()}
    for j, ind in enumerate(inds):
        w[ind] = w[ind].copy()
        w[ind][j] = 0.0
    own = {p: np.full(len(inds), t.method[p]) for p in t.nodes}
    r = competition_ranks(finalise(run, scheme, aggregate(run, t, w, own))).astype(float)
    base = run.rank.astype(float)[None, :]
    delta = np.abs(r - base)
    rc, bc = r - r.mean(axis=1, keepdims=True), base - base.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rc * bc).sum(axis=1) / np.sqrt((rc ** 2).sum(axis=1) * (bc ** 2).sum())
    return pl.DataFrame({
        "indicator_id": inds, "mean_abs_rank_change": delta.mean(axis=1),
        "max_abs_rank_change": delta.max(axis=1), "spearman": rho,
    }).with_columns(pl.col("spearman").fill_nan(None))


def sensitivity(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str, seed: int,
                draws: int | None = None) -> Sensitivity:
    """The Monte-Carlo over weights and aggregation, and leave-one-out, for a stored run."""
    run = load_arrays(con, scheme, run_id)
    n = draws if draws is not None else scheme.uncertainty.draws
    if not run.unit_ids or not run.indicator_ids:
        empty = pl.DataFrame(schema={"unit_id": pl.String})
        return Sensitivity(empty, pl.DataFrame(schema={"indicator_id": pl.String}))
    r, g = monte_carlo(run, scheme, n, seed)
    stability = (g == run.grade_ord[None, :]).mean(axis=0)
    units = pl.DataFrame({
        "unit_id": run.unit_ids,
        "rank_median": np.median(r, axis=0),
        "rank_p05": np.percentile(r, 5, axis=0),
        "rank_p95": np.percentile(r, 95, axis=0),
        "grade_stability": stability,
        "firm": stability >= FIRM,
    })
    return Sensitivity(units, leave_one_out(run, scheme))
