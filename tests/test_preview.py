"""The draft preview: the same numbers as a stored run, on a read-only DB, nothing written.

Checked against real runs: the preview of the scheme a run used equals that run, and the
preview of an edited scheme (weights, tree, grades: the re-aggregation path) equals a real
`score_run` of the edited scheme on a copy of the database.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from evaluator.scheme import load_scheme
from evaluator.scheme.dump import dump_scheme
from evaluator.scheme.loader import load_scheme_text
from evaluator.scheme.models import Scheme
from evaluator.scoring import score_run
from evaluator.scoring.preview import Preview

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "indicators/demo_township.yaml"


def _stored(db: Path, run_id: str) -> pl.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("SELECT unit_id, unit_name, score, rank, grade FROM run_scores "
                       "WHERE run_id = $run ORDER BY unit_id", params={"run": run_id}).pl()
    finally:
        con.close()


def _edited(scheme: Scheme) -> Scheme:
    """Weights moved, an indicator moved to another dimension, a stricter top grade."""
    data = scheme.model_dump(mode="json")
    dims = data["dimensions"]
    dims[0]["weight"] = dims[0]["weight"] + 10
    dims[1]["weight"] = dims[1]["weight"] - 10
    moved = dims[0]["indicators"].pop()
    dims[1]["indicators"].append(moved)
    dims[1]["indicators"][0]["weight"] *= 3
    data["grades"][0]["min_score"] = data["grades"][0]["min_score"] + 3
    data.pop("total_points", None)
    for d in dims:
        d.pop("total_points", None)
    return Scheme.model_validate(data)


def _latest_run(db: Path, scheme_id: str) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT run_id FROM runs WHERE scheme_id = ? AND period = '2026' "
                          "ORDER BY created_at DESC LIMIT 1", [scheme_id]).fetchone()
    finally:
        con.close()
    assert row
    return str(row[0])


def test_preview_equals_stored_runs_and_writes_nothing(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    shutil.copy(demo_db, db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    scheme = load_scheme(DEMO).scheme
    run_id = _latest_run(db, scheme.id)
    preview = Preview(db, "2026")
    first = preview.score(scheme)
    assert not first.reused
    assert first.scores.equals(_stored(db, run_id))  # the same numbers as the stored run
    moves = preview.against_run(first, run_id)
    assert moves["rank_move"].abs().max() == 0 and not moves["grade_changed"].any()
    edited = _edited(scheme)
    second = preview.score(edited)
    assert second.reused  # weights, tree and grades only: aggregation reused
    moves = preview.against_run(second, run_id)
    assert moves["rank_move"].abs().max() > 0  # the edit moves units
    preview.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # read only: nothing stored

    con = duckdb.connect(str(db))
    try:
        loaded = load_scheme_text(dump_scheme(edited), "edited.yaml")
        real = score_run(con, loaded, "2026", publish_snapshot=False)
    finally:
        con.close()
    assert second.scores.equals(_stored(db, real))  # = a real run of the edited scheme


def test_a_changed_rule_rescores_that_indicator_only(demo_db: Path) -> None:
    """A rule or direction change scores only those indicators again; the numbers equal a
    preview that computes everything. A transform changes the values: everything again."""
    scheme = load_scheme(DEMO).scheme
    data = scheme.model_dump(mode="json")
    first = data["dimensions"][0]["indicators"][0]
    first["rule"] = {"type": "percentile", "within": "peer_group"}
    data["dimensions"][1]["indicators"][0]["direction"] = "lower"
    ruled = Scheme.model_validate(data)
    first["transform"] = {"log": True}
    transformed = Scheme.model_validate(data)
    preview, fresh = Preview(demo_db, "2026"), Preview(demo_db, "2026")
    try:
        preview.score(scheme)
        again = preview.score(ruled)
        assert again.reused and again.rescored == ("complaint_resolution", "income_growth")
        expected = fresh.score(ruled)
        assert not expected.reused and again.scores.equals(expected.scores)
        assert not again.scores.equals(preview.score(scheme).scores)  # back: the rules moved
        assert not preview.score(transformed).reused
    finally:
        preview.close()
        fresh.close()


@pytest.mark.parametrize("rule", [
    {"type": "percentile", "ties": "average"}, {"type": "zscore", "within": "peer_group"},
    {"type": "fraction_of_max", "panel": [2024, 2026]}, {"type": "pass_fail", "threshold": 5},
    {"type": "efficacy"}, {"type": "bands", "bands": [{"threshold": 5, "score": 80}]}])
def test_each_rule_kind_rescored_alone_equals_a_full_preview(demo_db: Path,
                                                             rule: dict) -> None:
    scheme = load_scheme(DEMO).scheme
    data = scheme.model_dump(mode="json")
    data["dimensions"][0]["indicators"][1]["rule"] = rule
    edited = Scheme.model_validate(data)
    preview, fresh = Preview(demo_db, "2026"), Preview(demo_db, "2026")
    try:
        before = preview.score(scheme)
        again = preview.score(edited)
        assert again.rescored == ("school_dropout",)
        assert again.scores.equals(fresh.score(edited).scores)
        assert not again.scores.equals(before.scores)  # the rule did change the scores
    finally:
        preview.close()
        fresh.close()


def test_preview_refuses_to_write(demo_db: Path) -> None:
    preview = Preview(demo_db, "2026")
    try:
        with pytest.raises(duckdb.Error):
            preview.con.execute("DELETE FROM runs")
    finally:
        preview.close()


def test_a_draft_without_some_indicators_reuses_and_equals_a_full_preview(demo_db: Path) -> None:
    """Dropping indicators (and so the numbers of the ones left, and a whole dimension's
    worth of rows) keeps the indicator scores reusable: the aggregation matches each kept
    indicator by the number its rows carry, and the result equals scoring the draft afresh."""
    scheme = load_scheme(DEMO).scheme
    data = scheme.model_dump(mode="json")
    data["dimensions"][0]["indicators"].pop(0)
    data["dimensions"][1]["indicators"].pop()
    data.pop("total_points", None)
    for d in data["dimensions"]:
        d.pop("total_points", None)
    fewer = Scheme.model_validate(data)
    preview, fresh = Preview(demo_db, "2026"), Preview(demo_db, "2026")
    try:
        before = preview.score(scheme)
        again = preview.score(fewer)
        assert again.reused and not again.rescored
        expected = fresh.score(fewer)
        assert not expected.reused and again.scores.equals(expected.scores)
        assert not again.scores.equals(before.scores)
    finally:
        preview.close()
        fresh.close()


def _into_new_dimension(scheme: Scheme, indicator_id: str) -> Scheme:
    """`indicator_id` moved out of its dimension into a new one of its own."""
    data = scheme.model_dump(mode="json")
    for d in data["dimensions"]:
        kept = [i for i in d["indicators"] if i["id"] != indicator_id]
        if len(kept) < len(d["indicators"]):
            moved = next(i for i in d["indicators"] if i["id"] == indicator_id)
            d["indicators"] = kept
    data["dimensions"].append({"id": "moved_here", "name": {"zh": "新维度", "en": "New"},
                               "weight": 10, "indicators": [moved]})
    data.pop("total_points", None)
    for d in data["dimensions"]:
        d.pop("total_points", None)
    return Scheme.model_validate(data)


@pytest.mark.parametrize(("indicator_id", "reusable"), [
    ("sat_overall", True),  # every unit has its own value: no node's coverage moves
    ("clinic_wait", False),  # units without a value were imputed on their old dimension
])
def test_a_new_dimension_in_the_draft_equals_a_full_preview(
        demo_db: Path, indicator_id: str, reusable: bool) -> None:
    """A dimension the scored scheme did not have: its coverage is rebuilt from the kept
    indicator rows (it used to count as uncovered for every unit, withholding its score), and
    the kept scores are reused only when no indicator row's coverage changed."""
    scheme = load_scheme(DEMO).scheme
    draft = _into_new_dimension(scheme, indicator_id)
    preview, fresh = Preview(demo_db, "2026"), Preview(demo_db, "2026")
    try:
        preview.score(scheme)
        again = preview.score(draft)
        assert again.reused is reusable
        expected = fresh.score(draft)
        assert again.scores.equals(expected.scores)
        back = preview.score(scheme)  # and back to the scored tree
        assert back.reused is reusable and back.scores.equals(fresh.score(scheme).scores)
    finally:
        preview.close()
        fresh.close()
