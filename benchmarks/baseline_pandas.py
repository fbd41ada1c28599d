"""What a capable analyst would write without this engine: the scale scheme scored in pandas.

Same data, same rules, same survey filters and weights as `evaluator.scoring` for the rule types
`benchmarks/scale_data.py` puts in its scheme (goalposts, min_max, direct; rollup mean;
`reweight` for missing values; `small_sample: keep`; arithmetic aggregation; no events).
Vectorised groupbys and merges only: no loop over rows, the loop over indicator parameters is a
merge with a parameter table. The benchmark checks that it gives the engine's numbers (score per
unit within 1e-9, same ranks); otherwise the speed comparison would mean nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluator.scheme import LoadedScheme


def read_inputs(data_dir: Path) -> dict[str, pd.DataFrame]:
    """The analyst's 'ingest': the CSVs read into memory with explicit types."""
    ids = {"unit_id": str, "response_id": str, "respondent": str, "period": str}
    return {
        "units": pd.read_csv(data_dir / "units.csv", dtype=ids),
        "outcomes": pd.read_csv(data_dir / "outcomes.csv", dtype=ids),
        "surveys": pd.read_csv(data_dir / "surveys.csv", dtype=ids),
    }


def _indicator_table(loaded: LoadedScheme) -> pd.DataFrame:
    """One row per indicator: parameters and its effective global weight (dimension share ×
    indicator share; there are no trace indicators in the scale scheme)."""
    rows: list[dict[str, Any]] = []
    for dim in loaded.scheme.dimensions:
        for ind in dim.indicators:
            src, rule = ind.source, ind.rule
            rows.append({
                "dimension": dim.id, "dim_weight": float(dim.weight), "indicator_id": ind.id,
                "weight": float(ind.weight), "evidence": ind.evidence.value,
                "measure": getattr(src, "measure", None),
                "questions": tuple(getattr(src, "questions", None) or ()),
                "higher": ind.direction.value != "lower",
                "rule": rule.type,
                "lower": getattr(rule, "lower", None), "upper": getattr(rule, "upper", None),
            })
    return pd.DataFrame(rows)


def _outcome_scores(outcomes: pd.DataFrame, inds: pd.DataFrame, year: str) -> pd.DataFrame:
    out = inds[inds["evidence"] == "outcome"]
    o = outcomes[outcomes["period"].str.startswith(year)]
    x = (o.groupby(["unit_id", "measure"], as_index=False)["value"].mean()
         .merge(out[["indicator_id", "measure", "higher", "rule", "lower", "upper"]], on="measure"))
    g = x.groupby("indicator_id")["value"]
    lo = np.where(x["rule"] == "min_max", g.transform("min"), x["lower"].astype(float))
    hi = np.where(x["rule"] == "min_max", g.transform("max"), x["upper"].astype(float))
    span = hi - lo
    raw = np.where(x["higher"], x["value"] - lo, hi - x["value"])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(span == 0, 100.0, 100.0 * raw / span)
    x["score"] = np.clip(s, 0.0, 100.0)
    return x[["unit_id", "indicator_id", "score"]]


