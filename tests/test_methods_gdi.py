"""A ratio total is not clamped to the scale's top: examples/hdi-gdi reproduces UNDP's Gender
Development Index 2021 (female HDI / male HDI) for all 172 countries, the 24 above 1 included;
and the rule by hand (a ratio above the top kept, the floor and a ratio below the total)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers.methods import load_script, score_example
from helpers.scoring import add_events, add_units, add_values, dimension, indicator, make_scheme, run

GDI = Path(__file__).resolve().parent.parent / "examples" / "hdi-gdi"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """scores.csv and dimension_scores.csv of `score --out` on examples/hdi-gdi, joined to
    UNDP's published GDI and female / male HDI."""
    out = tmp_path_factory.mktemp("gdi") / "out"
    scores = score_example(GDI, GDI / "scheme.yaml", out, "2021")
    published = pl.read_csv(GDI / "units.csv")
    scores = scores.join(published, on="unit_id", how="inner")
    dims = pl.read_csv(out / "dimension_scores.csv").join(published, on="unit_id", how="inner")
    assert scores.height == dims["unit_id"].n_unique() == published.height == 172
    return scores, dims


def test_every_published_gdi_reproduces_above_1_too(scored) -> None:
    scores, _ = scored
    off = scores.filter((pl.col("score") != pl.col("gdi_published"))
                        | ((pl.col("base_score") - pl.col("gdi_published")).abs() > 0.0005))
    assert off.is_empty(), off.select("unit_id", "base_score", "score", "gdi_published")
    above = scores.filter(pl.col("gdi_published") > 1)
    assert above.height == 24  # female HDI above male: Barbados 1.034, Mongolia 1.031, …
    assert scores.filter(pl.col("unit_id") == "BRB")["score"].to_list() == [1.034]
    assert scores["score"].max() == 1.034


def test_female_and_male_hdi_reproduce(scored) -> None:
    _, dims = scored
    for sex, column in (("female", "hdi_f_published"), ("male", "hdi_m_published")):
        d = dims.filter(pl.col("dimension_id") == sex)
        assert d.height == 172
        worst = (d["score"] - d[column]).abs().max()
        assert worst is not None and float(worst) < 1e-8, (sex, worst)  # type: ignore[arg-type]


def test_make_data_rebuilds_the_committed_csvs(tmp_path: Path) -> None:
    """The committed CSVs written back in UNDP's layout (plus a row without a GDI, left out)
    come out of make_data.py byte for byte."""
    module = load_script(GDI / "make_data.py")
    units = pl.read_csv(GDI / "units.csv", infer_schema_length=0)
    wide = (pl.read_csv(GDI / "outcomes.csv", infer_schema_length=0)
            .with_columns(pl.col("measure").replace_strict(module.MEASURES) + "_2021")
            .pivot(on="measure", index="unit_id", values="value"))
    source = units.join(wide, on="unit_id").select(
        "*", iso3="unit_id", country="name",
        gdi_group_2021=pl.col("peer_group").str.strip_prefix("group_"),
        gdi_2021="gdi_published", hdi_f_2021="hdi_f_published",
        hdi_m_2021="hdi_m_published").drop(units.columns)
    no_gdi = pl.DataFrame([{"iso3": "MCO", "country": "Monaco", "le_f_2021": "88"}],
                          schema={c: pl.String for c in source.columns})
    pl.concat([no_gdi, source.reverse()]).write_csv(tmp_path / "src.csv")
    module.main([str(tmp_path / "src.csv"), "--out", str(tmp_path / "out")])
    for name in ("units.csv", "outcomes.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (GDI / name).read_bytes(), name


# ----------------------------------------------------------------------------- by hand


def _ratio(con, f: dict[str, float], m: dict[str, float], **top) -> pl.DataFrame:
    add_units(con, len(f))
    add_values(con, "f", f)
    add_values(con, "m", m)
    return run(con, make_scheme([dimension("female", [indicator("f")]),
                                 dimension("male", [indicator("m")])],
                                aggregation="ratio", **top))[1]


def test_ratio_above_the_top_of_a_0_100_scale_is_kept(con) -> None:
    # 100 · 60 / 50 = 120 on the default 0–100 scale; 100 · 30 / 60 = 50
    scores = _ratio(con, {"u01": 60, "u02": 30}, {"u01": 50, "u02": 60})
    assert scores["score"].to_list() == [120.0, 50.0]
    assert scores["rank"].to_list() == [1, 2]


def test_ratio_total_bonus_has_no_top_and_the_floor_stays(con) -> None:
    add_events(con, [("u01", "award", None), ("u02", "late", None)])
    adjustments = [{"id": "award", "name": {"zh": "奖", "en": "Award"}, "kind": "bonus",
                    "event": "award", "points": 0.5, "cap": 1},
                   {"id": "late", "name": {"zh": "迟", "en": "Late"}, "kind": "deduction",
                    "event": "late", "points": 1, "cap": 1}]
    scores = _ratio(con, {"u01": 60, "u02": 30}, {"u01": 50, "u02": 60},
                    scale={"min": 0, "max": 1, "decimals": 3}, adjustments=adjustments)
    # 1.2 + 0.5 = 1.7 (no top); 0.5 − 1 = −0.5, at the floor 0
    assert scores["score"].to_list() == [1.7, 0.0]


def test_a_ratio_below_the_total_is_clamped_by_the_total_only(con) -> None:
    # the ratio node scores 120 (not cut at 100); the arithmetic total (120 + 40)/2 = 80 is on
    # the scale, and a total above 100 (with c = 100) is cut to 100 as every total is
    add_units(con, 2)
    add_values(con, "f", {"u01": 60, "u02": 60})
    add_values(con, "m", {"u01": 50, "u02": 50})
    add_values(con, "c", {"u01": 40, "u02": 100})
    loaded = make_scheme([
        dimension("gdi", [], dimensions=[dimension("female", [indicator("f")]),
                                          dimension("male", [indicator("m")])],
                  aggregation="ratio"),
        dimension("other", [indicator("c")])])
    run_id, scores, _ = run(con, loaded)
    assert scores["score"].to_list() == [80.0, 100.0]
    ratio = con.execute("SELECT score FROM run_dimension_scores WHERE run_id = ? AND "
                        "dimension_id = 'gdi' ORDER BY unit_id", [run_id]).fetchall()
    assert ratio == [(pytest.approx(120.0),), (pytest.approx(120.0),)]
