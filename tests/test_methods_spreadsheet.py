"""The spreadsheet template round-trips a scheme that uses every method added to the scheme
language (min_coverage, denomination, rule ranges, tie rules, panels, reference units, the
other means with their power, the new imputations)."""

from __future__ import annotations

from pathlib import Path

from helpers.scoring import dimension, indicator, make_scheme

from evaluator.scheme.dump import dump_scheme
from evaluator.scheme.loader import load_scheme_text
from evaluator.scheme.spreadsheet import write_template
from evaluator.scheme.spreadsheet_import import read_scheme_workbook


def every_method():
    return make_scheme([
        dimension("n1", [
            indicator("mm_r", "m1", {"type": "min_max", "range": [1, 100],
                                     "panel": [2019, 2021]}, missing="group_mean",
                      impute_by="parent_id"),
            indicator("zs", "m2", {"type": "zscore", "clamp": False, "panel": [2020, 2021]},
                      missing="group_median"),
            indicator("pc", "m3", {"type": "percentile", "ties": "min"},
                      missing="previous_period"),
            indicator("fom", "m4", {"type": "fraction_of_max"}),
            indicator("ref", "m5", {"type": "reference_unit", "unit": "CHE", "clamp": False}),
            indicator("rate", "crimes", {"type": "direct"},
                      source={"per": "population", "factor": 10000}),
        ], aggregation="generalised", power=-0.5, min_coverage=0.5),
        dimension("n2", [indicator("a", "m6"), indicator("b", "m7")],
                  aggregation="mazziotta_pareto"),
        dimension("n3", [], dimensions=[dimension("f", [indicator("c", "m8")],
                                                  aggregation="median"),
                                        dimension("m", [indicator("d", "m9")],
                                                  aggregation="harmonic")],
                  aggregation="ratio", min_coverage=1),
    ], min_coverage=0.75, aggregation="arithmetic")


def test_a_scheme_using_every_new_method_round_trips(tmp_path: Path) -> None:
    scheme = every_method().scheme
    again = read_scheme_workbook(write_template(scheme, tmp_path / "s.xlsx"))
    assert again == scheme
    # and through YAML, validated and cross-checked like a file
    assert load_scheme_text(dump_scheme(scheme), "s.yaml").scheme == scheme