def _survey_scores(surveys: pd.DataFrame, inds: pd.DataFrame, year: str, min_sample: int,
                   speeder_fraction: float, straight_min: int) -> pd.DataFrame:
    a = surveys[surveys["period"].str.startswith(year)]
    resp = a.groupby(["unit_id", "response_id"], as_index=False).agg(
        respondent=("respondent", "max"), w=("weight", "max"), duration_s=("duration_s", "max"),
        channel=("channel", "max"), submitted_at=("submitted_at", "min"),
        n_questions=("question", "nunique"), n_distinct=("answer", "nunique"))
    resp["w"] = resp["w"].fillna(1.0)
    resp["channel"] = resp["channel"].fillna("")
    ch = resp.groupby("channel")["duration_s"].agg(["median", "count"])
    med = resp["channel"].map(ch["median"].where(ch["count"] >= min_sample,
                                                 resp["duration_s"].median()))
    speeder = (resp["duration_s"] < speeder_fraction * med).fillna(False)
    straight = (resp["n_questions"] >= straight_min) & (resp["n_distinct"] == 1)
    order = resp.sort_values(["unit_id", "respondent", "submitted_at", "response_id"])
    dup = order.groupby(["unit_id", "respondent"]).cumcount().reindex(resp.index) > 0
    resp["valid"] = ~(speeder | straight | (dup & resp["respondent"].notna()))
    qmap = inds[inds["evidence"] == "satisfaction"][["indicator_id", "questions"]].explode(
        "questions").rename(columns={"questions": "question"})
    per = (a.merge(qmap, on="question")
           .groupby(["unit_id", "response_id", "indicator_id"], as_index=False)["answer"].mean())
    per = per.merge(resp[["unit_id", "response_id", "w", "valid"]], on=["unit_id", "response_id"])
    per = per[per["valid"]]
    per["x"] = 100.0 * (per["answer"] - 1.0) / 4.0  # the scale scheme's questions are 1–5
    per["wx"] = per["w"] * per["x"]
    s = per.groupby(["unit_id", "indicator_id"], as_index=False)[["wx", "w"]].sum()
    s["score"] = (s["wx"] / s["w"]).clip(0.0, 100.0)  # rule direct: the index, clamped
    return s[["unit_id", "indicator_id", "score"]]


def score(data: dict[str, pd.DataFrame], loaded: LoadedScheme, year: str) -> pd.DataFrame:
    """unit_id, base_score (0–100 scale), score (rounded), rank — per unit with any data."""
    inds = _indicator_table(loaded)
    sv = loaded.scheme.survey
    ind_scores = pd.concat([
        _outcome_scores(data["outcomes"], inds, year),
        _survey_scores(data["surveys"], inds, year, int(sv.min_sample),
                       float(sv.speeder_fraction), int(sv.straightline_min_questions)),
    ]).merge(inds[["indicator_id", "dimension", "weight", "dim_weight"]], on="indicator_id")
    units = data["units"][["unit_id"]]
    ind_scores = ind_scores[ind_scores["unit_id"].isin(units["unit_id"])]
    ind_scores["ws"] = ind_scores["weight"] * ind_scores["score"]
    dims = ind_scores.groupby(["unit_id", "dimension"], as_index=False).agg(
        ws=("ws", "sum"), w=("weight", "sum"), dim_weight=("dim_weight", "first"))
    dims["dscore"] = dims["ws"] / dims["w"]  # reweight: missing indicators drop out
    dims["wd"] = dims["dim_weight"] * dims["dscore"]
    tot = dims.groupby("unit_id", as_index=False)[["wd", "dim_weight"]].sum()
    lo, hi = float(loaded.scheme.scale.min), float(loaded.scheme.scale.max)
    tot["base_score"] = lo + (hi - lo) * tot["wd"] / tot["dim_weight"] / 100.0
    tot["score"] = tot["base_score"].clip(lo, hi).round(int(loaded.scheme.scale.decimals))
    tot["rank"] = tot["score"].rank(method="min", ascending=False).astype(int)
    return tot[["unit_id", "base_score", "score", "rank"]]


def compare(engine: pd.DataFrame, baseline: pd.DataFrame) -> dict[str, float]:
    """Largest base-score difference and number of ranks that differ (engine vs baseline)."""
    m = engine.merge(baseline, on="unit_id", how="outer", suffixes=("_e", "_b"), indicator=True)
    missing = int((m["_merge"] != "both").sum())
    both = m[m["_merge"] == "both"]
    return {
        "units_only_one_side": missing,
        "max_abs_score_diff": float((both["base_score_e"] - both["base_score_b"]).abs().max()),
        "rank_diffs": int((both["rank_e"] != both["rank_b"]).sum()),
    }
