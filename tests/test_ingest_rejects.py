"""Each class of bad file is rejected whole through the CLI: exit 1, the message names the row and
column, the rejects file lists it, and every data table is byte-for-byte unchanged."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.ingest import DATA, copy_db, fingerprint, ingest, load_base

from evaluator.pseudonym import ENV_VAR

SV = ("response_id,unit_id,period,question,answer,respondent,weight,duration_s,channel,"
      "submitted_at\n")
OUT = "unit_id,period,measure,value\n"


def _text(s: str) -> bytes:
    return s.encode("utf-8")


# (kind, file name, file bytes, expected row, expected column, words the reason must contain)
CASES: dict[str, tuple[str, str, bytes, int, str, str]] = {
    "missing_required_column": ("outcomes", "o.csv", _text(
        "unit_id,period,measure\n0101,2026,x\n"), 1, "value", "missing"),
    "close_column_name_hint": ("outcomes", "o.csv", _text(
        "unit_ids,period,measure,value\n0101,2026,x,1\n"), 1, "unit_id", "did you mean 'unit_ids'"),
    "unknown_chinese_header_hint": ("surveys", "s.csv", _text(
        "答卷号,unit_id,period,question,answer\nR1,0101,2026,q_overall,4\n"), 1, "response_id",
        "--map '答卷号=response_id'"),
    "duplicate_header": ("outcomes", "o.csv", _text(
        "unit_id,period,measure,value,value\n0101,2026,x,1,2\n"), 1, "value", "more than once"),
    "not_a_number": ("outcomes", "o.csv", _text(
        OUT + "0101,2026,x,1\n0102,2026,x,12 分\n"), 3, "value", "not a number"),
    "nan_value": ("outcomes", "o.csv", _text(OUT + "0101,2026,x,NaN\n"), 2, "value", "NaN"),
    "infinite_value": ("targets", "t.csv", _text(
        "unit_id,period,measure,target\n0101,2026,x,1\n0101,2027,x,inf\n"), 3, "target",
        "infinite"),
    "empty_required_value": ("outcomes", "o.csv", _text(
        OUT + "0101,2026,x,1\n ,2026,x,2\n"), 3, "unit_id", "empty"),
    "unknown_unit": ("events", "e.csv", _text(
        "unit_id,period,event\n0101,2026,provincial_award\n101,2026,provincial_award\n"), 3,
        "unit_id", "unknown unit"),
    "bad_period": ("outcomes", "o.csv", _text(OUT + "0101,2026Q5,x,1\n"), 2, "period",
                   "2026Q1"),
    "duplicate_key": ("outcomes", "o.csv", _text(
        OUT + "0101,2026,x,1\n0102,2026,x,1\n0101,2026,x,2\n"), 4, "unit_id+period+measure",
        "same as row 2"),
    "negative_weight": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,p1,-1,100,phone,\n"), 2, "weight", "negative"),
    "negative_duration": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,p1,1,-5,phone,\n"), 2, "duration_s", "negative"),
    "answer_out_of_scale": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,p1,1,100,phone,\nR1,0101,2026,q_service,7,p1,1,100,,\n"),
        3, "answer", "scale [1.0, 5.0]"),
    "bad_timestamp": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,p1,1,100,phone,yesterday\n"), 2, "submitted_at",
        "date-time"),
    "response_split_across_units": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,,,,,\nR1,0102,2026,q_service,4,,,,,\n"), 3,
        "unit_id+period", "one response belongs to one unit"),
    "duplicate_survey_answer": ("surveys", "s.csv", _text(
        SV + "R1,0101,2026,q_overall,4,,,,,\nR1,0101,2026,q_overall,5,,,,,\n"), 3,
        "response_id+question", "duplicate key"),
    "duplicate_unit": ("units", "u.csv", _text(
        "unit_id,name,unit_type\n0301,东湖镇,township\n0301,东湖乡,township\n"), 3, "unit_id",
        "duplicate"),
    "scale_inverted": ("questions", "q.csv", _text(
        "question,scale_min,scale_max\nq_new,5,1\n"), 2, "scale_max", "greater than scale_min"),
    "negative_population": ("units", "u.csv", _text(
        "unit_id,name,unit_type,population\n0301,东湖镇,township,-3\n"), 2, "population",
        "negative"),
    "undecodable_bytes": ("units", "u.csv",
                          b"unit_id,name,unit_type\n0301,caf\xe9 \xff town,township\n", 2, "name",
                          "neither UTF-8 nor GB18030"),
    "utf8_with_one_bad_byte": ("units", "u.csv",
                               "unit_id,name,unit_type\n0301,东湖镇,township\n".encode()
                               + b"0302,\xff\xfe,township\n", 3, "name", "UTF-8"),
    "header_only": ("outcomes", "o.csv", _text(OUT), 2, "(all)", "no data rows"),
    "more_fields_than_header": ("outcomes", "o.csv", _text(
        OUT + "0101,2026,x,1\n0102,2026,x,2,3\n"), 3, "(all)",
        "line 3 of the file has 5 fields but the header has 4 columns"),
}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("base") / "base.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, "reject-tests")
        load_base(db)
        assert ingest(db, "surveys", DATA / "surveys.csv").exit_code == 0
    return db


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_rejected_whole(case: str, base_db: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "reject-tests")
    kind, name, content, row, column, words = CASES[case]
    db = copy_db(base_db, tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    before = fingerprint(db)
    result = ingest(db, kind, path)
    assert result.exit_code == 1, result.output
    assert f"row {row}, column {column}:" in result.output, result.output
    assert words in result.output, result.output
    assert "Traceback" not in result.output
    assert fingerprint(db) == before
    # the attempt is audited, and the rejects file beside the DB lists the same problem
    con = duckdb.connect(str(db), read_only=True)
    status, rejects = con.execute(
        "SELECT status, rejects_path FROM load_batches ORDER BY batch_id DESC LIMIT 1"
    ).fetchall()[0]
    con.close()
    assert status == "rejected"
    listed = pl.read_csv(rejects, infer_schema=False)
    assert Path(rejects).parent == tmp_path / "rejects"
    assert listed.filter((pl.col("row") == str(row)) & (pl.col("column") == column)).height >= 1


def test_rejects_file_masks_respondents_and_lists_every_problem(
        base_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "reject-tests")
    db = copy_db(base_db, tmp_path)
    rows = "".join(f"R{i},0101,2026,q_overall,9,1390000{i:04d},1,100,phone,\n" for i in range(30))
    path = tmp_path / "s.csv"
    path.write_text(SV + rows, encoding="utf-8")
    out = tmp_path / "mine.csv"
    result = ingest(db, "surveys", path, "--rejects", out)
    assert result.exit_code == 1
    assert "and 10 more" in result.output
    listed = pl.read_csv(out, infer_schema=False)
    assert listed.height == 30
    text = out.read_text(encoding="utf-8") + result.output
    assert "13900000001" not in text


@pytest.mark.parametrize("name, content, words", [
    ("bad.xlsx", b"PK\x03\x04 this is not a zip", "not a readable spreadsheet"),
    ("bad.parquet", b"PAR1 garbage", "not a readable Parquet"),
    ("data.json", b"{}", "unknown file type"),
    ("missing.csv", None, "no such file"),
])
def test_unreadable_files_exit_1_with_a_message(name: str, content: bytes | None, words: str,
                                                base_db: Path, tmp_path: Path) -> None:
    db = copy_db(base_db, tmp_path)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    before = fingerprint(db)
    result = ingest(db, "units", path)
    assert result.exit_code == 1
    assert words in result.output and name in result.output
    assert "Traceback" not in result.output
    assert fingerprint(db) == before


def test_unknown_kind(base_db: Path, tmp_path: Path) -> None:
    result = ingest(copy_db(base_db, tmp_path), "budget", DATA / "units.csv")
    assert result.exit_code == 1 and "unknown kind 'budget'" in result.output


def test_a_directory_is_not_a_missing_file(base_db: Path, tmp_path: Path) -> None:
    db = copy_db(base_db, tmp_path)
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "o.csv").write_text(OUT + "0101,2026,x,1\n")
    before = fingerprint(db)
    result = ingest(db, "outcomes", folder)
    assert result.exit_code == 1
    assert f"{folder}: is a directory: give a file path" in result.output
    assert "no such file" not in result.output and "Traceback" not in result.output
    assert fingerprint(db) == before


def test_rows_with_more_fields_are_named_by_line_in_every_batch(
        base_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polars refuses such a file without saying where; we name every line, in any encoding,
    even when the bad line is in a later batch than rows already written."""
    monkeypatch.setenv("EVALUATOR_INGEST_CHUNK_ROWS", "2")
    db = copy_db(base_db, tmp_path)
    header = "unit_id;period;measure;value;备注\r\n"
    rows = ['0101;2026;x;1;"a;b"', '0102;2026;x;2;"say ""a;b"""', "", "0201;2026;x;3;ok",
            "0202;2026;x;4;extra;field", "0101;2027;x;5;;;"]
    path = tmp_path / "o.csv"
    path.write_bytes((header + "\r\n".join(rows) + "\r\n").encode("gb18030"))
    before = fingerprint(db)
    result = ingest(db, "outcomes", path)
    assert result.exit_code == 1, result.output
    assert "row 6, column (all): line 6 of the file has 6 fields but the header has 5" in (
        result.output)
    assert "row 7, column (all): line 7 of the file has 7 fields" in result.output
    assert "delete the extra ';' separators" in result.output
    assert "2 problem(s)" in result.output  # the quoted separators on lines 2 and 3 are fine
    assert "Schema" not in result.output and "truncate_ragged_lines" not in result.output
    assert fingerprint(db) == before
