"""examples/hdi-full: all 191 countries UNDP ranks in 2021, scored through the CLI, reproduce
every published HDI value and rank; make_data.py rebuilds the committed CSVs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from typer.testing import CliRunner

from evaluator.cli import app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FULL, FEW = EXAMPLES / "hdi-full", EXAMPLES / "hdi"


def _make_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hdi_make_data", FULL / "make_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """scores.csv of `score --out` on examples/hdi-full, joined to UNDP's published figures."""
    tmp = tmp_path_factory.mktemp("hdi_full")
    runner, db, out = CliRunner(), tmp / "hdi.duckdb", tmp / "out"
    for kind in ("units", "outcomes"):
        result = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                     str(FULL / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(FEW / "scheme.yaml"),
                                 "--period", "2021", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})
    published = pl.read_csv(FULL / "units.csv").select(
        "unit_id", "hdi_published", "hdi_rank_published", group="peer_group")
    assert sorted(scores["unit_id"]) == sorted(published["unit_id"])
    return scores.join(published, on="unit_id", how="inner")


# From UNDP's Human Development Report 2021/2022, table 1 (HDI 2021, rank), typed in by hand: the
# committed units.csv is where every other check reads "published" from, so it is anchored here.
UNDP_2021 = {"CHE": (0.962, 1), "NOR": (0.961, 2), "ISL": (0.959, 3), "HKG": (0.952, 4),
             "USA": (0.921, 21), "CHN": (0.768, 79), "IND": (0.633, 132), "NER": (0.400, 189),
             "TCD": (0.394, 190), "SSD": (0.385, 191)}


def test_the_committed_published_figures_are_undps(scored: pl.DataFrame) -> None:
    rows = {r["unit_id"]: (r["hdi_published"], r["hdi_rank_published"], r["score"], r["rank"])
            for r in scored.iter_rows(named=True) if r["unit_id"] in UNDP_2021}
    assert rows.keys() == UNDP_2021.keys()
    for iso, (hdi, rank) in UNDP_2021.items():
        assert rows[iso] == (hdi, rank, hdi, rank), iso


def test_every_published_hdi_value_reproduces(scored: pl.DataFrame) -> None:
    assert scored.height == 191
    off = scored.filter(
        ((pl.col("base_score") - pl.col("hdi_published")).abs() > 0.0005)
        | (pl.col("score") != pl.col("hdi_published")))
    assert off.is_empty(), off.select("unit_id", "base_score", "score", "hdi_published")
    assert (scored["grade"] == scored["group"]).all()  # UNDP's four groups


def test_every_published_rank_reproduces_with_ties_on_the_rounded_value(
        scored: pl.DataFrame) -> None:
    # UNDP ranks the published (3-decimal) HDI, ties sharing the best rank: 1, 2, 2, 4 ...
    undp_rule = pl.col("hdi_published").rank("min", descending=True).cast(pl.Int64)
    assert (scored.select(undp_rule)["hdi_published"] == scored["hdi_rank_published"]).all()
    assert scored["hdi_rank_published"].is_duplicated().any()  # the file has such ties
    # ... and so does `score` (rank over the score rounded to the scheme's decimals)
    off = scored.filter(pl.col("rank") != pl.col("hdi_rank_published"))
    assert off.is_empty(), off.select("unit_id", "base_score", "rank", "hdi_rank_published")
    # Ranking the unrounded HDI would break those ties, never move a country out of its tie
    unrounded = scored.with_columns(
        r=pl.col("base_score").rank("min", descending=True).cast(pl.Int64),
        tied=pl.len().over("hdi_published"))
    assert unrounded.filter(
        (pl.col("r") < pl.col("rank")) | (pl.col("r") > pl.col("rank") + pl.col("tied") - 1)
    ).is_empty()
    assert (unrounded["r"] != unrounded["rank"]).any()


def test_few_country_example_is_the_same_data(scored: pl.DataFrame) -> None:
    """examples/hdi holds a subset of the same rows, including HKG, ISL and USA."""
    few_units, full_units = (pl.read_csv(d / "units.csv") for d in (FEW, FULL))
    assert {"HKG", "ISL", "USA", "CHN"} <= set(few_units["unit_id"])
    assert few_units.join(full_units, on=few_units.columns, how="anti").is_empty()
    few, full = (pl.read_csv(d / "outcomes.csv", infer_schema_length=0) for d in (FEW, FULL))
    assert few.height == 4 * few_units.height
    assert few.join(full, on=few.columns, how="anti").is_empty()


def _as_source(directory: Path) -> pl.DataFrame:
    """The committed CSVs written back in the layout of UNDP's time-series file."""
    units = pl.read_csv(directory / "units.csv", infer_schema_length=0)
    wide = (pl.read_csv(directory / "outcomes.csv", infer_schema_length=0)
            .with_columns(pl.col("measure") + "_2021")
            .pivot(on="measure", index="unit_id", values="value"))
    groups = {v: k for k, v in _make_data().GROUPS.items()}
    return units.join(wide, on="unit_id").select(
        iso3="unit_id", country="name", hdicode=pl.col("peer_group").replace_strict(groups),
        region=pl.lit("XX"), hdi_rank_2021="hdi_rank_published", hdi_2020=pl.lit("0.5"),
        hdi_2021="hdi_published", le_2021="le_2021", eys_2021="eys_2021", mys_2021="mys_2021",
        gnipc_2021="gnipc_2021")


def test_make_data_rebuilds_the_committed_csvs(tmp_path: Path) -> None:
    source = _as_source(FULL)
    extra = pl.DataFrame([  # an unranked country and a regional aggregate: both left out
        {"iso3": "MCO", "country": "Monaco", "le_2021": "85.9463"},
        {"iso3": "ZZA.VHHD", "country": "Very high human development", "hdi_2021": "0.896",
         "le_2021": "78.5", "eys_2021": "16.5", "mys_2021": "12.3", "gnipc_2021": "43752"},
    ], schema={c: pl.String for c in source.columns})
    pl.concat([extra.head(1), source, extra.tail(1)]).sample(
        fraction=1.0, shuffle=True, seed=16).write_csv(tmp_path / "src.csv")
    module = _make_data()
    module.main([str(tmp_path / "src.csv"), "--out", str(tmp_path / "full")])
    module.main([str(tmp_path / "src.csv"), "--out", str(tmp_path / "few"),
                 "--countries", ",".join(pl.read_csv(FEW / "units.csv")["unit_id"])])
    for built, committed in ((tmp_path / "full", FULL), (tmp_path / "few", FEW)):
        for name in ("units.csv", "outcomes.csv"):
            assert (built / name).read_bytes() == (committed / name).read_bytes(), name


def test_make_data_refuses_a_file_without_the_2021_columns(tmp_path: Path) -> None:
    pl.DataFrame({"iso3": ["CHE"], "country": ["Switzerland"]}).write_csv(tmp_path / "bad.csv")
    with pytest.raises(SystemExit, match="columns missing: .*hdi_rank_2021"):
        _make_data().main([str(tmp_path / "bad.csv"), "--out", str(tmp_path)])
    assert not (tmp_path / "units.csv").exists()
