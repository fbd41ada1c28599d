"""Seeded, realistic demo data for the demo scheme, with the ground truth of every planted problem.

The model (docs/demo-data.md says it in prose): each township has a latent quality q ~ N(0, 1)
(urban towns a little higher). Outcomes follow q with noise and skew; satisfaction answers follow
q on a 1–5 scale; paperwork (trace) counts are only weakly tied to q. Then problems are planted:
show-off units (poor q, trace counts ×3–5), survey stuffing (fast, all-5, repeated-respondent fake
responses), small samples (<30 responses), and missing unit-measure values. `truth.json` lists
them, so tests and the demo can check that the engine finds what was planted.
Everything is drawn with numpy arrays and assembled with polars: no loop over data rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from evaluator.defaults import MIN_UNITS as MIN_UNITS  # the demo commands check it too

KINDS = ("units", "questions", "outcomes", "targets", "events", "surveys")
QUESTIONS = {  # id: (zh, en, item effect on the 1–5 answer)
    "q_overall": ("您对本乡镇政府工作的总体满意度",
                  "Overall satisfaction with the township government", 0.0),
    "q_responsiveness": ("您反映的诉求是否得到及时回应",
                         "Were your requests answered promptly", -0.15),
    "q_fairness": ("办事过程是否公平公正", "Was your case handled fairly", 0.05),
    "q_service": ("您对便民服务中心的满意度", "Satisfaction with the public service centre", 0.1),
}
_FIRST = "青白东西南北金石龙凤桃柳马黄清新长安平高"
_SECOND = "山河湖溪岭桥田塘坪口林沙坝源湾洲"
_SUBS = {"annual": [""], "quarterly": ["Q1", "Q2", "Q3", "Q4"],
         "monthly": [f"-{m:02d}" for m in range(1, 13)]}


@dataclass(frozen=True)
class DemoFiles:
    """Where each kind was written, how many rows, and the ground truth."""

    out_dir: Path
    rows: dict[str, int]
    truth: dict[str, Any] = field(repr=False)

    def path(self, kind: str) -> Path:
        return self.out_dir / f"{kind}.csv"

    def paths(self) -> dict[str, Path]:
        return {k: self.path(k) for k in KINDS}

    @property
    def truth_path(self) -> Path:
        return self.out_dir / "truth.json"

    # attribute access, e.g. files.units, files.surveys
    def __getattr__(self, name: str) -> Path:
        if name in KINDS:
            return self.path(name)
        raise AttributeError(name)


def generate(out_dir: Path, units: int = 120, seed: int = 2026,
             years: tuple[int, ...] = (2025, 2026)) -> DemoFiles:
    """Write units/questions/outcomes/targets/events/surveys CSVs and truth.json to `out_dir`."""
    if units < MIN_UNITS:
        raise ValueError(f"the demo needs at least {MIN_UNITS} units to plant its problems")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    u = _units(rng, units)
    planted = _plant(rng, u)
    frames = {
        "units": u.drop("q", "urban"),
        "questions": _questions(),
        "targets": _targets(rng, u, years),
        "events": _events(rng, u, years, planted),
        "surveys": _surveys(rng, u, years, planted),
    }
    outcomes, missing = _outcomes(rng, u, years, planted)
    # the other offices' measures come from their own random stream, so adding them left every
    # earlier number of the demo unchanged
    extra = _other_offices(np.random.default_rng([seed, 18]), u, years, planted)
    frames["outcomes"] = pl.concat([outcomes, extra]).sort("unit_id", "measure", "period")
    rows = {}
    for kind in KINDS:
        frame = frames[kind]
        frame.write_csv(out_dir / f"{kind}.csv")
        rows[kind] = frame.height
    truth = {
        "seed": seed,
        "units": units,
        "years": list(years),
        "show_off": planted["show_off"],
        "survey_stuffing": planted["stuffing"],
        "small_sample": planted["small"],
        "missing": missing,
        "events": frames["events"].select("unit_id", "period", "event").to_dicts(),
        "latent_quality": dict(zip(u["unit_id"].to_list(),
                                   [round(x, 4) for x in u["q"].to_list()], strict=True)),
    }
    (out_dir / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1),
                                        encoding="utf-8")
    return DemoFiles(out_dir=out_dir, rows=rows, truth=truth)


# --------------------------------------------------------------------------- units


def _units(rng: np.random.Generator, n: int) -> pl.DataFrame:
    per_county = 20
    counties = -(-n // per_county)
    idx = np.arange(n)
    width = max(2, len(str(counties)))
    county = idx // per_county + 1
    seq = idx % per_county + 1
    names = np.array([a + b for a in _FIRST for b in _SECOND])
    rng.shuffle(names)
    stem = names[idx % len(names)]
    clash = idx // len(names)  # beyond 320 names, add the round number
    urban = rng.random(n) < 0.35
    suffix = np.where(urban, "镇", "乡")
    q = rng.normal(0, 1, n) + np.where(urban, 0.3, 0.0)
    pop = np.round(np.exp(rng.normal(np.where(urban, np.log(45000), np.log(18000)), 0.45)))
    frame = pl.DataFrame({
        "county": county, "seq": seq, "stem": stem, "clash": clash, "suffix": suffix,
        "urban": urban, "q": q, "population": pop.astype(np.int64),
    })
    return frame.select(
        pl.format("{}{}", pl.col("county").cast(pl.String).str.zfill(width),
                  pl.col("seq").cast(pl.String).str.zfill(2)).alias("unit_id"),
        pl.when(pl.col("clash") > 0)
        .then(pl.format("{}{}{}", "stem", pl.col("clash").cast(pl.String), "suffix"))
        .otherwise(pl.format("{}{}", "stem", "suffix")).alias("name"),
        pl.lit("township").alias("unit_type"),
        pl.when(pl.col("urban")).then(pl.lit("urban")).otherwise(pl.lit("rural")).alias("peer_group"),
        pl.format("C{}", pl.col("county").cast(pl.String).str.zfill(width)).alias("parent_id"),
        "population", "q", "urban",
    )


def _plant(rng: np.random.Generator, u: pl.DataFrame) -> dict[str, list[str]]:
    """Pick disjoint unit sets for each planted problem; show-off units get poor quality."""
    n = u.height
    order = rng.permutation(n)
    k_show, k_stuff, k_small = max(3, n // 20), max(3, n // 25), max(3, n // 25)
    ids = u["unit_id"].to_numpy()
    show = ids[order[:k_show]]
    stuff = ids[order[k_show:k_show + k_stuff]]
    small = ids[order[k_show + k_stuff:k_show + k_stuff + k_small]]
    return {"show_off": sorted(show.tolist()), "stuffing": sorted(stuff.tolist()),
            "small": sorted(small.tolist())}


def _with_quality(u: pl.DataFrame, planted: dict[str, list[str]]) -> np.ndarray:
    """Latent quality after planting: show-off units do poorly, stuffing units are middling-low."""
    q = u["q"].to_numpy().copy()
    ids = u["unit_id"]
    q[ids.is_in(planted["show_off"]).to_numpy()] = -1.3
    q[ids.is_in(planted["stuffing"]).to_numpy()] = -0.6
    return q


def _questions() -> pl.DataFrame:
    return pl.DataFrame({
        "question": list(QUESTIONS),
        "scale_min": [1] * len(QUESTIONS),
        "scale_max": [5] * len(QUESTIONS),
        "text_zh": [v[0] for v in QUESTIONS.values()],
        "text_en": [v[1] for v in QUESTIONS.values()],
    })


# --------------------------------------------------------------------------- outcomes


def _outcomes(rng: np.random.Generator, u: pl.DataFrame, years: tuple[int, ...],
              planted: dict[str, list[str]]) -> tuple[pl.DataFrame, list[dict[str, str]]]:
    n, ny = u.height, len(years)
    q = _with_quality(u, planted)[:, None]  # (n, 1): broadcasts over years
    trend = np.arange(ny)[None, :] * 0.08  # things get a little better each year
    urban = u["urban"].to_numpy()[:, None]
    pop = u["population"].to_numpy()[:, None].astype(float)
    show = u["unit_id"].is_in(planted["show_off"]).to_numpy()[:, None]
    shape = (n, ny)

    def noise(sd: float, sub: int = 1) -> np.ndarray:
        return rng.normal(0, sd, (n, ny, sub))

    def per_sub(x: np.ndarray, sub: int) -> np.ndarray:
        return np.repeat(x[:, :, None], sub, axis=2)

    qt = q + trend
    # a paperwork multiplier only weakly tied to quality; show-off units produce 3–5× more
    boost = np.where(show, rng.uniform(3, 5, shape), 1)
    paper = np.exp(0.12 * q + rng.normal(0, 0.35, shape)) * boost
    incidents = rng.poisson(pop / 1e4 * np.exp(-0.4 - 0.45 * qt))
    m: dict[str, tuple[str, np.ndarray]] = {
        "income_growth_pct": ("annual", (5.0 + 1.1 * qt + 0.5 * urban + rng.gamma(1.6, 0.9, shape)
                                         - 1.4 + rng.normal(0, 1.0, shape)).round(2)[:, :, None]),
        "complaint_resolution_rate": ("annual", (1 / (1 + np.exp(
            -(1.9 + 0.75 * qt + rng.normal(0, 0.4, shape))))).round(4)[:, :, None]),
        "hotline_response_hours": ("monthly", np.exp(np.log(8) - 0.3 * per_sub(qt, 12)
                                                     + per_sub(rng.normal(0, 0.3, shape), 12)
                                                     + noise(0.2, 12)).round(2)),
        "safety_incidents_per_10k": ("annual", (incidents / pop * 1e4).round(3)[:, :, None]),
        "school_dropout_rate": ("annual", np.clip(np.exp(np.log(0.008) - 0.45 * qt
                                                         + rng.normal(0, 0.5, shape)), 0, 0.2)
                                .round(5)[:, :, None]),
        "clinic_wait_minutes": ("quarterly", np.exp(np.log(40) - 0.25 * per_sub(qt, 4)
                                                    + per_sub(rng.normal(0, 0.25, shape), 4)
                                                    + noise(0.15, 4)).round(1)),
        "meetings_held": ("quarterly", rng.poisson(per_sub(5 * paper, 4)).astype(float)),
        "documents_issued": ("annual", rng.poisson(30 * paper)[:, :, None].astype(float)),
        "app_checkin_rate": ("monthly", np.clip(
            per_sub(np.where(show, 0.995, 0.82), 12)
            + noise(0.06, 12) * per_sub(np.where(show, 0.05, 1), 12), 0, 1).round(3)),
        "photos_uploaded": ("monthly", rng.poisson(per_sub(15 * paper, 12)).astype(float)),
        "ledger_pages": ("annual", rng.poisson(80 * paper)[:, :, None].astype(float)),
        "posts_liked": ("monthly", rng.poisson(per_sub(200 * paper ** 1.3, 12)).astype(float)),
    }
    ids = u["unit_id"].to_numpy()
    frames = []
    for measure, (freq, values) in m.items():  # one vectorised block per measure
        subs = _SUBS[freq]
        grid_u, grid_y, grid_s = np.meshgrid(np.arange(n), np.arange(ny), np.arange(len(subs)),
                                             indexing="ij")
        frames.append(pl.DataFrame({
            "unit_id": ids[grid_u.ravel()],
            "year": np.asarray(years)[grid_y.ravel()],
            "sub": np.asarray(subs)[grid_s.ravel()],
            "measure": measure,
            "value": values.ravel(),
        }))
    long = pl.concat(frames).with_columns(
        pl.format("{}{}", pl.col("year").cast(pl.String), "sub").alias("period"))
    # missing data: ~3% of unit-year-measure blocks dropped, two units report no clinic wait in
    # the last year, and a few unit-years lose one quarter of clinic wait
    blocks = long.select("unit_id", "year", "measure").unique().sort("unit_id", "year", "measure")
    blocks = blocks.with_columns(pl.Series("drop", rng.random(blocks.height) < 0.03))
    no_clinic = rng.choice(ids, 2, replace=False).tolist()
    blocks = blocks.with_columns(
        pl.col("drop") | ((pl.col("measure") == "clinic_wait_minutes") & pl.col("unit_id")
                          .is_in(no_clinic) & (pl.col("year") == years[-1])))
    dropped = blocks.filter("drop").drop("drop")
    long = long.join(dropped, on=["unit_id", "year", "measure"], how="anti")
    partial = (long.filter(pl.col("measure") == "clinic_wait_minutes", pl.col("sub") == "Q3")
               .select("unit_id", "year").unique().sort("unit_id", "year"))
    partial = partial.filter(pl.Series(rng.random(partial.height) < 0.04))
    long = long.join(partial.with_columns(pl.lit("Q3").alias("sub"),
                                          pl.lit("clinic_wait_minutes").alias("measure")),
                     on=["unit_id", "year", "sub", "measure"], how="anti")
    missing = (dropped.with_columns(pl.col("year").cast(pl.String).alias("period"),
                                    pl.lit("missing").alias("kind"))
               .select("unit_id", "period", "measure", "kind"))
    partial_rows = partial.select(
        "unit_id", pl.col("year").cast(pl.String).alias("period"),
        pl.lit("clinic_wait_minutes").alias("measure"), pl.lit("partial").alias("kind"))
    truth_missing = (pl.concat([missing, partial_rows])
                     .sort("unit_id", "period", "measure").to_dicts())
    out = long.select("unit_id", "period", "measure", "value").sort("unit_id", "measure", "period")
    return out, truth_missing


def _other_offices(rng: np.random.Generator, u: pl.DataFrame, years: tuple[int, ...],
                   planted: dict[str, list[str]]) -> pl.DataFrame:
    """Annual measures of the discipline office and the civil affairs bureau (their schemes in
    indicators/), following the same latent quality: petitions per 10,000 residents (lower is
    better), subsidy targeting accuracy and elderly-care coverage (fractions, higher)."""
    n, ny = u.height, len(years)
    q = _with_quality(u, planted)[:, None] + np.arange(ny)[None, :] * 0.08
    shape = (n, ny)
    values = {
        "petition_cases_per_10k": np.exp(np.log(6) - 0.35 * q + rng.normal(0, 0.3, shape)).round(2),
        "subsidy_accuracy_rate": (1 / (1 + np.exp(-(2.6 + 0.6 * q + rng.normal(0, 0.4, shape)))))
        .round(4),
        "elderly_care_coverage": np.clip(0.55 + 0.08 * q + rng.normal(0, 0.07, shape), 0, 1).round(3),
    }
    ids = u["unit_id"].to_numpy()
    grid_u, grid_y = np.meshgrid(np.arange(n), np.arange(ny), indexing="ij")
    return pl.concat(pl.DataFrame({
        "unit_id": ids[grid_u.ravel()],
        "period": np.asarray(years).astype(str)[grid_y.ravel()],
        "measure": measure,
        "value": v.ravel(),
    }) for measure, v in values.items())


def _targets(rng: np.random.Generator, u: pl.DataFrame, years: tuple[int, ...]) -> pl.DataFrame:
    base = u.select("unit_id", "urban").join(pl.DataFrame({"year": list(years)}), how="cross")
    k = base.height
    return pl.concat([
        base.select("unit_id", pl.col("year").cast(pl.String).alias("period"),
                    pl.lit("income_growth_pct").alias("measure"),
                    (pl.when("urban").then(6.0).otherwise(5.5)
                     + pl.Series(rng.choice([-0.5, 0.0, 0.5], k))).alias("target")),
        base.select("unit_id", pl.col("year").cast(pl.String).alias("period"),
                    pl.lit("complaint_resolution_rate").alias("measure"),
                    pl.lit(0.9).alias("target")),
        base.select("unit_id", pl.col("year").cast(pl.String).alias("period"),
                    pl.lit("clinic_wait_minutes").alias("measure"),
                    pl.when("urban").then(30.0).otherwise(45.0).alias("target")),
    ])


def _events(rng: np.random.Generator, u: pl.DataFrame, years: tuple[int, ...],
            planted: dict[str, list[str]]) -> pl.DataFrame:
    """A few units per year: accidents where quality is low, awards where it is high."""
    q = _with_quality(u, planted)
    ids = u["unit_id"].to_numpy()
    specs = [  # event, units per year, selection weight, value, note
        ("major_safety_accident", 2, np.exp(-1.2 * q), None, "重大安全生产事故（演示数据）"),
        ("provincial_award", max(3, u.height // 25), np.exp(1.2 * q), 1.0,
         "获省级表彰（演示数据）"),
        ("inspection_violation", max(4, u.height // 15), np.ones_like(q), None,
         "督查发现违规（演示数据）"),
    ]
    frames = []
    for year in years:
        for event, k, w, value, note in specs:
            chosen = rng.choice(ids, size=k, replace=False, p=w / w.sum())
            values = (np.full(k, value) if value is not None
                      else (rng.integers(1, 4, k).astype(float) if event == "inspection_violation"
                            else np.full(k, np.nan)))
            frames.append(pl.DataFrame({
                "unit_id": chosen,
                "period": [f"{year}-{m:02d}" for m in rng.integers(1, 13, k)],
                "event": event,
                "value": values,
                "note": note,
            }))
    return (pl.concat(frames).with_columns(pl.col("value").fill_nan(None))
            .sort("period", "event", "unit_id"))


# --------------------------------------------------------------------------- surveys


def _surveys(rng: np.random.Generator, u: pl.DataFrame, years: tuple[int, ...],
             planted: dict[str, list[str]]) -> pl.DataFrame:
    n, ny = u.height, len(years)
    ids = u["unit_id"].to_numpy()
    q = _with_quality(u, planted)
    small = u["unit_id"].is_in(planted["small"]).to_numpy()
    stuffed = u["unit_id"].is_in(planted["stuffing"]).to_numpy()
    counts = np.where(small[:, None], rng.integers(12, 26, (n, ny)), rng.integers(40, 81, (n, ny)))
    fakes = np.where(stuffed[:, None], np.round(counts * rng.uniform(0.5, 0.8, (n, ny))), 0)
    fakes = fakes.astype(int)
    unit_ix = np.repeat(np.repeat(np.arange(n), ny), (counts + fakes).ravel())
    year_ix = np.repeat(np.tile(np.arange(ny), n), (counts + fakes).ravel())
    total = unit_ix.size
    # position within its unit-year decides fake (the last `fakes` of each block) vs real
    block = unit_ix * ny + year_ix
    starts = np.concatenate([[0], np.cumsum((counts + fakes).ravel())[:-1]])
    pos = np.arange(total) - starts[block]
    fake = pos >= counts.ravel()[block]
    year = np.asarray(years)[year_ix]
    # real respondents: unit mood + person effect; fakes: all 5, fast, a few repeated respondents
    mood = 3.55 + 0.45 * q[unit_ix] + rng.normal(0, 0.55, total)
    phone = rng.integers(13_000_000_000, 19_000_000_000, total)
    pool = rng.integers(13_000_000_000, 19_000_000_000, (n, 3))
    phone = np.where(fake, pool[unit_ix, rng.integers(0, 3, total)], phone)
    duration = np.where(fake, rng.uniform(8, 25, total),
                        np.exp(rng.normal(np.log(140), 0.4, total)))
    speeder = (~fake) & (rng.random(total) < 0.02)  # a few honest speeders everywhere
    duration = np.where(speeder, rng.uniform(15, 40, total), duration).round(1)
    weight = np.where(fake, 1.0, np.exp(rng.normal(0, 0.3, total))).round(3)
    channel = np.where(fake, "wechat",
                       rng.choice(["phone", "wechat", "face_to_face", "sms"], total,
                                  p=[0.4, 0.35, 0.15, 0.1]))
    second = np.where(fake, rng.integers(0, 7200, total) + 200 * 86400,
                      rng.integers(0, 364 * 86400, total))
    resp = pl.DataFrame({
        "unit_id": ids[unit_ix], "year": year, "pos": pos, "fake": fake, "mood": mood,
        "respondent": phone, "duration_s": duration, "weight": weight, "channel": channel,
        "second": second,
    }).with_columns(
        pl.format("S{}-{}-{}", pl.col("year").cast(pl.String), "unit_id",
                  (pl.col("pos") + 1).cast(pl.String).str.zfill(4)).alias("response_id"),
        (pl.datetime(pl.col("year"), 1, 1) + pl.duration(seconds=pl.col("second")))
        .dt.strftime("%Y-%m-%d %H:%M:%S").alias("submitted_at"),
    )
    questions = pl.DataFrame({"question": list(QUESTIONS),
                              "effect": [v[2] for v in QUESTIONS.values()]})
    answers = resp.join(questions, how="cross")
    raw = (answers["mood"].to_numpy() + answers["effect"].to_numpy()
           + rng.normal(0, 0.6, answers.height))
    answer = np.where(answers["fake"].to_numpy(), 5, np.clip(np.rint(raw), 1, 5))
    skipped = (~answers["fake"].to_numpy()) & (rng.random(answers.height) < 0.02)
    return (answers.with_columns(pl.Series("answer", answer.astype(np.int64)))
            .filter(pl.Series(~skipped))
            .select("response_id", "unit_id", pl.col("year").cast(pl.String).alias("period"),
                    "question", "answer", pl.col("respondent").cast(pl.String), "weight",
                    "duration_s", "channel", "submitted_at")
            .sort("response_id", "question"))
