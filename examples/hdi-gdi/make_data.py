"""Rebuild the Gender Development Index example inputs from UNDP's composite-indices file.

The CSVs next to it are data taken from UNDP's full-precision time-series file
(`HDR21-22_Composite_indices_complete_time_series.csv`, one row per country, one column per
measure and year); only the 2021 values of the countries with a published GDI are kept.

    python examples/hdi-gdi/make_data.py SOURCE.csv          # writes examples/hdi-gdi/

Writes `units.csv` (unit_id = ISO3 code, English name, unit_type `country`, UNDP's GDI group
as peer_group `group_1` … `group_5`, and the published `gdi_published`, `hdi_f_published`,
`hdi_m_published`, which ingest keeps as extra columns) and `outcomes.csv` (unit_id, period,
measure, value; the eight measures le_f, eys_f, mys_f, gnipc_f and le_m, eys_m, mys_m, gnipc_m).
Values are copied verbatim as text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

YEAR = "2021"
# our measure id: the source column's stem (the year is appended)
MEASURES = {"le_f": "le_f", "eys_f": "eys_f", "mys_f": "mys_f", "gnipc_f": "gni_pc_f",
            "le_m": "le_m", "eys_m": "eys_m", "mys_m": "mys_m", "gnipc_m": "gni_pc_m"}
PUBLISHED = {"gdi_published": "gdi", "hdi_f_published": "hdi_f", "hdi_m_published": "hdi_m"}


def gdi_countries(source: Path) -> pl.DataFrame:
    """The 2021 rows of the source file with a published GDI, the columns we use, as text."""
    columns = ["iso3", "country", f"gdi_group_{YEAR}",
               *(f"{c}_{YEAR}" for c in [*PUBLISHED.values(), *MEASURES.values()])]
    frame = pl.read_csv(source, infer_schema_length=0)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SystemExit(f"{source}: columns missing: {', '.join(missing)}")
    frame = frame.select(columns).filter(
        pl.col(f"gdi_{YEAR}").str.strip_chars().fill_null("") != "")
    incomplete = frame.filter(pl.any_horizontal(pl.all().is_null()))
    if incomplete.height:
        raise SystemExit(f"{source}: rows with a GDI but a missing value: "
                         f"{', '.join(incomplete['iso3'])}")
    return frame.sort("iso3")


def units(frame: pl.DataFrame) -> pl.DataFrame:
    """units.csv: one row per country, with UNDP's published figures for the tests."""
    return frame.select(
        unit_id=pl.col("iso3"), name=pl.col("country"), unit_type=pl.lit("country"),
        peer_group=pl.lit("group_") + pl.col(f"gdi_group_{YEAR}"),
        **{ours: pl.col(f"{theirs}_{YEAR}") for ours, theirs in PUBLISHED.items()})


def outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    """outcomes.csv in the long format, countries in file order, measures in MEASURES order."""
    order = {m: i for i, m in enumerate(MEASURES)}
    return (
        frame.rename({"iso3": "unit_id", **{f"{c}_{YEAR}": m for m, c in MEASURES.items()}})
        .unpivot(index="unit_id", on=list(MEASURES), variable_name="measure")
        .with_columns(period=pl.lit(YEAR),
                      _m=pl.col("measure").replace_strict(order, return_dtype=pl.Int64))
        .sort("unit_id", "_m")
        .select("unit_id", "period", "measure", "value")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path,
                        help="HDR21-22_Composite_indices_complete_time_series.csv")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="directory for units.csv and outcomes.csv (default: this one)")
    args = parser.parse_args(argv)
    frame = gdi_countries(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    units(frame).write_csv(args.out / "units.csv")
    outcomes(frame).write_csv(args.out / "outcomes.csv")
    print(f"{frame.height} countries -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
