"""Rebuild the HDI example inputs from UNDP's composite-indices time-series file.

Why a script: the CSVs next to it are data taken from UNDP's full-precision file
(`HDR21-22_Composite_indices_complete_time_series.csv`, one row per country, one column per
measure and year). Only the 2021 values are kept here; this script shows, and redoes, how.

    python examples/hdi-full/make_data.py SOURCE.csv                     # examples/hdi-full/
    python examples/hdi-full/make_data.py SOURCE.csv --out examples/hdi \\
        --countries CHE,NOR,AUS,DNK,DEU,GBR,JPN,HKG,ISL,USA,CHN,IND,NER  # examples/hdi/

Writes `units.csv` (unit_id = ISO3 code, English name, unit_type `country`, UNDP's group as
peer_group, the published `hdi_published` and `hdi_rank_published`, which ingest keeps as extra
columns) and `outcomes.csv` (unit_id, period, measure, value; measures le, eys, mys, gnipc).
Only the countries UNDP ranks in 2021 are kept: rows without `hdi_rank_2021` (unranked
countries, regional and group aggregates) are left out. Values are copied verbatim as text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

YEAR = "2021"
MEASURES = ("le", "eys", "mys", "gnipc")
GROUPS = {"Very High": "very_high", "High": "high", "Medium": "medium", "Low": "low"}


def ranked_countries(source: Path) -> pl.DataFrame:
    """The ranked 2021 rows of the source file, the columns we use, all as text."""
    columns = ["iso3", "country", "hdicode", f"hdi_rank_{YEAR}", f"hdi_{YEAR}",
               *(f"{m}_{YEAR}" for m in MEASURES)]
    frame = pl.read_csv(source, infer_schema_length=0)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SystemExit(f"{source}: columns missing: {', '.join(missing)}")
    frame = frame.select(columns).filter(
        pl.col(f"hdi_rank_{YEAR}").str.strip_chars().fill_null("") != "")
    incomplete = frame.filter(pl.any_horizontal(pl.all().is_null()))
    if incomplete.height:
        raise SystemExit(f"{source}: ranked rows with a missing value: "
                         f"{', '.join(incomplete['iso3'])}")
    return frame


def units(frame: pl.DataFrame) -> pl.DataFrame:
    """units.csv: one row per country, with UNDP's published HDI and rank for the tests."""
    return frame.select(
        unit_id=pl.col("iso3"),
        name=pl.col("country"),
        unit_type=pl.lit("country"),
        peer_group=pl.col("hdicode").replace_strict(GROUPS),
        hdi_published=pl.col(f"hdi_{YEAR}"),
        hdi_rank_published=pl.col(f"hdi_rank_{YEAR}"),
    ).sort(pl.col("hdi_rank_published").cast(pl.Int64), "unit_id")


def outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    """outcomes.csv in the long format: unit_id, period, measure, value."""
    return (
        frame.rename({"iso3": "unit_id", **{f"{m}_{YEAR}": m for m in MEASURES}})
        .unpivot(index="unit_id", on=list(MEASURES), variable_name="measure")
        .with_columns(period=pl.lit(YEAR))
        .select("unit_id", "period", "measure", "value")
    )


def main(argv: list[str] | None = None) -> None:
    """Read the source file, keep the chosen ranked countries, write the two CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="HDR21-22_Composite_indices_complete_time_series.csv")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="directory for units.csv and outcomes.csv (default: this one)")
    parser.add_argument("--countries", default="",
                        help="comma-separated ISO3 codes to keep, in this order (default: all ranked)")
    args = parser.parse_args(argv)
    frame = ranked_countries(args.source)
    table = units(frame)
    if args.countries:
        wanted = [c.strip() for c in args.countries.split(",") if c.strip()]
        unknown = sorted(set(wanted) - set(table["unit_id"]))
        if unknown:
            raise SystemExit(f"not ranked in {YEAR} in {args.source}: {', '.join(unknown)}")
        order = pl.DataFrame({"unit_id": wanted, "_order": range(len(wanted))})
        table = table.join(order, on="unit_id").sort("_order").drop("_order")
    long = outcomes(frame).join(table.select("unit_id"), on="unit_id", how="semi")
    order = table.select("unit_id").with_row_index("_u")
    long = (long.join(order, on="unit_id")
            .with_columns(_m=pl.col("measure").replace_strict(
                {m: i for i, m in enumerate(MEASURES)}, return_dtype=pl.Int64))
            .sort("_u", "_m").drop("_u", "_m"))
    args.out.mkdir(parents=True, exist_ok=True)
    table.write_csv(args.out / "units.csv")
    long.write_csv(args.out / "outcomes.csv")
    print(f"{table.height} countries, {long.height} outcome rows -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
