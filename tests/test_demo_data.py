"""The demo data: seeded, realistic, on the contract's ids, and its planted problems are real."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from helpers.ingest import cli

from evaluator.demo import DEMO_SCHEME
from evaluator.demo_data import generate
from evaluator.scheme import load_scheme
from evaluator.scheme.models import MeasureSource, SurveySource

OUTCOMES = {"income_growth_pct", "complaint_resolution_rate", "hotline_response_hours",
            "safety_incidents_per_10k", "school_dropout_rate", "clinic_wait_minutes"}
TRACES = {"meetings_held", "documents_issued", "app_checkin_rate", "photos_uploaded",
          "ledger_pages", "posts_liked"}
QUESTIONS = {"q_overall", "q_responsiveness", "q_fairness", "q_service"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("demo"))


def read(demo, kind: str) -> pl.DataFrame:
    return pl.read_csv(demo.path(kind), infer_schema=False)


def test_same_seed_same_bytes_other_seed_other_data(demo, tmp_path: Path) -> None:
    again = generate(tmp_path / "a")
    other = generate(tmp_path / "b", seed=1)
    for kind in ("units", "outcomes", "surveys", "events"):
        assert again.path(kind).read_bytes() == demo.path(kind).read_bytes()
    assert other.path("surveys").read_bytes() != demo.path("surveys").read_bytes()
    assert json.loads(demo.truth_path.read_text(encoding="utf-8")) == demo.truth


def test_units_are_chinese_townships_with_peer_groups(demo) -> None:
    units = read(demo, "units")
    assert units.height == 120
    assert units["unit_id"].str.contains(r"^\d{4}$").all()
    assert units["unit_id"].str.starts_with("0").all()
    assert units["unit_id"].n_unique() == 120 and units["name"].n_unique() == 120
    assert units["name"].str.contains(r"^[\u4e00-\u9fff]+[镇乡]$").all()
    assert set(units["unit_type"]) == {"township"}
    assert set(units["peer_group"]) == {"urban", "rural"}


def test_exactly_the_contract_ids_and_the_scheme_finds_all_its_data(demo) -> None:
    outcomes = read(demo, "outcomes")
    assert set(outcomes["measure"]) == OUTCOMES | TRACES
    assert set(read(demo, "surveys")["question"]) == QUESTIONS
    questions = read(demo, "questions")
    assert set(questions["question"]) == QUESTIONS
    assert set(questions["scale_min"]) == {"1"} and set(questions["scale_max"]) == {"5"}
    events = read(demo, "events")
    assert set(events["event"]) == {"major_safety_accident", "provincial_award",
                                    "inspection_violation"}
    assert events.group_by(pl.col("period").str.slice(0, 4), "event").len()["len"].min() >= 2
    scheme = load_scheme(DEMO_SCHEME).scheme
    for ind in scheme.indicators():
        if isinstance(ind.source, MeasureSource):
            assert ind.source.measure in set(outcomes["measure"]), ind.id
        elif isinstance(ind.source, SurveySource):
            assert set(ind.source.questions) <= QUESTIONS
    assert set(read(demo, "targets")["measure"]) <= OUTCOMES


def test_sub_annual_periods_exercise_rollups(demo) -> None:
    o = read(demo, "outcomes")
    periods = lambda m: set(o.filter(pl.col("measure") == m)["period"])  # noqa: E731
    assert {"2026Q1", "2026Q4"} <= periods("clinic_wait_minutes")
    assert {"2025-01", "2026-12"} <= periods("hotline_response_hours")
    assert periods("income_growth_pct") == {"2025", "2026"}


def test_survey_volume_and_small_samples(demo) -> None:
    s = read(demo, "surveys")
    truth = demo.truth
    n = s.group_by("unit_id", "period").agg(pl.col("response_id").n_unique().alias("n"))
    small = n.filter(pl.col("unit_id").is_in(truth["small_sample"]))
    normal = n.filter(~pl.col("unit_id").is_in(truth["small_sample"] + truth["survey_stuffing"]))
    assert small["n"].max() < 30
    assert normal["n"].min() >= 40 and normal["n"].max() <= 80
    assert 120 * 2 * 40 * 4 * 0.95 < s.height < 120 * 2 * 85 * 4


def test_stuffed_surveys_are_fast_identical_and_repeated(demo) -> None:
    s = read(demo, "surveys").with_columns(pl.col("duration_s").cast(pl.Float64),
                                           pl.col("answer").cast(pl.Int64))
    per = (s.group_by("unit_id", "response_id")
           .agg(pl.col("duration_s").first(), pl.col("answer").n_unique().alias("distinct"),
                pl.col("respondent").first()))
    median = per["duration_s"].median()
    assert median is not None
    odd = per.with_columns(((pl.col("duration_s") < 0.4 * median) & (pl.col("distinct") == 1))
                           .alias("odd"))
    share = odd.group_by(pl.col("unit_id").is_in(demo.truth["survey_stuffing"]).alias("stuffed")
                         ).agg(pl.col("odd").mean())
    shares = dict(share.iter_rows())
    assert shares[True] > 0.3 and shares[False] < 0.03
    repeats = (per.group_by("unit_id", "respondent").len()
               .filter(pl.col("len") > 5)["unit_id"].unique().sort().to_list())
    assert repeats == demo.truth["survey_stuffing"]


def test_show_off_units_do_paperwork_not_results(demo) -> None:
    o = (read(demo, "outcomes").with_columns(pl.col("value").cast(pl.Float64),
                                             pl.col("period").str.slice(0, 4).alias("year"))
         .group_by("unit_id", "year", "measure").agg(pl.col("value").mean()))
    wide = o.pivot(on="measure", index=["unit_id", "year"], values="value")
    show = pl.col("unit_id").is_in(demo.truth["show_off"])
    means = wide.group_by(show.alias("show")).agg(pl.all().exclude("unit_id", "year").mean())
    m = {r["show"]: r for r in means.iter_rows(named=True)}
    for trace in ("documents_issued", "ledger_pages", "photos_uploaded", "meetings_held"):
        assert m[True][trace] > 2.5 * m[False][trace], trace
    assert m[True]["income_growth_pct"] < m[False]["income_growth_pct"]
    assert m[True]["complaint_resolution_rate"] < m[False]["complaint_resolution_rate"]
    # among ordinary units paperwork tells little about results
    normal = wide.filter(~show).drop_nulls(["documents_issued", "income_growth_pct"])
    corr = normal.select(pl.corr("documents_issued", "income_growth_pct")).item()
    assert abs(corr) < 0.4


def test_truth_missing_values_are_absent(demo) -> None:
    o = read(demo, "outcomes").with_columns(pl.col("period").str.slice(0, 4).alias("year"))
    missing = pl.DataFrame([m for m in demo.truth["missing"] if m["kind"] == "missing"])
    assert missing.height >= 20
    found = o.join(missing, left_on=["unit_id", "year", "measure"],
                   right_on=["unit_id", "period", "measure"], how="semi")
    assert found.height == 0


def test_generate_demo_command(tmp_path: Path) -> None:
    result = cli("generate-demo", "--out", tmp_path, "--units", "20", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "show-off 3" in result.output
    assert pl.read_csv(tmp_path / "units.csv").height == 20
