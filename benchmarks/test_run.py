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
