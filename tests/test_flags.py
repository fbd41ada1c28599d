"""Run flags on hand-made run tables in a real DuckDB, and end to end from survey answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from helpers.surveys import add_answers, make_scheme, response, set_units

from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.flags import compute_flags
from evaluator.scoring.surveys import build_survey_indices
from evaluator.store import connect
from evaluator.store.indicators import insert_rows

RUN = "run-1"


@pytest.fixture
def con(tmp_path: Path):
    c = connect(tmp_path / "f.duckdb")
    yield c
    c.close()


def add_indicator_scores(con, rows: list[tuple[str, str, str, float | None, float | None]]) -> None:
    """rows: (unit_id, indicator_id, evidence, raw_value, score)."""
    frame = pl.DataFrame(rows, schema={"unit_id": pl.String, "indicator_id": pl.String,
                                       "evidence": pl.String, "raw_value": pl.Float64,
                                       "score": pl.Float64}, orient="row")
    con.register("new_scores", frame.to_arrow())
    # run_indicator_scores is a view over three tables (migration 9): stored through the store
    insert_rows(con, f"(SELECT '{RUN}' AS run_id, unit_id, indicator_id, 'd' AS dimension_id, "
                "evidence, raw_value, NULL::DOUBLE AS transformed_value, 'min_max' AS rule, score, "
                "0.1 AS declared_weight, 0.1 AS weight, 0.0 AS local_weight, "
                "NULL::DOUBLE AS contribution, NULL AS missing_policy, FALSE AS imputed, "
                "NULL AS flags FROM new_scores)")
    con.unregister("new_scores")


def add_quality(con, rows: list[dict[str, Any]]) -> None:
    full = [{"unit_id": r["unit"], "indicator_id": r.get("indicator", "sat"),
             "responses": r["responses"], "excluded_speeder": r.get("sp", 0),
             "excluded_straightline": r.get("sl", 0), "excluded_duplicate": r.get("dup", 0),
             "excluded_out_of_scale": r.get("oos", 0), "valid": r.get("valid", 0),
             "small_sample": r.get("small", False), "shrinkage": r.get("b")} for r in rows]
    con.register("new_quality", pl.DataFrame(full).to_arrow())
    con.execute(f"INSERT INTO run_survey_quality BY NAME SELECT '{RUN}' AS run_id, * "
                "FROM new_quality")
    con.unregister("new_quality")


def flags(con, kind: str) -> dict[str, str]:
    """unit → "English evidence\n中文依据" (each stored in its own column)."""
    rows = con.execute("SELECT unit_id, evidence || chr(10) || evidence_zh FROM run_flags "
                       "WHERE run_id = ? AND flag = ?", [RUN, kind]).fetchall()
    return dict(rows)


def _league(n: int = 12) -> list[tuple[str, str, str, float | None, float | None]]:
    """u00..u11: results fall with the unit number, paperwork is ordinary — except u10 (4× the
    paperwork, weak results: the show-off) and u11 (4× the paperwork, strong results). The
    detector itself is tested in test_showoff.py."""
    rows: list[tuple[str, str, str, float | None, float | None]] = []
    for i in range(n):
        u = f"u{i:02d}"
        result = 95.0 if u == "u11" else 100.0 - 8 * i
        busy = 4.0 if u in {"u10", "u11"} else 1.0
        rows += [(u, "meetings", "trace", busy * (10 + (7 * i) % 5), 100.0),
                 (u, "photos", "trace", busy * (30 + (3 * i) % 4), 50.0),
                 (u, "income", "outcome", 1.0, result), (u, "sat", "satisfaction", 80.0, result)]
    return rows


def test_evidence_is_stored_in_two_columns_never_joined(con) -> None:
    add_indicator_scores(con, _league())
    compute_flags(con_engine(con), make_scheme(), RUN)
    rows = con.execute("SELECT evidence, evidence_zh FROM run_flags WHERE run_id = ?", [RUN]).fetchall()
    assert rows
    for en, zh in rows:
        assert " | " not in en and " | " not in zh
        assert en.isascii() and not zh.isascii()


def test_migration_splits_the_old_joined_evidence(tmp_path: Path) -> None:
    """A database from before migration 2 ("中文 | English" in one column) reads the same after."""
    import duckdb

    from evaluator.store.migrations import MIGRATIONS

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
                "applied_at TIMESTAMP)")
    old.execute(MIGRATIONS[0][2])
    old.execute("INSERT INTO schema_version VALUES (1, 'v1', now())")
    old.execute("INSERT INTO run_flags VALUES ('r', 'u1', 'show_off', '留痕多 | much paperwork'), "
                "('r', 'u2', 'other', 'English only')")
    old.close()
    # read-only (the dashboard, exports): not migrated, still read right
    from evaluator.runs import read_flags

    ro = connect(path, read_only=True)
    before = read_flags(ro, "r")
    ro.close()
    c = connect(path)  # a writer migrates
    stored = c.execute("SELECT unit_id, evidence, evidence_zh FROM run_flags ORDER BY unit_id")
    assert stored.fetchall() == [("u1", "much paperwork", "留痕多"), ("u2", "English only", None)]
    after = read_flags(c, "r")
    assert before.equals(after)
    assert after.rows() == [("u1", "show_off", "much paperwork", "留痕多"),
                            ("u2", "other", "English only", "English only")]
    c.close()


def test_survey_stuffing_relative_to_the_norm(con) -> None:
    normal = [{"unit": f"n{i}", "responses": 100, "sp": i % 3, "sl": 1, "valid": 98 - i % 3}
              for i in range(9)]
    add_quality(con, [
        *normal,
        {"unit": "stuffed", "responses": 120, "sp": 25, "sl": 10, "dup": 5, "valid": 80},
        # same exclusions seen by a second indicator: must not be double counted
        {"unit": "stuffed", "indicator": "sat2", "responses": 120, "sp": 25, "sl": 10,
         "dup": 5, "valid": 80},
        {"unit": "tiny", "responses": 10, "sp": 3, "valid": 7},  # 30% but only 3 responses
        {"unit": "typos", "responses": 100, "oos": 40, "valid": 60},  # data errors, not stuffing
    ])
    compute_flags(con_engine(con), make_scheme(), RUN)
    got = flags(con, "survey_stuffing")
    assert set(got) == {"stuffed"}
    assert "40 of 120" in got["stuffed"] and "speeders 25" in got["stuffed"]
    assert "33.3%" in got["stuffed"] and "median unit 2.0%" in got["stuffed"]


def test_small_sample_one_row_per_unit(con) -> None:
    add_quality(con, [
        {"unit": "a", "indicator": "sat_b", "responses": 12, "valid": 12, "small": True,
         "b": 0.4},
        {"unit": "a", "indicator": "sat_a", "responses": 10, "valid": 9, "small": True, "b": 0.35},
        {"unit": "b", "responses": 50, "valid": 50, "small": False, "b": 1.0},
    ])
    compute_flags(con_engine(con), make_scheme(min_sample=30), RUN)
    got = flags(con, "small_sample")
    assert set(got) == {"a"}
    assert "fewer than 30" in got["a"]
    assert got["a"].index("sat_a 9") < got["a"].index("sat_b 12")
    assert "weight on own mean 0.35" in got["a"]


def test_compute_flags_is_idempotent(con) -> None:
    add_indicator_scores(con, _league())
    add_quality(con, [{"unit": "a", "responses": 3, "valid": 3, "small": True, "b": 0.5}])
    con.execute("INSERT INTO run_flags (run_id, unit_id, flag, evidence) "
                "VALUES (?, 'u01', 'other_flag', 'kept')", [RUN])
    for _ in range(2):
        compute_flags(con_engine(con), make_scheme(), RUN)
    counts = dict(con.execute("SELECT flag, count(*) FROM run_flags GROUP BY flag").fetchall())
    assert counts == {"show_off": 1, "small_sample": 1, "other_flag": 1}


def test_stuffing_caught_end_to_end_from_answers(con) -> None:
    """Answers → survey filters → run_survey_quality → flag, without hand-made counts."""
    units = [(f"u{i}", "A") for i in range(8)]
    set_units(con, units)
    rows: list[dict[str, Any]] = []
    for u, _ in units:
        for j in range(40):
            ans = {"q1": 1 + (j % 5), "q2": 1 + (j + 1) % 5, "q3": 1 + (j + 2) % 5}
            rows += response(f"{u}-{j}", u, ans, duration=200 + j, hash=f"{u}-h{j}")
    for j in range(30):  # u7 also got 30 fast all-5 answers from a handful of phones
        rows += response(f"u7-x{j}", "u7", {"q1": 5, "q2": 5, "q3": 5}, duration=15,
                         hash=f"phone{j % 4}")
    add_answers(con, rows)
    scheme = make_scheme(min_sample=30)
    table = build_survey_indices(con_engine(con), scheme, "2026", "scored_units", "survey_indices")
    con.execute(f"INSERT INTO run_survey_quality SELECT '{RUN}', * FROM {table}")
    compute_flags(con_engine(con), scheme, RUN)
    got = flags(con, "survey_stuffing")
    assert set(got) == {"u7"}
    assert "30 of 70" in got["u7"]
    assert flags(con, "small_sample") == {}


def con_engine(con) -> DuckDBEngine:
    return DuckDBEngine(con)


def test_demo_planted_problems_are_caught(demo_build) -> None:
    """On the generator's data, the planted stuffed and show-off units are the ones flagged."""
    import duckdb

    truth = demo_build.files.truth
    con = duckdb.connect(str(demo_build.db), read_only=True)
    try:
        for period, run_id in demo_build.run_ids.items():
            got: dict[str, set[str]] = {}
            for flag, unit in con.execute(
                    "SELECT flag, unit_id FROM run_flags WHERE run_id = ?", [run_id]).fetchall():
                got.setdefault(flag, set()).add(unit)
            stuffed = set(truth["survey_stuffing"])
            assert got.get("survey_stuffing", set()) == stuffed, period
            show = got.get("show_off", set())
            assert set(truth["show_off"]) <= show, period
            assert len(show & set(truth["show_off"])) / len(show) >= 0.75, period
            assert set(truth["small_sample"]) <= got.get("small_sample", set()), period
    finally:
        con.close()
