"""End to end on the demo data: the outcome-first scheme against the trace-heavy one.

Uses the generator's own ground truth (truth.json): which units it made show-offs (heavy
paperwork, weak outcomes) and which it stuffed with implausible survey responses.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import pytest

from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
OUTCOME_FIRST = ROOT / "indicators" / "demo_township.yaml"
TRACE_HEAVY = ROOT / "indicators" / "examples" / "trace_heavy.yaml"


@pytest.fixture(scope="module")
def both_runs(demo_build, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the demo DB scored 2026 under both schemes; (con, outcome run, trace run)."""
    db = tmp_path_factory.mktemp("scoring_demo") / "demo.duckdb"
    shutil.copy(demo_build.db, db)
    con = connect(db)
    started = time.perf_counter()
    outcome = score_run(con, load_scheme(OUTCOME_FIRST), "2026", publish_snapshot=False)
    elapsed = time.perf_counter() - started
    trace = score_run(con, load_scheme(TRACE_HEAVY), "2026", publish_snapshot=False)
    yield con, outcome, trace, elapsed, demo_build.files.truth
    con.close()


def ranks(con, run_id: str) -> dict[str, int]:
    return dict(con.execute("SELECT unit_id, rank FROM run_scores WHERE run_id = ?",
                            [run_id]).fetchall())


def test_show_off_units_fall_far_under_the_outcome_first_scheme(both_runs) -> None:
    con, outcome, trace, _, truth = both_runs
    show_off = truth["show_off"]
    assert len(show_off) >= 4
    r_out, r_trace = ranks(con, outcome), ranks(con, trace)
    n = len(r_out)
    for unit in show_off:
        assert r_out[unit] - r_trace[unit] >= n // 6, (unit, r_out[unit], r_trace[unit])
    assert statistics.median(r_out[u] for u in show_off) > 2 * n / 3  # bottom third
    assert statistics.median(r_trace[u] for u in show_off) < n / 3  # top third


def test_outcome_first_run_caps_traces_and_keeps_the_declared_ranking(both_runs) -> None:
    """The trace policy zeroes the trace-only indicator and caps traces at 10%; the ranking
    under declared weights is stored beside it (the dashboard shows what the policy changed)."""
    con, outcome, _, _, _ = both_runs
    rows = con.execute("SELECT unit_id, rank, rank_declared FROM run_scores WHERE run_id = ?",
                       [outcome]).fetchall()
    assert all(r[1] is not None and r[2] is not None for r in rows)
    weights = dict(con.execute("SELECT node_id, effective_weight FROM run_weights "
                               "WHERE run_id = ? AND node_kind = 'indicator'", [outcome]
                               ).fetchall())
    assert weights["posts_liked"] == 0.0  # trace-only: no weight
    trace_share = sum(weights[i] for i in ("meetings_held", "documents_issued", "app_checkin",
                                           "safety_photos", "ledger_pages", "posts_liked"))
    assert trace_share <= 0.10 + 1e-9


def test_survey_stuffing_is_caught_by_the_filters(both_runs) -> None:
    con, outcome, _, _, truth = both_runs
    stuffed = truth["survey_stuffing"]
    excluded = dict(con.execute(
        "SELECT unit_id, max(excluded_speeder + excluded_straightline + excluded_duplicate) "
        "FROM run_survey_quality WHERE run_id = ? GROUP BY unit_id", [outcome]).fetchall())
    typical = statistics.median(excluded.values())
    for unit in stuffed:
        assert excluded[unit] >= max(10, 5 * typical), (unit, excluded[unit], typical)
    flagged = {u for (u,) in con.execute("SELECT unit_id FROM run_flags WHERE run_id = ? AND "
                                         "flag = 'survey_stuffing'", [outcome]).fetchall()}
    assert set(stuffed) <= flagged


def test_demo_run_is_complete_and_fast(both_runs) -> None:
    con, outcome, _, elapsed, _ = both_runs
    n, scored = con.execute("SELECT count(*), count(score) FROM run_scores WHERE run_id = ?",
                            [outcome]).fetchall()[0]
    assert n == scored == 120
    per_unit = con.execute("SELECT count(*) FROM run_indicator_scores WHERE run_id = ?",
                           [outcome]).fetchall()[0][0]
    assert per_unit == 120 * 16
    assert elapsed < 5.0  # 120 units × 16 indicators, one year, including surveys and flags
