"""`score --out` writes dimension_scores.csv: every node of the dimension tree but the root, per
unit, checked through the CLI against values worked out from the input files."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from evaluator.cli import app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FULL, FEW = EXAMPLES / "hdi-full", EXAMPLES / "hdi"


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_hdi_dimension_indices_are_undps_formulas(tmp_path: Path) -> None:
    """All 191 countries: health, education and income indices on the HDI's 0–1 scale, each from
    the goalposts of UNDP's technical note, and their geometric mean is the unrounded HDI."""
    db, out = str(tmp_path / "hdi.duckdb"), tmp_path / "out"
    for kind in ("units", "outcomes"):
        _run("ingest", "--db", db, "--kind", kind, str(FULL / f"{kind}.csv"))
    _run("score", "--db", db, "--scheme", str(FEW / "scheme.yaml"), "--period", "2021",
         "--out", str(out))
    dims = pl.read_csv(out / "dimension_scores.csv", schema_overrides={"unit_id": pl.String})
    assert dims.columns[:3] == ["unit_id", "dimension_id", "score"]
    assert dims.height == 191 * 3 and set(dims["dimension_id"]) == {"health", "education",
                                                                     "income"}
    raw = pl.read_csv(FULL / "outcomes.csv").pivot("measure", index="unit_id", values="value")
    expected = raw.select(
        "unit_id",
        health=((pl.col("le") - 20) / 65).clip(0, 1),
        education=((pl.col("eys") / 18).clip(0, 1) + (pl.col("mys") / 15).clip(0, 1)) / 2,
        income=((pl.col("gnipc").log() - math.log(100)) / (math.log(75000) - math.log(100))
                ).clip(0, 1),
    ).unpivot(index="unit_id", variable_name="dimension_id", value_name="expected")
    got = dims.join(expected, on=["unit_id", "dimension_id"], how="inner")
    assert got.height == dims.height
    assert (got["score"] - got["expected"]).abs().max() < 1e-12
    assert (got["score_100"] - 100 * got["expected"]).abs().max() < 1e-9
    scores = pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})
    geo = dims.group_by("unit_id").agg(hdi=pl.col("score").log().mean().exp())
    joined = scores.join(geo, on="unit_id")
    assert (joined["base_score"] - joined["hdi"]).abs().max() < 1e-12
    # units in the league-table order, as in scores.csv
    assert dims["unit_id"].unique(maintain_order=True).to_list() == scores["unit_id"].to_list()


NESTED = """
id: nested
version: "1"
name: {zh: 嵌套, en: Nested}
year: 2026
unit_types: [township]
dimensions:
  - id: results
    name: {zh: 实绩, en: Results}
    weight: 3
    dimensions:
      - id: economy
        name: {zh: 经济, en: Economy}
        weight: 1
        indicators:
          - {id: income, name: {zh: 收入, en: Income}, evidence: outcome,
             source: {measure: income}, rule: {type: goalposts, lower: 0, upper: 10}}
      - id: safety
        name: {zh: 安全, en: Safety}
        weight: 1
        indicators:
          - {id: incidents, name: {zh: 事故, en: Incidents}, evidence: outcome,
             source: {measure: incidents}, direction: lower,
             rule: {type: goalposts, lower: 0, upper: 4}}
  - id: service
    name: {zh: 服务, en: Service}
    weight: 1
    indicators:
      - {id: wait, name: {zh: 等候, en: Waiting}, evidence: process,
         source: {measure: wait}, direction: lower, rule: {type: goalposts, lower: 0, upper: 60}}
"""


def test_nested_tree_every_node_but_the_root(tmp_path: Path) -> None:
    """Sub-dimensions and their parents appear with parent_id and depth (0 = top level); a unit
    missing a whole sub-dimension's data has an empty score there (and the parent reweights)."""
    (tmp_path / "units.csv").write_text(
        "unit_id,name,unit_type\n001,A,township\n002,B,township\n", encoding="utf-8")
    (tmp_path / "outcomes.csv").write_text(
        "unit_id,period,measure,value\n"
        "001,2026,income,5\n001,2026,incidents,1\n001,2026,wait,30\n"
        "002,2026,income,8\n002,2026,wait,15\n", encoding="utf-8")
    scheme = tmp_path / "nested.yaml"
    scheme.write_text(NESTED, encoding="utf-8")
    db, out = str(tmp_path / "t.duckdb"), tmp_path / "out"
    for kind in ("units", "outcomes"):
        _run("ingest", "--db", db, "--kind", kind, str(tmp_path / f"{kind}.csv"))
    _run("score", "--db", db, "--scheme", str(scheme), "--period", "2026", "--out", str(out))
    dims = pl.read_csv(out / "dimension_scores.csv", schema_overrides={"unit_id": pl.String})
    got = {(r["unit_id"], r["dimension_id"]): (r["score"], r["parent_id"], r["depth"])
           for r in dims.iter_rows(named=True)}
    assert got == {
        # 001: economy 50, safety 75, results = mean 62.5; service 50
        ("001", "results"): (62.5, None, 0), ("001", "economy"): (50.0, "results", 1),
        ("001", "safety"): (75.0, "results", 1), ("001", "service"): (50.0, None, 0),
        # 002: no incidents figure → safety empty, results = economy alone (reweighted)
        ("002", "results"): (80.0, None, 0), ("002", "economy"): (80.0, "results", 1),
        ("002", "safety"): (None, "results", 1), ("002", "service"): (75.0, None, 0),
    }
    scores = pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})
    assert dict(zip(scores["unit_id"], scores["base_score"], strict=True)) == {
        "002": (3 * 80 + 75) / 4, "001": (3 * 62.5 + 50) / 4}
    assert dims["unit_id"].to_list()[:4] == ["002"] * 4  # by rank, then the scheme's order
    assert dims["dimension_id"].to_list()[:4] == ["results", "economy", "safety", "service"]
