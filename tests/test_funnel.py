"""Funnel limits with and without Spiegelhalter's overdispersion correction, against examples
worked by hand, on a real DuckDB store; and the stored funnels of a scored demo run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl
import pytest

from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.funnels import funnel_rows, limit_lines
from evaluator.store import connect

RUN = "run-1"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    yield c
    c.close()


def add_quality(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    full = [{"unit_id": r["unit"], "indicator_id": r.get("indicator", "sat"),
             "responses": r["responses"], "excluded_speeder": r.get("bad", 0),
             "excluded_straightline": 0, "excluded_duplicate": 0, "excluded_out_of_scale": 0,
             "valid": r["responses"] - r.get("bad", 0), "effective_n": r.get("n"),
             "raw_index": r.get("index"), "se": r.get("se")} for r in rows]
    con.register("new_quality", pl.DataFrame(full).to_arrow())
    con.execute(f"INSERT INTO run_survey_quality BY NAME SELECT '{RUN}' AS run_id, * "
                "FROM new_quality")
    con.unregister("new_quality")


def funnels(con: duckdb.DuckDBPyConnection, funnel: str) -> pl.DataFrame:
    rows = DuckDBEngine(con).fetch_polars(funnel_rows(RUN))
    return rows.filter(pl.col("funnel") == funnel).sort("unit_id")


def test_proportions_within_sampling_error_keep_the_plain_limits(con) -> None:
    """Ten units, 100 responses each, 4–6 excluded: p̄ = 50/1000 = 0.05, se = √(.05·.95/100)
    = 0.0217945; z = ±0.01/se = ±0.458831 or 0; winsorising at the 10th/90th percentile changes
    nothing; φ = 6·0.210526/10 = 0.126316; k·φ = 1.26 < χ²₉(95%) = 16.90: not overdispersed,
    τ² = 0; 99.8% limits 0.05 ± 3.090232·0.0217945 = 0.05 ± 0.067350, the lower one stopped at
    0 (a share cannot be negative); 95% limits 0.05 ± 1.959964·0.0217945 = 0.05 ± 0.042716."""
    bad = [4, 5, 6, 5, 4, 6, 5, 5, 4, 6]
    add_quality(con, [{"unit": f"u{i}", "responses": 100, "bad": b} for i, b in enumerate(bad)])
    f = funnels(con, "excluded_share")
    assert f.height == 10
    row = f.row(0, named=True)  # u0: 4 of 100
    assert row["centre"] == pytest.approx(0.05)
    assert row["z"] == pytest.approx(-0.458831, abs=1e-6)
    assert row["phi"] == pytest.approx(0.126316, abs=1e-6)
    assert row["overdispersed"] is False and row["tau2"] == 0
    assert row["lo998"] == 0.0  # 0.05 − 0.067350 < 0
    assert row["hi998"] == pytest.approx(0.05 + 0.067350, abs=1e-6)
    assert row["lo95"] == pytest.approx(0.05 - 0.042716, abs=1e-6)
    assert row["z_adjusted"] == pytest.approx(row["z"])
    assert not f["outside_95"].any()
    # the drawn lines stop at 0 as the stored limits do; the satisfaction funnel's do not
    lines = limit_lines(row["centre"], row["spread"], row["tau2"], 100, 100, steps=1,
                        funnel="excluded_share")
    assert lines["lo998"][0] == 0.0 and lines["lo998_raw"][0] == 0.0
    assert lines["lo95"][0] == pytest.approx(row["lo95"])
    assert limit_lines(row["centre"], row["spread"], row["tau2"], 100, 100,
                       steps=1)["lo998"][0] == pytest.approx(0.05 - 0.067350, abs=1e-6)


def test_overdispersed_means_get_the_additive_correction(con) -> None:
    """Ten units, effective n = 100, respondent SD 20 (se = 2): index 50 … 90, centre 70;
    z = −10, −7.5, −5, −2.5, 0, 0, 2.5, 5, 7.5, 10. Winsorised at the 10th/90th percentiles
    (±7.75): Σz² = 295.125, φ = 29.5125, k·φ = 295.1 > 16.90: overdispersed.
    w = 1/4: Σw − Σw²/Σw = 2.5 − 0.625/2.5 = 2.25; τ² = (295.125 − 9)/2.25 = 127.1667;
    h = √(4 + 127.1667) = 11.452802; 99.8% limits 70 ± 35.391814 (without the correction
    70 ± 6.180464); 95% limits 70 ± 22.447079."""
    index = [50, 55, 60, 65, 70, 70, 75, 80, 85, 90]
    add_quality(con, [{"unit": f"u{i}", "responses": 100, "n": 100.0, "index": float(y),
                       "se": 2.0} for i, y in enumerate(index)])
    f = funnels(con, "satisfaction")
    row = f.row(9, named=True)  # u9: index 90
    assert row["centre"] == pytest.approx(70) and row["spread"] == pytest.approx(20)
    assert row["z"] == pytest.approx(10)
    assert row["phi"] == pytest.approx(29.5125)
    assert row["overdispersed"] is True
    assert row["tau2"] == pytest.approx(127.166667, abs=1e-6)
    assert row["lo998"] == pytest.approx(70 - 35.391814, abs=1e-6)
    assert row["hi998"] == pytest.approx(70 + 35.391814, abs=1e-6)
    assert row["hi95"] == pytest.approx(70 + 22.447079, abs=1e-6)
    assert row["z_adjusted"] == pytest.approx(1.746298, abs=1e-6)
    # without the correction six units would lie outside 99.8%; with it, none does
    assert int((f["z"].abs() > 3.090232).sum()) == 6
    assert not f["outside_998"].any()
    lines = limit_lines(row["centre"], row["spread"], row["tau2"], 100, 100, steps=1)
    assert lines["hi998"][0] == pytest.approx(70 + 35.391814, abs=1e-6)
    assert lines["hi998_raw"][0] == pytest.approx(70 + 6.180464, abs=1e-6)
    # nobody excluded anything: no excluded-share funnel (its spread is 0)
    assert funnels(con, "excluded_share").is_empty()


def test_too_few_units_keep_the_sampling_only_limits(con) -> None:
    index = [50, 60, 70, 80, 90]
    add_quality(con, [{"unit": f"u{i}", "responses": 100, "n": 100.0, "index": float(y),
                       "se": 2.0} for i, y in enumerate(index)])
    f = funnels(con, "satisfaction")
    assert not f["overdispersed"].any() and (f["tau2"] == 0).all()
    assert f["hi998"][0] == pytest.approx(70 + 6.180464, abs=1e-6)


def test_each_satisfaction_indicator_has_its_own_funnel(con) -> None:
    add_quality(con, [{"unit": f"u{i}", "indicator": ind, "responses": 50, "n": 50.0,
                       "index": 60.0 + i + (10 if ind == "b" else 0), "se": 2.0}
                      for i in range(4) for ind in ("a", "b")])
    f = funnels(con, "satisfaction")
    centres = dict(f.group_by("indicator_id").agg(pl.col("centre").first()).iter_rows())
    assert centres == pytest.approx({"a": 61.5, "b": 71.5})


def test_the_demo_run_stores_its_funnels(demo_build) -> None:
    """The scored demo: stuffed units lie outside the excluded-share funnel's 99.8% limits;
    the satisfaction index (real differences between towns) is overdispersed and corrected."""
    con = duckdb.connect(str(demo_build.db), read_only=True)
    try:
        run = demo_build.run_ids["2026"]
        outside = {u for (u,) in con.execute(
            "SELECT unit_id FROM run_funnels WHERE run_id = ? AND funnel = 'excluded_share' "
            "AND outside_998", [run]).fetchall()}
        sat = con.execute("SELECT bool_and(overdispersed), min(tau2) FROM run_funnels "
                          "WHERE run_id = ? AND funnel = 'satisfaction'", [run]).fetchall()[0]
    finally:
        con.close()
    assert set(demo_build.files.truth["survey_stuffing"]) <= outside
    assert sat[0] is True and sat[1] > 0


def test_exports_carry_the_funnels(demo_build, tmp_path) -> None:
    """funnels.csv (and its manifest entry) as stored with the run, through the CLI."""
    import json

    from typer.testing import CliRunner

    from evaluator.cli import app

    run = demo_build.run_ids["2026"]
    out = tmp_path / "x"
    result = CliRunner().invoke(app, ["export", "--db", str(demo_build.db), "--run", run,
                                      "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(out / "funnels.csv", schema_overrides={"unit_id": pl.String})
    assert set(rows["funnel"]) == {"satisfaction", "excluded_share"}
    excl = rows.filter(pl.col("funnel") == "excluded_share")
    assert set(demo_build.files.truth["survey_stuffing"]) <= set(
        excl.filter(pl.col("outside_998"))["unit_id"])
    assert rows.filter(pl.col("funnel") == "satisfaction")["overdispersed"].all()
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert "funnels.csv" in {f["path"] for f in files}
