"""Scale data for the benchmark: units, questions, outcomes, surveys and a matching scheme.

The demo generator (`evaluator.demo_data`) plants a dozen named measures for a handful of
indicators; a province office has ~120 indicators and millions of answers. This module reuses
the demo's townships (`_units`: names, peer groups, latent quality) and draws, set-based with
numpy and polars (no loop over rows), `--indicators` outcome/satisfaction indicators over
`--periods` sub-periods of the year and about `--answers` survey answers, with the validity
problems the survey filters exist for (speeders, straight-liners, duplicate respondents,
unequal weights). The scheme it writes uses `goalposts`, `min_max` and `direct` rules,
`reweight` for missing values and `small_sample: keep`, which is what the pandas baseline
(`benchmarks/baseline_pandas.py`) reproduces.

    python -m benchmarks.scale_data OUT --size medium
    python -m benchmarks.scale_data OUT --units 500 --indicators 30 --answers 200000 --periods 4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import Generated
from evaluator.demo_data import _units

YEAR = 2026
QUESTIONS = 6  # two satisfaction indicators of three questions each; ≥ 5 so straight-lining counts
SAT_INDICATORS = 2
PER_DIMENSION = 10
SIZES: dict[str, dict[str, int]] = {
    "small": {"units": 120, "indicators": 20, "answers": 60_000, "periods": 4},
    "medium": {"units": 2_000, "indicators": 60, "answers": 1_000_000, "periods": 4},
    "province": {"units": 20_000, "indicators": 120, "answers": 10_000_000, "periods": 4},
}
_SUBS = {1: [""], 4: ["Q1", "Q2", "Q3", "Q4"], 12: [f"-{m:02d}" for m in range(1, 13)]}


class ScaleFiles(Generated):
    """Where the generated files are and how many rows each has, and the scheme."""

    @property
    def scheme(self) -> Path:
        return self.out_dir / "scheme.yaml"


def generate(out_dir: Path, *, units: int, indicators: int, answers: int, periods: int = 4,
             seed: int = 2026) -> ScaleFiles:
    """Write units/questions/outcomes/surveys CSVs and scheme.yaml to `out_dir`."""
    if periods not in _SUBS:
        raise ValueError(f"--periods must be one of {sorted(_SUBS)} (annual, quarterly, monthly)")
    if indicators <= SAT_INDICATORS:
        raise ValueError(f"--indicators must be more than {SAT_INDICATORS}")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    u = _units(rng, units)
    n_out = indicators - SAT_INDICATORS
    params = _indicator_params(rng, n_out)
    frames = {
        "units": u.drop("q", "urban"),
        "questions": pl.DataFrame({
            "question": [f"q{i:02d}" for i in range(1, QUESTIONS + 1)],
            "scale_min": [1] * QUESTIONS, "scale_max": [5] * QUESTIONS,
            "text_zh": [f"满意度问题 {i}" for i in range(1, QUESTIONS + 1)],
            "text_en": [f"Satisfaction question {i}" for i in range(1, QUESTIONS + 1)]}),
        "outcomes": _outcomes(rng, u, params, periods),
        "surveys": _surveys(rng, u, answers),
    }
    rows = {}
    for kind, frame in frames.items():
        frame.write_csv(out_dir / f"{kind}.csv")
        rows[kind] = frame.height
    (out_dir / "scheme.yaml").write_text(
        # JSON is YAML: the scheme loader reads it as it is, and no YAML writer is needed
        json.dumps(_scheme(params, periods), ensure_ascii=False, indent=1), encoding="utf-8")
    return ScaleFiles(out_dir=out_dir, rows=rows)


def _indicator_params(rng: np.random.Generator, n: int) -> pl.DataFrame:
    k = np.arange(n)
    return pl.DataFrame({
        "measure": [f"m{i:04d}" for i in range(1, n + 1)],
        "direction": np.where(k % 2 == 0, "higher", "lower"),
        "rule": np.where(k % 3 == 2, "min_max", "goalposts"),
        "effect": rng.uniform(5, 20, n),
        "weight": rng.integers(1, 10, n),
    })


def _outcomes(rng: np.random.Generator, u: pl.DataFrame, params: pl.DataFrame,
              periods: int) -> pl.DataFrame:
    """Value = 50 ± effect·quality + noise, per unit × measure × sub-period; ~2 % missing."""
    subs = _SUBS[periods]
    n, m, s = u.height, params.height, len(subs)
    q = u["q"].to_numpy()[:, None, None]
    sign = np.where(params["direction"].to_numpy() == "higher", 1.0, -1.0)[None, :, None]
    effect = params["effect"].to_numpy()[None, :, None]
    values = (50 + sign * effect * q + rng.normal(0, 10, (n, m, s))).round(3)
    gu, gm, gs = np.meshgrid(np.arange(n), np.arange(m), np.arange(s), indexing="ij")
    keep = rng.random(values.size) >= 0.02
    return pl.DataFrame({
        "unit_id": u["unit_id"].to_numpy()[gu.ravel()[keep]],
        "period": np.char.add(str(YEAR), np.asarray(subs))[gs.ravel()[keep]],
        "measure": params["measure"].to_numpy()[gm.ravel()[keep]],
        "value": values.ravel()[keep],
    })


def _surveys(rng: np.random.Generator, u: pl.DataFrame, answers: int) -> pl.DataFrame:
    """~`answers` answers for the year; 2 % speeders, 3 % straight-liners, 3 % repeat respondents."""
    n = u.height
    per_unit = max(1, answers // (n * QUESTIONS))
    total = n * per_unit
    unit_ix = np.repeat(np.arange(n), per_unit)
    pos = np.tile(np.arange(per_unit), n)
    q = u["q"].to_numpy()
    phone = rng.integers(13_000_000_000, 19_000_000_000, total)
    repeat = (pos > 0) & (rng.random(total) < 0.03)
    phone = np.where(repeat, np.roll(phone, 1), phone)  # same respondent as the previous response
    duration = np.exp(rng.normal(np.log(140), 0.4, total))
    duration = np.where(rng.random(total) < 0.02, rng.uniform(10, 40, total), duration).round(1)
    channel = rng.choice(["phone", "wechat", "face_to_face", "sms"], total, p=[0.4, 0.35, 0.15, 0.1])
    weight = np.exp(rng.normal(0, 0.3, total)).round(3)
    second = rng.integers(0, 364 * 86400, total)
    mood = 3.4 + 0.45 * q[unit_ix] + rng.normal(0, 0.55, total)
    straight = rng.random(total) < 0.03
    a_resp = np.repeat(np.arange(total), QUESTIONS)
    a_q = np.tile(np.arange(QUESTIONS), total)
    raw = np.clip(np.rint(mood[a_resp] + rng.normal(0, 0.6, a_resp.size)), 1, 5)
    flat = np.clip(np.rint(mood), 1, 5)[a_resp]
    answer = np.where(straight[a_resp], flat, raw).astype(np.int64)
    kept = rng.random(a_resp.size) >= 0.01  # item non-response
    ids = u["unit_id"].to_numpy()
    resp = pl.DataFrame({
        "r": a_resp[kept], "question": np.char.add("q", np.char.zfill((a_q[kept] + 1).astype(str), 2)),
        "answer": answer[kept]})
    per = pl.DataFrame({
        "r": np.arange(total), "unit_id": ids[unit_ix], "pos": pos,
        "respondent": phone.astype(str), "weight": weight, "duration_s": duration,
        "channel": channel, "second": second,
    }).with_columns(
        pl.format("S{}-{}", "unit_id", (pl.col("pos") + 1).cast(pl.String).str.zfill(5))
        .alias("response_id"),
        (pl.datetime(YEAR, 1, 1) + pl.duration(seconds=pl.col("second")))
        .dt.strftime("%Y-%m-%d %H:%M:%S").alias("submitted_at"))
    return (resp.join(per, on="r", how="left")
            .select("response_id", "unit_id", pl.lit(str(YEAR)).alias("period"), "question",
                    "answer", "respondent", "weight", "duration_s", "channel", "submitted_at"))


def _scheme(params: pl.DataFrame, periods: int) -> dict[str, object]:
    freq = {1: "annual", 4: "quarterly", 12: "monthly"}[periods]
    rows = params.to_dicts()
    outcome = [{
        "id": f"ind_{r['measure']}",
        "name": {"zh": f"指标 {r['measure']}", "en": f"Indicator {r['measure']}"},
        "evidence": "outcome", "source": {"measure": r["measure"], "rollup": "mean"},
        "direction": r["direction"],
        "rule": ({"type": "goalposts", "lower": 20.0, "upper": 80.0} if r["rule"] == "goalposts"
                 else {"type": "min_max"}),
        "frequency": freq, "missing": "reweight", "weight": int(r["weight"]),
    } for r in rows]
    dims = [{
        "id": f"dim{d + 1:02d}", "name": {"zh": f"维度 {d + 1}", "en": f"Dimension {d + 1}"},
        "weight": 10 + (d * 7) % 11,
        "indicators": outcome[d * PER_DIMENSION:(d + 1) * PER_DIMENSION],
    } for d in range(-(-len(outcome) // PER_DIMENSION))]
    qs = [f"q{i:02d}" for i in range(1, QUESTIONS + 1)]
    per_sat = QUESTIONS // SAT_INDICATORS
    dims.append({
        "id": "satisfaction", "name": {"zh": "群众满意度", "en": "Citizen satisfaction"},
        "weight": 30,
        "indicators": [{
            "id": f"sat_{i + 1}", "name": {"zh": f"满意度 {i + 1}", "en": f"Satisfaction {i + 1}"},
            "evidence": "satisfaction",
            "source": {"questions": qs[i * per_sat:(i + 1) * per_sat], "scale": {"min": 1, "max": 5}},
            "rule": {"type": "direct"}, "frequency": "annual", "missing": "reweight",
            "weight": 1 + i,
        } for i in range(SAT_INDICATORS)],
    })
    return {
        "id": "bench_scale", "version": "1",
        "name": {"zh": "规模基准方案（生成）", "en": "Scale benchmark scheme (generated)"},
        "year": YEAR, "unit_types": ["township"],
        "scale": {"min": 0, "max": 100, "decimals": 2}, "aggregation": "arithmetic",
        "grades": [
            {"code": "good", "name": {"zh": "良好", "en": "Good"}, "min_score": 60},
            {"code": "poor", "name": {"zh": "较差", "en": "Poor"}}],
        "survey": {"min_sample": 30, "speeder_fraction": 0.4, "small_sample": "keep"},
        "dimensions": dims,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size", choices=sorted(SIZES), default="small")
    for name in ("units", "indicators", "answers", "periods"):
        p.add_argument(f"--{name}", type=int, help=f"override the size's {name}")
    p.add_argument("--seed", type=int, default=2026)
    a = p.parse_args(argv)
    spec = {k: (getattr(a, k) if getattr(a, k) is not None else v) for k, v in SIZES[a.size].items()}
    files = generate(a.out, seed=a.seed, **spec)
    print(", ".join(f"{k}: {v:,}" for k, v in files.rows.items()), "→", files.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
