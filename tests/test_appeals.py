"""Appeals: filed on a real line, resolved once, kept on record, listed by later exports."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.exports import DEMO, Built, add_correction, copy_demo, rescore
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.appeals import AppealError, file_appeal, list_appeals, resolve_appeal
from evaluator.appstore import app_db_path, connect_app
from evaluator.cli import app
from evaluator.export import export_run
from evaluator.export.cards import safe_name


@pytest.fixture()
def built(demo_build, tmp_path: Path) -> Built:  # type: ignore[no-untyped-def]
    return copy_demo(demo_build, tmp_path / "db")


def _cons(db: Path):  # type: ignore[no-untyped-def]
    return duckdb.connect(str(db), read_only=True), connect_app(db)


@pytest.mark.slow
def test_appeal_lifecycle_and_exports(built: Built, tmp_path: Path) -> None:
    old = built.runs["demo_2026"]
    unit = built.units["unit_id"][3]
    data, store = _cons(built.db)
    a1 = file_appeal(
        data,
        store,
        run_id=old,
        unit_id=unit,
        indicator_id="income_growth",
        reason="统计口径有误 wrong base year",
        filed_by="unit clerk",
    )
    a2 = file_appeal(
        data, store, run_id=old, unit_id=unit, event="provincial_award", reason="award missing"
    )
    with pytest.raises(AppealError, match="still open"):
        file_appeal(data, store, run_id=old, unit_id=unit, indicator_id="income_growth", reason="x")
    data.close()

    batch = add_correction(built.db, tmp_path, unit, "2026", "income_growth_pct", 9.5)
    new = rescore(built.db, DEMO, "2026")
    data = duckdb.connect(str(built.db), read_only=True)
    with pytest.raises(AppealError, match="needs --batch"):
        resolve_appeal(data, store, a1, accept=True, note="fixed")
    with pytest.raises(AppealError, match="not an accepted load batch"):
        resolve_appeal(
            data, store, a1, accept=True, note="fixed", correction_batch=9999, rescore_run_id=new
        )
    with pytest.raises(AppealError, match="already part of the contested run"):
        resolve_appeal(
            data, store, a1, accept=True, note="fixed", correction_batch=1, rescore_run_id=new
        )
    with pytest.raises(AppealError, match="later run of the same period"):
        resolve_appeal(
            data,
            store,
            a1,
            accept=True,
            note="fixed",
            correction_batch=batch,
            rescore_run_id=built.runs["demo_2025"],
        )
    resolve_appeal(
        data,
        store,
        a1,
        accept=True,
        note="统计站更正",
        correction_batch=batch,
        rescore_run_id=new,
        resolved_by="office",
    )
    resolve_appeal(data, store, a2, accept=False, note="the award came in 2027")
    with pytest.raises(AppealError, match="already accepted"):
        resolve_appeal(data, store, a1, accept=False, note="changed my mind")
    data.close()

    listed = list_appeals(store)
    assert listed.select("appeal_id", "status", "correction_batch", "rescore_run_id").rows() == [
        (a1, "accepted", batch, new),
        (a2, "rejected", None, None),
    ]
    log = store.execute("SELECT appeal_id, action FROM appeal_log ORDER BY log_id").fetchall()
    assert [tuple(r) for r in log] == [
        (a1, "filed"),
        (a2, "filed"),
        (a1, "accepted"),
        (a2, "rejected"),
    ]
    store.close()

    # the corrected value is what the re-score used
    con = duckdb.connect(str(built.db), read_only=True)
    raw = con.execute(
        "SELECT raw_value FROM run_indicator_scores WHERE run_id = ? AND unit_id = ? "
        "AND indicator_id = 'income_growth'",
        [new, unit],
    ).fetchall()
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    con.close()
    assert raw == [(9.5,)]
    assert not any("appeal" in t for t in tables)  # app data never lands in the data DB
    assert app_db_path(built.db).exists()

    for run, expected in ((new, 2), (old, 2), (built.runs["demo_2025"], 0)):
        out = tmp_path / f"out_{run}"
        export_run(built.db, run, fmt="xlsx", out=out, cards=False, summary=False)
        method = pl.read_excel(out / "results.xlsx", sheet_name="methodology")
        lines = method.filter(pl.col("section") == "appeals")
        assert lines.filter(pl.col("key").str.starts_with("appeal_")).height == expected
        if expected:
            text = " ".join(lines["value"].to_list())
            assert f"correction batch {batch}, re-score run {new}" in text
            assert "reason: the award came in 2027" in text
        sheet = pl.read_excel(out / "results.xlsx", sheet_name="appeals")
        assert sheet.height == expected


def test_appeal_cli(built: Built) -> None:
    runner = CliRunner()
    db = str(built.db)
    unit = built.units["unit_id"][0]
    ok = runner.invoke(
        app,
        [
            "appeals",
            "file",
            "--db",
            db,
            "--unit",
            unit,
            "--indicator",
            "clinic_wait",
            "--reason",
            "wrong clinic",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert built.runs["heavy_2026"] in ok.output  # latest run when --run is left out
    for args, message in (
        (["--unit", "nobody", "--indicator", "clinic_wait"], "was not scored"),
        (["--unit", unit, "--indicator", "nope"], "is not in run"),
        (["--unit", unit, "--event", "alien_landing"], "known events"),
        (["--unit", unit, "--indicator", "clinic_wait", "--event", "x"], "exactly one"),
    ):
        bad = runner.invoke(app, ["appeals", "file", "--db", db, "--reason", "r", *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output
    both = runner.invoke(app, ["appeals", "resolve", "1", "--db", db, "--note", "n"])
    assert both.exit_code == 1 and "--accept or --reject" in both.output
    rej = runner.invoke(app, ["appeals", "resolve", "1", "--db", db, "--reject", "--note", "no"])
    assert rej.exit_code == 0, rej.output
    listed = runner.invoke(app, ["appeals", "list", "--db", db, "--json"])
    assert listed.exit_code == 0 and '"status": "rejected"' in listed.output


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_reason_text_round_trips(tmp_path_factory: pytest.TempPathFactory, reason: str) -> None:
    """Any reason text (quotes, CJK, newlines) is stored and listed verbatim."""
    store = connect_app(tmp_path_factory.mktemp("app") / "x.duckdb")
    cur = store.execute(
        "INSERT INTO appeals (run_id, unit_id, indicator_id, reason, filed_at) "
        "VALUES ('r', 'u', 'i', ?, 't')",
        [reason.strip()],
    )
    got = list_appeals(store)["reason"].to_list()
    store.close()
    assert cur.lastrowid == 1 and got == [reason.strip()]


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=20, unique=True))
def test_card_file_names_are_safe_and_distinct(ids: list[str]) -> None:
    names = [safe_name(i) for i in ids]
    assert len(set(names)) == len(names)
    assert all(n not in (".", "..") and "/" not in n and "\\" not in n and n for n in names)
