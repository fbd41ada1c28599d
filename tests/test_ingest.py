"""Good files load: every kind, every encoding and format, mapping, re-loads and supersession."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.ingest import DATA, fingerprint, ingest, load_base
from hypothesis import given
from hypothesis import strategies as st

from evaluator.ingest import IngestRejected, ingest_file
from evaluator.pseudonym import ENV_VAR, Pseudonymiser, key_path
from evaluator.store import connect


@pytest.fixture(autouse=True)
def _no_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def q(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_kind_loads_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    for kind, name in (("targets", "targets.csv"), ("events", "events.csv"),
                       ("surveys", "surveys.csv")):
        result = ingest(db, kind, DATA / name)
        assert result.exit_code == 0, result.output
        assert "loaded" in result.output
    counts = {t: n for t, (n, _) in fingerprint(db).items()}
    assert counts == {"units": 4, "outcomes": 5, "survey_responses": 5, "targets": 2,
                      "events": 3, "questions": 2}
    # identifiers verbatim, year derived from every period form, source rows kept
    assert q(db, "SELECT unit_id FROM units ORDER BY 1")[0] == ("0101",)
    assert q(db, "SELECT period, year, source_row FROM outcomes ORDER BY source_row") == [
        ("2026", 2026, 2), ("2026", 2026, 3), ("2026Q1", 2026, 4), ("2026-03", 2026, 5),
        ("2026", 2026, 6)]
    assert q(db, "SELECT count(*) FROM survey_responses WHERE submitted_at IS NOT NULL") == [(4,)]
    assert q(db, "SELECT value FROM events WHERE event = 'major_safety_accident'") == [(None,)]
    assert q(db, "SELECT count(*), count(DISTINCT batch_id) FROM load_batches "
                 "WHERE status = 'accepted'") == [(6, 6)]


def test_same_file_twice_is_not_duplicated_unless_forced(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    before = fingerprint(db)
    again = ingest(db, "outcomes", DATA / "outcomes_bom.csv")
    assert again.exit_code == 0
    assert "already loaded as batch 3" in again.output
    assert fingerprint(db) == before
    forced = ingest(db, "outcomes", DATA / "outcomes_bom.csv", "--force")
    assert forced.exit_code == 0 and "as batch 4" in forced.output
    assert q(db, "SELECT count(*) FROM outcomes") == [(10,)]
    assert q(db, "SELECT count(*), max(batch_id) FROM current_outcomes") == [(5, 4)]
    assert q(db, "SELECT forced FROM load_batches WHERE batch_id = 4") == [(True,)]


def test_a_later_batch_supersedes_the_value_and_the_old_one_stays(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    fix = tmp_path / "correction.csv"
    fix.write_text("unit_id,period,measure,value\n0101,2026,income_growth_pct,7.5\n")
    assert ingest(db, "outcomes", fix).exit_code == 0
    sql = ("SELECT value FROM {} WHERE unit_id = '0101' AND period = '2026' "
           "AND measure = 'income_growth_pct' ORDER BY batch_id")
    assert q(db, sql.format("current_outcomes")) == [(7.5,)]
    assert q(db, sql.format("outcomes")) == [(6.2,), (7.5,)]


def test_gb18030_with_chinese_headers_and_crlf(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    result = ingest(db, "units", DATA / "units_gb18030.csv")
    assert result.exit_code == 0, result.output
    assert "单位编码→unit_id" in result.output
    assert q(db, "SELECT unit_id, name, peer_group, population FROM units ORDER BY 1")[0] == (
        "0101", "青山镇", "urban", 42000.0)
    assert q(db, "SELECT encoding, column_map->>'单位编码' FROM load_batches") == [
        ("gb18030", "unit_id")]


def test_utf8_bom_header_is_read_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    assert q(db, "SELECT encoding FROM load_batches WHERE kind = 'outcomes'") == [("utf-8-sig",)]
    assert q(db, "SELECT count(*) FROM outcomes WHERE unit_id = '0101'") == [(3,)]


def test_xlsx_number_cells_read_as_written(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "units.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("单位")
    ws.write_row(0, 0, ["unit_id", "name", "unit_type", "population"])
    ws.write_row(1, 0, [12, "青山镇", "township", 42000])  # a numeric id cell
    ws.write_string(2, 0, "0101")  # a text id with a leading zero
    ws.write_row(2, 1, ["河西乡", "township", 15800.5])
    wb.close()
    db = tmp_path / "e.duckdb"
    result = ingest(db, "units", path)
    assert result.exit_code == 0, result.output
    assert q(db, "SELECT unit_id, population, source_row FROM units ORDER BY source_row") == [
        ("12", 42000.0, 2), ("0101", 15800.5, 3)]


def test_xlsx_saved_by_a_spreadsheet_program(tmp_path: Path) -> None:
    """tests/data/units_libreoffice.xlsx was converted from units.csv by LibreOffice Calc."""
    db = tmp_path / "e.duckdb"
    result = ingest(db, "units", DATA / "units_libreoffice.xlsx")
    assert result.exit_code == 0, result.output
    assert q(db, "SELECT unit_id, name FROM units ORDER BY 1") == [
        ("0101", "青山镇"), ("0102", "河西乡"), ("0201", "白沙镇"), ("0202", "石桥乡")]


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    path = tmp_path / "targets.parquet"
    pl.DataFrame({"unit_id": ["0101", "0202"], "period": ["2026", "2026"],
                  "measure": ["income_growth_pct"] * 2, "target": [6.0, 5.5],
                  "source_system": [1.0, 2.0]}).write_parquet(path)
    result = ingest(db, "targets", path)
    assert result.exit_code == 0, result.output
    assert "ignored columns: source_system" in result.output
    assert q(db, "SELECT unit_id, target FROM targets ORDER BY 1") == [
        ("0101", 6.0), ("0202", 5.5)]


def test_map_option_and_map_file(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    path = tmp_path / "t.csv"
    path.write_text("编码,期,指标名,目标数\n0101,2026,income_growth_pct,6\n", encoding="utf-8")
    first = ingest(db, "targets", path)
    assert first.exit_code == 1
    assert "--map" in first.output
    ok = ingest(db, "targets", path, "--map", "编码=unit_id", "--map", "期=period",
                "--map", "指标名=measure", "--map", "目标数=target")
    assert ok.exit_code == 0, ok.output
    mapping = tmp_path / "map.yaml"
    mapping.write_text("编码: unit_id\n期: period\n指标名: measure\n目标数: target\n",
                       encoding="utf-8")
    again = ingest(db, "targets", path, "--force", "--map", mapping)
    assert again.exit_code == 0, again.output
    bad = ingest(db, "targets", path, "--force", "--map", "编码=unit_code")
    assert bad.exit_code == 1 and "not a column of kind 'targets'" in bad.output


def test_header_only_events_file_is_a_valid_empty_batch(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    path = tmp_path / "events.csv"
    path.write_text("unit_id,period,event,value,note\n")
    result = ingest(db, "events", path)
    assert result.exit_code == 0, result.output
    assert "loaded 0 events rows" in result.output


def test_progress_is_reported_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALUATOR_INGEST_CHUNK_ROWS", "2")
    con = connect(tmp_path / "e.duckdb")
    seen: list[tuple[int, int]] = []
    ingest_file(con, "units", DATA / "units.csv", progress=lambda d, t: seen.append((d, t)))
    con.close()
    assert [d for d, _ in seen] == [2, 4, 4]  # each batch staged, then the checked total
    assert all(t >= d for d, t in seen)


# --------------------------------------------------------------------------- pseudonyms


def test_raw_respondent_ids_never_reach_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    assert ingest(db, "surveys", DATA / "surveys.csv").exit_code == 0
    key = key_path(db)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    stored = q(db, "SELECT DISTINCT respondent_hash FROM survey_responses "
                   "WHERE respondent_hash IS NOT NULL ORDER BY 1")
    expected = sorted(Pseudonymiser.for_db(db).hash(r) for r in ("13912345678", "13987654321"))
    assert [h for (h,) in stored] == expected
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("e.duckdb*") if p != key)
    for raw in ("13912345678", "13987654321"):
        assert raw.encode() not in blob
    assert key.read_text().strip().encode() not in blob


def test_the_grep_would_see_a_stored_identifier(tmp_path: Path) -> None:
    """Control for the test above: the same id stored in a plain text column is found."""
    db = tmp_path / "e.duckdb"
    load_base(db)
    path = tmp_path / "s.csv"
    path.write_text((DATA / "surveys.csv").read_text().replace("respondent,", "note_id,")
                    .replace(",phone,", ",13912345678,"), encoding="utf-8")
    path.write_text(path.read_text().replace("channel", "chan").replace("note_id", "channel"))
    assert ingest(db, "surveys", path).exit_code == 0
    assert b"13912345678" in db.read_bytes()


def test_env_secret_replaces_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "office-secret")
    db = tmp_path / "e.duckdb"
    load_base(db)
    assert ingest(db, "surveys", DATA / "surveys.csv").exit_code == 0
    assert not key_path(db).exists()
    assert q(db, "SELECT respondent_hash FROM survey_responses WHERE source_row = 2") == [
        (Pseudonymiser(b"office-secret").hash("13912345678"),)]


def test_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    load_base(db)
    key_path(db).write_text("not hex\n")
    result = ingest(db, "surveys", DATA / "surveys.csv")
    assert result.exit_code == 1
    assert "key file is damaged" in result.output
    assert fingerprint(db)["survey_responses"][0] == 0


@given(st.text(max_size=40), st.binary(min_size=1, max_size=100))
def test_sql_hash_equals_python_hmac(raw: str, key: bytes) -> None:
    p = Pseudonymiser(key)
    expr, params = p.sql("x")
    con = duckdb.connect()
    got = con.execute(f"SELECT {expr} FROM (SELECT ? AS x)", [*params, raw]).fetchall()[0][0]
    con.close()
    assert got == p.hash(raw)


def test_rejected_api_call_raises_with_reasons(tmp_path: Path) -> None:
    con = connect(tmp_path / "e.duckdb")
    path = tmp_path / "o.csv"
    path.write_text("unit_id,period,measure,value\n0101,2026,m,1\n")
    with pytest.raises(IngestRejected) as info:
        ingest_file(con, "outcomes", path, rejects=tmp_path / "r.csv")
    con.close()
    assert info.value.reasons[0].row == 2 and info.value.reasons[0].column == "unit_id"
    assert info.value.rejects_path == tmp_path / "r.csv"
    assert os.path.exists(tmp_path / "r.csv")
