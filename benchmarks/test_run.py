"""Checks of the benchmark harness itself (not collected by the main suite: run
`pytest benchmarks/test_run.py`). No timing is asserted: only that the harness measures, compares
and records what it says it does."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("bench_run", Path(__file__).with_name("run.py"))
assert _SPEC and _SPEC.loader
bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_run"] = bench
_SPEC.loader.exec_module(bench)


def test_ratio_and_regression_follow_the_figure_direction() -> None:
    assert bench.ratio(3.0, 2.0) == 1.5
    assert bench.ratio(1.0, 0.0) is None
    assert bench.is_regression("score_cold_s", 1.6)  # slower
    assert not bench.is_regression("score_cold_s", 0.5)  # faster
    assert bench.is_regression("ingest_surveys_rows_per_s", 0.6)  # fewer rows/s
    assert not bench.is_regression("ingest_surveys_rows_per_s", 1.6)
    assert not bench.is_regression("score_cold_s", None)


def test_targets_apply_by_size_and_direction() -> None:
    by = {(t.figure, t.units): t for t in bench.TARGETS}
    t120 = by[("score_cold_s", 120)]
    assert t120.applies(120) and not t120.applies(2000)
    assert t120.met(2.9) and not t120.met(3.1)
    rate = by[("ingest_surveys_rows_per_s", None)]
    assert not rate.applies(120) and rate.applies(2000)
    assert rate.met(100_000) and not rate.met(99_999)
    assert all(t.figure in bench.FIGURES for t in bench.TARGETS)


def test_parse_units() -> None:
    assert bench.parse_units("120,2000, 20_000") == [120, 2000, 20000]
    for bad in ("", "12x", "4"):
        with pytest.raises(Exception, match="--units"):
            bench.parse_units(bad)


def test_reweighted_scheme_changes_weights_and_still_loads(tmp_path: Path) -> None:
    from evaluator.scheme import load_scheme

    before = load_scheme(bench.SCHEME).scheme.dimensions[0].indicators
    after = load_scheme(bench._reweighted_scheme(tmp_path / "s.yaml")).scheme.dimensions[0].indicators
    assert before[0].weight != before[1].weight  # otherwise the swap would change nothing
    assert (after[0].weight, after[1].weight) == (before[1].weight, before[0].weight)


@pytest.mark.slow
def test_measure_small_pipeline_end_to_end(tmp_path: Path) -> None:
    result = bench.measure(8, 7, tmp_path, export=False)
    fig = result["figures"]
    expected = {"generate_s", "ingest_total_s", "score_cold_s", "score_warm_s",
                "rescore_weight_s", "snapshot_s", "peak_rss_mb", "survey_mean_duckdb_view_s",
                "survey_mean_polars_s"}
    assert expected <= fig.keys()
    assert all(v > 0 for v in fig.values())
    assert result["rows"]["surveys"] > 0
    assert result["survey_groups"] == 8 * 4  # units × questions answered in 2026
    assert all(d < 1e-9 for d in result["survey_max_abs_diff"].values())
    json.dumps(result)  # a record must serialise


def test_write_record_keeps_an_existing_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(bench, "BASELINE", tmp_path / "baseline.json")
    first = bench.write_record({"sizes": {}, "n": 1})
    assert tmp_path / "baseline.json" in first
    second = bench.write_record({"sizes": {}, "n": 2})
    assert second == [second[0]] and second[0].name.endswith(f"-{bench.host_hash()}.json")
    assert json.loads((tmp_path / "baseline.json").read_text())["n"] == 1


# --------------------------------------------------------------------------- scale benchmark


def test_scale_data_has_the_requested_shape(tmp_path: Path) -> None:
    from benchmarks.scale_data import QUESTIONS, generate
    from evaluator.scheme import load_scheme

    files = generate(tmp_path, units=40, indicators=25, answers=12_000, periods=4, seed=3)
    assert files.rows["units"] == 40
    # 23 outcome measures × 4 quarters × 40 units, ~2 % dropped
    assert 0.95 * 23 * 4 * 40 < files.rows["outcomes"] <= 23 * 4 * 40
    assert 0.97 * 12_000 < files.rows["surveys"] <= 12_000  # 1 % item non-response
    scheme = load_scheme(files.scheme).scheme
    assert sum(len(d.indicators) for d in scheme.dimensions) == 25
    assert scheme.survey.straightline_min_questions <= QUESTIONS  # straight-lining is exercised
    again = generate(tmp_path / "again", units=40, indicators=25, answers=12_000, seed=3)
    assert again.path("surveys").read_bytes() == files.path("surveys").read_bytes()


def test_scale_data_rejects_unknown_periods(tmp_path: Path) -> None:
    from benchmarks.scale_data import generate

    with pytest.raises(ValueError, match="--periods"):
        generate(tmp_path, units=20, indicators=10, answers=1000, periods=3)


@pytest.mark.slow
def test_scale_small_end_to_end_baseline_agrees_with_engine(tmp_path: Path) -> None:
    """The whole small size, three processes; the pandas baseline must match the engine's run
    (measure_size raises otherwise), and a changed baseline rule must be caught."""
    import pandas as pd

    from benchmarks import baseline_pandas as bp
    from benchmarks import scale_run

    rec = scale_run.measure_size("small", tmp_path)
    same = rec["baseline_equality"]
    assert same["max_abs_score_diff"] < 1e-9 and same["rank_diffs"] == 0
    assert same["units_only_one_side"] == 0
    for side in ("engine", "floor", "baseline"):
        assert all(v > 0 for v in rec["sides"][side].values()), side
    assert {f"{s}_s" for s in scale_run.STEPS} <= rec["sides"]["engine"].keys()
    lines = scale_run.report(rec)
    assert any(line.startswith("score") for line in lines)
    # the check has teeth: a score off by 1e-6 is caught
    engine = pd.read_parquet(tmp_path / "engine_scores.parquet")
    wrong = pd.read_parquet(tmp_path / "baseline_scores.parquet")
    wrong.loc[0, "base_score"] += 1e-6
    assert bp.compare(engine, wrong)["max_abs_score_diff"] > 1e-9
    json.dumps(rec)
