"""Wide input files (`ingest --wide`), missing-value markers (`--na`) and years written `2018.0`:
real files through the CLI and `ingest_file`, property tests of the wide parser."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.ingest import IngestRejected, ingest_file
from evaluator.ingest.wide import InputShape
from evaluator.store.db import migrate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FULL = EXAMPLES / "hdi-full"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------ the UNDP layout, end to end


def _undp_wide(path: Path) -> pl.DataFrame:
    """examples/hdi-full as UNDP publishes it: iso3, country, hdicode, then le_2021, eys_2021…"""
    long = pl.read_csv(FULL / "outcomes.csv", schema_overrides={"value": pl.String})
    wide = long.with_columns(pl.col("measure") + "_2021").pivot(
        "measure", index="unit_id", values="value")
    units = pl.read_csv(FULL / "units.csv").select(iso3="unit_id", country="name",
                                                   hdicode="peer_group")
    frame = units.join(wide.rename({"unit_id": "iso3"}), on="iso3", how="left")
    frame.write_csv(path)
    return frame


@pytest.mark.slow
def test_the_undp_wide_layout_reproduces_every_published_hdi(tmp_path: Path) -> None:
    wide = tmp_path / "HDR21-22_wide.csv"
    _undp_wide(wide)
    db = tmp_path / "h.duckdb"
    assert _cli("ingest", "--db", str(db), "--kind", "units", str(FULL / "units.csv"))[0] == 0
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", "--wide", "--map",
                     "iso3=unit_id", "--period-in-header", "--measures",
                     "le_2021,eys_2021,mys_2021,gnipc_2021", str(wide))
    assert code == 0, out
    assert "loaded 764 outcomes rows" in out and "ignored columns: country, hdicode" in out
    stored = pl.DataFrame(_rows(db, "SELECT unit_id, period, measure, value FROM outcomes"),
                          schema=["unit_id", "period", "measure", "value"], orient="row")
    long = pl.read_csv(FULL / "outcomes.csv", schema_overrides={"period": pl.String})
    assert stored.sort(["unit_id", "measure"]).equals(long.sort(["unit_id", "measure"]))
    code, out = _cli("score", "--db", str(db), "--scheme", str(EXAMPLES / "hdi" / "scheme.yaml"),
                     "--period", "2021", "--out", str(tmp_path / "out"), "--top", "0")
    assert code == 0, out
    scores = pl.read_csv(tmp_path / "out" / "scores.csv").join(
        pl.read_csv(FULL / "units.csv"), on="unit_id")
    assert scores.height == 191
    assert (scores["score"] == scores["hdi_published"]).all()
    assert (scores["rank"] == scores["hdi_rank_published"]).all()


def test_undp_layout_without_measures_names_the_text_columns(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    _undp_wide(wide)
    db = tmp_path / "h.duckdb"
    assert _cli("ingest", "--db", str(db), "--kind", "units", str(FULL / "units.csv"))[0] == 0
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", "--wide", "--map",
                     "iso3=unit_id", "--period-in-header", str(wide))
    assert code == 1
    assert "row 1, column country: with --period-in-header" in out and "--measures" in out
    assert _rows(db, "SELECT count(*) FROM outcomes") == [(0,)]
    assert _rows(db, "SELECT status FROM load_batches WHERE kind = 'outcomes'") == [("rejected",)]


# ------------------------------------------------------------------ a COINr-like file

COINR = """uCode,uName,Time,GDP_group,LPI,Flights,Renew
AUT,Austria,2018.0,XL,4.18,29.01,NA
BEL,Belgium,2018.0,L,4.05,NA,9.1
BGR,Bulgaria,2018.0,M,2.81,6.52,18.7
,,,,,,
CYP,Cyprus,2018.0,S,NaN,12.3,9.9
"""


def _coinr(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "units.csv").write_text(
        "unit_id,name,unit_type\nAUT,Austria,country\nBEL,Belgium,country\n"
        "BGR,Bulgaria,country\nCYP,Cyprus,country\n", encoding="utf-8")
    (tmp_path / "iData.csv").write_text(COINR, encoding="utf-8")
    db = tmp_path / "c.duckdb"
    assert _cli("ingest", "--db", str(db), "--kind", "units", str(tmp_path / "units.csv"))[0] == 0
    return db, tmp_path / "iData.csv"


COINR_ARGS = ("--kind", "outcomes", "--wide", "--map", "uCode=unit_id", "--map", "Time=period",
              "--measures", "LPI,Flights,Renew")


def test_a_coinr_like_file_with_na_and_decimal_years(tmp_path: Path) -> None:
    db, data = _coinr(tmp_path)
    code, out = _cli("ingest", "--db", str(db), *COINR_ARGS, "--na", "NA,NaN", str(data))
    assert code == 0, out
    out = out.replace("\n", " ")
    assert "loaded 9 outcomes rows" in out  # 12 cells, 3 of them NA/NaN; the blank row skipped
    assert "3 missing value(s) not loaded (--na)" in out and "skipped 1 blank row" in out
    assert "ignored columns: uName, GDP_group" in out
    got = _rows(db, "SELECT unit_id, period, measure, value, source_row FROM outcomes "
                    "ORDER BY source_row, measure")
    assert got == [
        ("AUT", "2018", "Flights", 29.01, 2), ("AUT", "2018", "LPI", 4.18, 2),
        ("BEL", "2018", "LPI", 4.05, 3), ("BEL", "2018", "Renew", 9.1, 3),
        ("BGR", "2018", "Flights", 6.52, 4), ("BGR", "2018", "LPI", 2.81, 4),
        ("BGR", "2018", "Renew", 18.7, 4),
        ("CYP", "2018", "Flights", 12.3, 6), ("CYP", "2018", "Renew", 9.9, 6),
    ]


def test_without_na_every_marker_is_refused_by_row_and_column(tmp_path: Path) -> None:
    db, data = _coinr(tmp_path)
    code, out = _cli("ingest", "--db", str(db), *COINR_ARGS, str(data))
    assert code == 1
    assert "3 problem(s); nothing was loaded" in out.replace("\n", " ")
    assert "row 2, column Renew: not a number" in out
    assert "row 3, column Flights: not a number" in out
    assert "row 6, column LPI: NaN or infinite is not a value" in out
    assert _rows(db, "SELECT count(*) FROM outcomes") == [(0,)]
    rejects = pl.read_csv(next((tmp_path / "rejects").glob("iData.batch*.rejects.csv")))
    assert rejects.select("row", "column").rows() == [(2, "Renew"), (3, "Flights"), (6, "LPI")]


@pytest.mark.parametrize(("args", "expected"), [
    (("--kind", "outcomes", "--wide", "--measures", "LPI"),
     "row 1, column unit_id: a wide file needs a unit_id column"),
    (("--kind", "outcomes", "--wide", "--map", "uCode=unit_id", "--measures", "LPI"),
     "row 1, column period: a wide file needs a period"),
    (("--kind", "outcomes", "--wide", "--map", "uCode=unit_id", "--map", "Time=period",
      "--period", "2018", "--measures", "LPI"),
     "row 1, column Time: the file has a period column"),
    (("--kind", "outcomes", "--wide", "--map", "uCode=unit_id", "--map", "Time=period",
      "--measures", "LPI,Flight"),
     "row 1, column Flight: --measures names a column the file does not have; did you mean "
     "'Flights'?"),
    (("--kind", "outcomes", "--wide", "--map", "uCode=unit_id", "--map", "Time=period",
      "--measures", "LPI", "--na", "NA"), None),  # LPI has a NaN, not NA: refused
])
def test_layout_errors_name_the_header(tmp_path: Path, args: tuple[str, ...],
                                       expected: str | None) -> None:
    db, data = _coinr(tmp_path)
    code, out = _cli("ingest", "--db", str(db), *args, str(data))
    assert code == 1
    out = out.replace("\n", " ")
    assert (expected or "row 6, column LPI: NaN or infinite is not a value") in out
    assert _rows(db, "SELECT count(*) FROM outcomes") == [(0,)]


@pytest.mark.parametrize(("args", "expected"), [
    (("--kind", "units", "--wide"), "--wide reads outcomes"),
    (("--kind", "outcomes", "--period", "2018"), "add --wide"),
    (("--kind", "outcomes", "--wide", "--period", "2018", "--period-in-header"), "not both"),
    (("--kind", "outcomes", "--wide", "--period", "18"), "--period '18': write a year"),
])
def test_flags_that_do_not_go_together(tmp_path: Path, args: tuple[str, ...], expected: str
                                       ) -> None:
    db, data = _coinr(tmp_path)
    code, out = _cli("ingest", "--db", str(db), *args, str(data))
    assert code == 1 and expected in out.replace("\n", " ")
    assert _rows(db, "SELECT count(*) FROM load_batches WHERE kind = 'outcomes'") == [(0,)]


def test_wide_xlsx_with_a_fixed_period(tmp_path: Path) -> None:
    """The same reader for every format: an XLSX sheet, one period for the file."""
    db, _ = _coinr(tmp_path)
    frame = pl.DataFrame({"unit_id": ["AUT", "BEL"], "LPI": [4.18, 4.05], "Renew": [None, 9.1]})
    frame.write_excel(tmp_path / "wide.xlsx")
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", "--wide", "--period",
                     "2018", "--na", "", str(tmp_path / "wide.xlsx"))
    assert code == 0, out
    assert _rows(db, "SELECT unit_id, period, measure, value FROM outcomes ORDER BY 1, 3") == [
        ("AUT", "2018", "LPI", 4.18), ("BEL", "2018", "LPI", 4.05), ("BEL", "2018", "Renew", 9.1)]


# ------------------------------------------------------------------ long files: --na, 2018.0


def test_long_file_na_and_decimal_year(tmp_path: Path) -> None:
    db, _ = _coinr(tmp_path)
    long = tmp_path / "long.csv"
    long.write_text("unit_id,period,measure,value\nAUT,2018.0,LPI,4.18\nBEL,2018,LPI,NA\n"
                    "BGR,2018.00,LPI,\n", encoding="utf-8")
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", str(long))
    assert code == 1  # without --na: NA and the empty value stay errors, as before
    out = out.replace("\n", " ")
    assert "row 3, column value: not a number" in out and "row 4, column value: empty" in out
    assert "row 2, column period" not in out  # 2018.0 is a year
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", "--na", "NA", str(long))
    assert code == 0, out
    assert "2 missing value(s) not loaded" in out.replace("\n", " ")
    assert _rows(db, "SELECT unit_id, period, value FROM outcomes") == [("AUT", "2018", 4.18)]


def test_decimal_years_only(tmp_path: Path) -> None:
    """2018.5 is not a year; 2018.0 is; a quarter stays a quarter."""
    db, _ = _coinr(tmp_path)
    long = tmp_path / "long.csv"
    long.write_text("unit_id,period,measure,value\nAUT,2018.5,LPI,1\nBEL,2018Q1,LPI,2\n",
                    encoding="utf-8")
    code, out = _cli("ingest", "--db", str(db), "--kind", "outcomes", str(long))
    assert code == 1 and "row 2, column period: period must be a year" in out.replace("\n", " ")


# ------------------------------------------------------------------ properties of the parser

_TMP = tempfile.TemporaryDirectory(prefix="wide-props-")
_CON = duckdb.connect()
migrate(_CON)
UNIT_IDS = [f"{i:03d}" for i in range(1, 9)]
pl.DataFrame({"unit_id": UNIT_IDS, "name": UNIT_IDS, "unit_type": ["t"] * 8}).write_csv(
    Path(_TMP.name) / "u.csv")
ingest_file(_CON, "units", Path(_TMP.name) / "u.csv")

measure_ids = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["NA", "", "NaN"]),
)


@st.composite
def wide_files(draw: st.DrawFn) -> tuple[list[str], list[str], list[list[str]]]:
    units = draw(st.lists(st.sampled_from(UNIT_IDS), min_size=1, max_size=6, unique=True))
    measures = draw(st.lists(measure_ids, min_size=1, max_size=5, unique=True))
    grid = [[draw(cells) for _ in measures] for _ in units]
    return units, measures, grid


def _write(units: list[str], measures: list[str], grid: list[list[str]]) -> Path:
    path = Path(_TMP.name) / "wide.csv"
    frame = pl.DataFrame({"unit_id": units, **{m: [row[j] for row in grid]
                                               for j, m in enumerate(measures)}})
    frame.write_csv(path)
    return path


@given(wide_files())
def test_wide_equals_its_long_form(case: tuple[list[str], list[str], list[list[str]]]) -> None:
    """Every cell that is a number is stored once as (unit, period, measure, value), exactly;
    every marker named by --na is left out; nothing else is stored."""
    units, measures, grid = case
    path = _write(units, measures, grid)
    expected = [(u, "2026", m, float(grid[i][j]), i + 2)
                for i, u in enumerate(units) for j, m in enumerate(measures)
                if grid[i][j] not in ("NA", "", "NaN")]
    shape = InputShape(wide=True, period="2026", na=("NA", "NaN"))
    if not expected:  # every cell missing: refused as a whole, with one clear reason
        with pytest.raises(IngestRejected, match="every value of the file is missing"):
            ingest_file(_CON, "outcomes", path, force=True, rejects=Path(_TMP.name) / "r.csv",
                        shape=shape)
        return
    result = ingest_file(_CON, "outcomes", path, force=True, rejects=Path(_TMP.name) / "r.csv",
                         shape=shape)
    stored = _CON.execute("SELECT unit_id, period, measure, value, source_row FROM outcomes "
                          "WHERE batch_id = ?", [result.batch_id]).fetchall()
    assert sorted(stored) == sorted(expected)
    assert result.rows == len(expected)


@given(wide_files(), st.data())
def test_a_bad_cell_is_named_and_nothing_is_stored(
        case: tuple[list[str], list[str], list[list[str]]], data: st.DataObject) -> None:
    """Without --na, each marker and any text is refused at its own wide row and column."""
    units, measures, grid = case
    i = data.draw(st.integers(0, len(units) - 1))
    j = data.draw(st.integers(0, len(measures) - 1))
    grid[i][j] = data.draw(st.sampled_from(["n/a", "1,5", "x", "NA"]))
    path = _write(units, measures, grid)
    before = _CON.execute("SELECT count(*) FROM outcomes").fetchall()
    with pytest.raises(IngestRejected) as caught:
        ingest_file(_CON, "outcomes", path, force=True, rejects=Path(_TMP.name) / "r.csv",
                    shape=InputShape(wide=True, period="2026"))
    bad = {(p.row, p.column) for p in caught.value.reasons}
    assert (i + 2, measures[j]) in bad
    expected_bad = {(r + 2, measures[c]) for r in range(len(units)) for c in range(len(measures))
                    if not _is_number(grid[r][c])}
    assert bad == expected_bad
    assert _CON.execute("SELECT count(*) FROM outcomes").fetchall() == before


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and text.strip() != "" and text.lower() != "nan"
    except ValueError:
        return False
