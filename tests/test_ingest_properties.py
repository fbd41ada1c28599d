"""Property tests of the readers and row checks: what goes in comes out verbatim, or is rejected."""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator.ingest import IngestRejected, ingest_file
from evaluator.ingest.validate import PERIOD_RE
from evaluator.store.db import migrate

# identifiers as offices write them: no control characters, no surrounding spaces
ids = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
              max_size=12).map(str.strip).filter(bool)
chinese = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1,
                  max_size=6)
# everyday Chinese: the GB2312 level-1 hanzi (lead bytes B0–D7), what GB18030 files mostly hold
everyday = st.text(st.tuples(st.integers(0xB0, 0xD7), st.integers(0xA1, 0xFE)).map(
    lambda b: bytes(b).decode("gb2312", errors="replace")).filter(lambda c: "\ufffd" not in c),
    min_size=1, max_size=6)


_TMP = tempfile.TemporaryDirectory(prefix="ingest-props-")
_CON = duckdb.connect()  # in memory: one database for all examples, each load its own batch
migrate(_CON)
UNITS = pl.DataFrame({"unit_id": ["0101"], "name": ["青山镇"], "unit_type": ["township"]})
UNITS.write_csv(Path(_TMP.name) / "base_units.csv")
ingest_file(_CON, "units", Path(_TMP.name) / "base_units.csv")


def _load(kind: str, frame: pl.DataFrame, *, encoding: str = "utf-8", given: str | None = None
          ) -> tuple[list[tuple], IngestRejected | None]:
    """Load `frame` written in `encoding` as a new batch (`given`: the --encoding option); its
    stored rows (without batch_id), or the rejection."""
    path = Path(_TMP.name) / f"{kind}.csv"
    path.write_bytes(frame.write_csv().encode(encoding))
    try:
        result = ingest_file(_CON, kind, path, force=True, rejects=Path(_TMP.name) / "r.csv",
                             encoding=given)
    except IngestRejected as exc:
        return [], exc
    return _CON.execute(f"SELECT * EXCLUDE (batch_id) FROM {kind} WHERE batch_id = ? "
                        "ORDER BY source_row", [result.batch_id]).fetchall(), None


@given(st.lists(ids, min_size=1, max_size=6, unique=True))
def test_unit_ids_round_trip_verbatim(unit_ids: list[str]) -> None:
    frame = pl.DataFrame({"unit_id": unit_ids, "name": ["x"] * len(unit_ids),
                          "unit_type": ["township"] * len(unit_ids)})
    rows, err = _load("units", frame)
    assert err is None, err
    assert [r[0] for r in rows] == unit_ids


@given(st.lists(everyday, min_size=1, max_size=5))
def test_gb18030_names_round_trip(names: list[str]) -> None:
    """Everyday Chinese in GB18030 is recognised without --encoding."""
    frame = pl.DataFrame({"单位编码": [f"{i:04d}" for i in range(len(names))], "单位名称": names,
                          "单位类型": ["township"] * len(names)})
    rows, err = _load("units", frame, encoding="gb18030")
    assert err is None, err
    assert [r[1] for r in rows] == names
    assert [r[0] for r in rows] == [f"{i:04d}" for i in range(len(names))]


@given(st.lists(chinese, min_size=1, max_size=5))
def test_any_gb18030_names_load_verbatim_or_ask_for_the_encoding(names: list[str]) -> None:
    """Rarer characters: loaded verbatim when unambiguous, else refused naming --encoding; with
    --encoding gb18030 always loaded verbatim. Never mojibake."""
    frame = pl.DataFrame({"单位编码": [f"{i:04d}" for i in range(len(names))], "单位名称": names,
                          "单位类型": ["township"] * len(names)})
    rows, err = _load("units", frame, encoding="gb18030")
    if err is not None:
        assert "--encoding" in err.reasons[0].reason and "gb18030" in err.reasons[0].reason
    else:
        assert [r[1] for r in rows] == names
    rows, err = _load("units", frame, encoding="gb18030", given="gb18030")
    assert err is None, err
    assert [r[1] for r in rows] == names


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_numbers_round_trip_exactly(value: float) -> None:
    frame = pl.DataFrame({"unit_id": ["0101"], "period": ["2026"], "measure": ["m"],
                          "value": [repr(value)]})
    rows, err = _load("outcomes", frame)
    assert err is None, err
    assert rows[0][4] == value


@given(st.one_of(st.floats(), st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1,5",
                                                "12 分", "一", "", "1e999", "--1"])))
def test_values_are_loaded_iff_finite_numbers(value: float | str) -> None:
    text = repr(value) if isinstance(value, float) else value
    frame = pl.DataFrame({"unit_id": ["0101"], "period": ["2026"], "measure": ["m"],
                          "value": [text]})
    rows, err = _load("outcomes", frame)
    try:
        expected_ok = math.isfinite(float(text.replace(",", "x")))
    except ValueError:
        expected_ok = False
    assert (err is None) == expected_ok, (text, err)
    if err is not None:
        assert err.reasons[0].row == 2 and err.reasons[0].column == "value"


@given(st.one_of(st.from_regex(r"\A\d{4}(Q\d|-\d{1,2}|)\Z"), st.text(max_size=8)))
def test_period_accepted_iff_it_matches_the_format(period: str) -> None:
    frame = pl.DataFrame({"unit_id": ["0101"], "period": [period], "measure": ["m"],
                          "value": ["1"]})
    rows, err = _load("outcomes", frame)
    cleaned = period.strip()
    assert (err is None) == bool(re.fullmatch(PERIOD_RE, cleaned)), (period, err)
    if err is None:
        assert rows[0][1] == cleaned and rows[0][2] == int(cleaned[:4])


@pytest.mark.parametrize("text", ["1_000", "0x10", " 7 ", "+3", ".5", "1e3"])
def test_number_spellings(text: str) -> None:
    """Pinned behaviour for spellings where parsers differ: Python float() is the reference."""
    frame = pl.DataFrame({"unit_id": ["0101"], "period": ["2026"], "measure": ["m"],
                          "value": [text]})
    rows, err = _load("outcomes", frame)
    try:
        expected: float | None = float(text) if "_" not in text else None
    except ValueError:
        expected = None
    if expected is None:
        assert err is not None
    else:
        assert err is None and rows[0][4] == expected
