"""Uncertainty of a stored run: the bootstrap mirrors the run, intervals cover the truth, the
weight Monte-Carlo and leave-one-out behave as stated, tiers, storage and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from helpers.ingest import cli
from helpers.scoring import dimension, indicator, make_scheme
from hypothesis import given
from hypothesis import strategies as st

from evaluator.runs import read_run, stored_scheme
from evaluator.scheme.loader import SchemeInvalid, load_scheme_text
from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.grades import grades_by_tier
from evaluator.store import connect
from evaluator.uncertainty import UncertaintyError, compute_uncertainty
from evaluator.uncertainty.bootstrap import FINAL, GRADES, run_bootstrap
from evaluator.uncertainty.sensitivity import (
    RunArrays,
    competition_ranks,
    leave_one_out,
    load_arrays,
    monte_carlo,
)
from evaluator.uncertainty.tiers import tiers

ROOT = Path(__file__).resolve().parent.parent
DEMO_SCHEME = ROOT / "indicators" / "demo_township.yaml"


@pytest.fixture()
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "u.duckdb"
    shutil.copy(demo_db, copy)
    return copy


def latest(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT run_id FROM runs WHERE period = '2026' "
                           "ORDER BY created_at DESC LIMIT 1").fetchall()[0][0])


def test_replicates_without_draws_are_the_run_itself(db: Path) -> None:
    """Rescoring (rules with per-replicate reference values, tree, adjustments, rounding, ranks,
    grades with quotas) reproduces the stored run exactly when nothing is redrawn."""
    con = connect(db)
    run_id = latest(con)
    info = read_run(con, run_id)
    assert info is not None
    loaded = stored_scheme(info.scheme_yaml, run_id)
    assert loaded is not None
    engine = DuckDBEngine(con)
    run_bootstrap(engine, loaded.scheme, run_id, info.period, 3, seed=1, resample=False)
    diff = con.execute(f"""
        SELECT count(*) FILTER (WHERE f.score IS DISTINCT FROM s.score),
               count(*) FILTER (WHERE f.rank IS DISTINCT FROM s.rank),
               count(*) FILTER (WHERE i.code IS DISTINCT FROM s.grade), count(*)
        FROM {FINAL} f JOIN run_scores s ON s.unit_id = f.unit_id AND s.run_id = ?
        JOIN {GRADES} g ON g.rep = f.rep AND g.unit_id = f.unit_id
        JOIN _sc_grade_items i ON i.ord = g.ord""", [run_id]).fetchall()[0]
    assert diff[:3] == (0, 0, 0)
    assert diff[3] == 3 * con.execute("SELECT count(*) FROM run_scores WHERE run_id = ? AND "
                                      "score IS NOT NULL", [run_id]).fetchall()[0][0]
    con.close()


def test_cli_score_uncertainty_writes_intervals_and_tiers(db: Path, tmp_path: Path) -> None:
    scheme = tmp_path / "tiered.yaml"
    scheme.write_text(DEMO_SCHEME.read_text(encoding="utf-8")
                      + "\nuncertainty:\n  tiers: true\n  tier_grades: true\n  draws: 200\n",
                      encoding="utf-8")
    out = tmp_path / "out"
    res = cli("score", "--db", db, "--scheme", scheme, "--period", "2026", "--uncertainty",
              "--out", out)
    assert res.exit_code == 0, res.output
    assert "bootstrap replicates" in res.output and "weight-dependent" in res.output
    scores = pl.read_csv(out / "scores.csv", schema_overrides={"unit_id": pl.String})
    assert scores.columns[:4] == ["unit_id", "score", "rank", "grade"]
    for c in ("score_low", "score_high", "rank_low", "rank_high", "tier"):
        assert c in scores.columns
    assert (scores["score_low"] <= scores["score_high"]).all()
    assert (scores["rank_low"] <= scores["rank_high"]).all()
    # the point score lies inside nearly every bootstrap interval (a percentile interval may
    # miss it only for a skewed unit)
    inside = ((scores["score_low"] <= scores["score"] + 0.5)
              & (scores["score"] - 0.5 <= scores["score_high"])).mean()
    assert inside is not None and inside >= 0.95
    t = scores.sort("rank")["tier"].to_numpy()
    assert t[0] == 1 and (np.diff(t) >= 0).all() and t.max() > 1
    # grades by tier: one grade per tier (a veto caps only its own unit), beside the score grade
    assert "tier_grade" in scores.columns and scores["tier_grade"].null_count() == 0
    unvetoed = scores.join(pl.read_csv(out / "scores.csv", schema_overrides={
        "unit_id": pl.String}).select("unit_id", "veto"), on="unit_id").filter(
        pl.col("veto").is_null()) if "veto" in scores.columns else scores
    assert (unvetoed.group_by("tier").agg(pl.col("tier_grade").n_unique())["tier_grade"] == 1
            ).all()
    con = duckdb.connect(str(db), read_only=True)
    run_id = latest(con)
    settings = con.execute("SELECT replicates, level, seed, tiers, summary FROM "
                           "run_uncertainty_settings WHERE run_id = ?", [run_id]).fetchall()
    assert settings[0][:4] == (500, 0.95, 20260, True)
    summary = json.loads(settings[0][4])
    assert summary["firm_units"] + summary["weight_dependent_units"] == scores.height
    # P(grade) is a distribution per unit
    sums = con.execute("SELECT max(abs(s - 1)) FROM (SELECT sum(probability) AS s FROM "
                       "run_grade_probabilities WHERE run_id = ? GROUP BY unit_id)",
                       [run_id]).fetchall()[0][0]
    assert sums < 1e-9
    con.close()


def test_same_seed_same_numbers_other_seed_others(db: Path) -> None:
    con = connect(db)
    run_id = latest(con)

    def stored() -> pl.DataFrame:
        return con.sql("SELECT * EXCLUDE (run_id) FROM run_uncertainty WHERE run_id = ? "
                       "ORDER BY unit_id", params=[run_id]).pl()

    compute_uncertainty(con, run_id, replicates=40, seed=5, draws=50)
    first = stored()
    compute_uncertainty(con, run_id, replicates=40, seed=5, draws=50)
    assert stored().equals(first)  # replaced, not appended, and identical
    compute_uncertainty(con, run_id, replicates=40, seed=6, draws=50)
    assert not stored().equals(first)
    con.close()


def test_bad_arguments_are_explained(db: Path) -> None:
    res = cli("uncertainty", "--db", db, "--level", "1.5")
    assert res.exit_code == 1 and "--level 1.5" in res.output
    res = cli("uncertainty", "--db", db, "--run", "nosuchrun")
    assert res.exit_code == 1 and "no run 'nosuchrun'" in res.output
    con = connect(db)
    with pytest.raises(UncertaintyError, match="at least 20"):
        compute_uncertainty(con, latest(con), replicates=5)
    con.close()


# --------------------------------------------------------------------------- measurement error


def _error_scheme(error: dict | None) -> str:
    src = {"error": error} if error else {}
    doc = make_scheme([dimension("d", [indicator("x", rule={"type": "min_max"}, source=src),
                                       indicator("y", rule={"type": "min_max"})])])
    return doc.text


def test_measurement_error_must_name_exactly_one_kind() -> None:
    with pytest.raises(SchemeInvalid, match="exactly one"):
        load_scheme_text(json.dumps({**json.loads(_error_scheme(None)), "dimensions": [
            dimension("d", [indicator("x", source={"error": {}})])]}), "t.yaml")
    assert load_scheme_text(_error_scheme({"relative": 0.1}), "t.yaml").scheme


def test_declared_error_widens_the_intervals(tmp_path: Path) -> None:
    from helpers.scoring import add_units, add_values

    from evaluator.scoring import score_run

    widths = {}
    for name, error in (("exact", None), ("relative", {"relative": 0.2}),
                        ("sd_measure", {"sd_measure": "x_se"})):
        con = connect(tmp_path / f"{name}.duckdb")
        add_units(con, 12)
        ids = [f"u{i:02d}" for i in range(1, 13)]
        add_values(con, "x", {u: 10.0 + i for i, u in enumerate(ids)})
        add_values(con, "x_se", dict.fromkeys(ids, 3.0))
        add_values(con, "y", {u: 5.0 for u in ids})
        loaded = load_scheme_text(_error_scheme(error), "t.yaml")
        run_id = score_run(con, loaded, "2026", publish_snapshot=False)
        compute_uncertainty(con, run_id, replicates=100, draws=20)
        widths[name] = con.execute("SELECT avg(score_high - score_low), avg(rank_high - rank_low)"
                                   " FROM run_uncertainty WHERE run_id = ?",
                                   [run_id]).fetchall()[0]
        con.close()
    assert widths["exact"] == (0.0, 0.0)
    assert widths["relative"][0] > 1 and widths["relative"][1] > 0
    assert widths["sd_measure"][0] > 1 and widths["sd_measure"][1] > 0


# --------------------------------------------------------------------------- weight sensitivity


def _with(scheme_text: str, **settings: object):
    doc = load_scheme_text(scheme_text, "demo.yaml").scheme
    return doc.model_copy(update={"uncertainty": doc.uncertainty.model_copy(update=settings)})


def test_monte_carlo_at_zero_spread_reproduces_the_ranking(db: Path) -> None:
    con = connect(db, read_only=True)
    run_id = latest(con)
    scheme = _with(DEMO_SCHEME.read_text(encoding="utf-8"), weight_range=0.0,
                   vary_aggregation=False)
    arrays = load_arrays(con, scheme, run_id)
    ranks, grades = monte_carlo(arrays, scheme, draws=7, seed=3)
    assert (ranks == arrays.rank[None, :]).all()
    assert (grades == arrays.grade_ord[None, :]).all()
    # with spread, rankings move, and the same seed draws the same
    spread = _with(DEMO_SCHEME.read_text(encoding="utf-8"), weight_range=0.5)
    a, _ = monte_carlo(arrays, spread, draws=20, seed=3)
    b, _ = monte_carlo(arrays, spread, draws=20, seed=3)
    assert (a == b).all() and (a != arrays.rank[None, :]).any()
    dirichlet = _with(DEMO_SCHEME.read_text(encoding="utf-8"), weight_draws="dirichlet")
    c, _ = monte_carlo(arrays, dirichlet, draws=20, seed=3)
    assert (c != arrays.rank[None, :]).any()
    con.close()


def test_leave_one_out_on_a_hand_built_case() -> None:
    """Two equal-weight indicators, three units: A (90, 10) = 50, B (60, 60) = 60,
    C (20, 70) = 45, ranked B, A, C. Without x: C, B, A; without y: A, B, C."""
    loaded = make_scheme([dimension("d", [indicator("x"), indicator("y")])])
    scheme = loaded.scheme
    run = RunArrays(
        unit_ids=["A", "B", "C"], indicator_ids=["x", "y"],
        scores=np.array([[90.0, 10.0], [60.0, 60.0], [20.0, 70.0]]),
        covered={"__total__": np.ones(3, bool), "d": np.ones(3, bool)},
        bonus=np.zeros(3), deduction=np.zeros(3), veto_max=np.full(3, np.nan),
        veto_ord=np.full(3, -1), rank=np.array([2, 1, 3]), grade_ord=np.zeros(3, int))
    loo = leave_one_out(run, scheme).sort("indicator_id")
    # without x: ranks A3 B2 C1, |Δ| = 1, 1, 2; Spearman of (2,1,3) with (3,2,1) = −0.5
    # without y: ranks A1 B2 C3, |Δ| = 1, 1, 0; Spearman of (2,1,3) with (1,2,3) = 0.5
    assert loo["mean_abs_rank_change"].to_list() == pytest.approx([4 / 3, 2 / 3])
    assert loo["max_abs_rank_change"].to_list() == [2.0, 1.0]
    assert loo["spearman"].to_list() == pytest.approx([-0.5, 0.5])


def test_competition_ranks_share_the_best_rank() -> None:
    s = np.array([[70.0, 80.0, 80.0, 60.0], [1.0, 1.0, 1.0, np.nan]])
    assert competition_ranks(s).tolist() == [[3, 1, 1, 4], [1, 1, 1, 4]]


def test_tiers_open_where_intervals_stop_overlapping() -> None:
    low = np.array([1, 1, 2, 4, 4, 7])
    high = np.array([3, 3, 5, 6, 8, 8])
    # leader 1 reaches rank 3: units 2, 3 join (low 1, 2 ≤ 3); unit 4 (low 4) opens tier 2,
    # unit 5 (low 4 ≤ 6) joins it; unit 6 (low 7 > 6) opens tier 3
    assert tiers(low, high).tolist() == [1, 1, 1, 2, 2, 3]
    assert tiers(np.array([], int), np.array([], int)).tolist() == []


# --------------------------------------------------------------------------- coverage


def _survey_db(path: Path, rng: np.random.Generator, probs: np.ndarray, n: int) -> Path:
    """Units with n respondents each, answers 1–5 drawn with the unit's known probabilities."""
    con = connect(path)
    from helpers.scoring import add_units
    from helpers.surveys import add_answers

    k = probs.shape[0]
    add_units(con, k)
    rows = []
    for u in range(k):  # one loop per generated unit, building test data
        answers = rng.choice(5, size=n, p=probs[u]) + 1
        rows += [{"response_id": f"r{u}-{j}", "unit_id": f"u{u + 1:02d}", "question": "q",
                  "answer": float(a), "duration": 60.0} for j, a in enumerate(answers)]
    add_answers(con, rows)
    con.close()
    return path


@pytest.mark.slow
def test_score_intervals_cover_the_truth_at_the_nominal_rate(tmp_path: Path) -> None:
    """12 data sets × 30 units × 60 respondents, known answer probabilities per unit: the 95%
    bootstrap interval of the (direct) satisfaction score holds the true score 92–98% of the
    time."""
    from evaluator.scoring import score_run

    rng = np.random.default_rng(20260)
    units, n, sets = 30, 60, 12
    probs = rng.dirichlet(np.full(5, 2.0), size=units)
    truth = 100 * ((probs * np.arange(5)).sum(axis=1)) / 4  # percent to max of E[answer]
    doc = make_scheme([dimension("d", [{
        "id": "sat", "name": {"zh": "满意度", "en": "Satisfaction"}, "evidence": "satisfaction",
        "source": {"questions": ["q"], "scale": {"min": 1, "max": 5}}, "rule": {"type": "direct"},
    }])], survey={"min_sample": 5, "speeder_fraction": 0.0}, scale={"decimals": 4})
    hits = total = 0
    for s in range(sets):
        db = _survey_db(tmp_path / f"c{s}.duckdb", np.random.default_rng(s), probs, n)
        con = connect(db)
        run_id = score_run(con, doc, "2026", publish_snapshot=False)
        compute_uncertainty(con, run_id, replicates=400, seed=s, draws=10)
        got = con.sql("SELECT unit_id, score_low, score_high FROM run_uncertainty "
                      "WHERE run_id = ? ORDER BY unit_id", params=[run_id]).pl()
        con.close()
        t = truth[[int(u[1:]) - 1 for u in got["unit_id"]]]
        hits += int(((got["score_low"].to_numpy() <= t) & (t <= got["score_high"].to_numpy()))
                    .sum())
        total += got.height
    coverage = hits / total
    print(f"bootstrap 95% interval coverage: {coverage:.3f} over {total} intervals")
    assert 0.92 <= coverage <= 0.98


# --------------------------------------------------------------------------- exports


def test_exports_carry_intervals_tiers_sensitivity_and_the_level(db: Path, tmp_path: Path) -> None:
    import openpyxl

    con = connect(db)
    run_id = latest(con)
    con.close()
    res = cli("uncertainty", "--db", db, "--run", run_id, "--replicates", "30", "--level", "0.9")
    assert res.exit_code == 0, res.output
    for lang, sheet in (("zh", "排名可靠性"), ("en", "sensitivity")):
        out = tmp_path / f"x-{lang}"
        res = cli("export", "--db", db, "--run", run_id, "--format", "xlsx", "--out", out,
                  "--lang", lang)
        assert res.exit_code == 0, res.output
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["uncertainty"]["level"] == 0.9
        assert manifest["uncertainty"]["replicates"] == 30
        wb = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)
        rows = list(wb[sheet].iter_rows(values_only=True))
        assert len(rows) == 121  # header + every unit
        header = rows[0]
        assert ("等次稳定性" if lang == "zh" else "grade_stability") in header
        summary = list(wb[wb.sheetnames[0]].iter_rows(values_only=True))
        assert ("梯队" if lang == "zh" else "tier") in summary[0]
        assert ("按梯队等次" if lang == "zh" else "tier_grade") in header
    out = tmp_path / "csv"
    assert cli("export", "--db", db, "--run", run_id, "--format", "csv", "--out", out
               ).exit_code == 0
    loo = pl.read_csv(out / "sensitivity_indicators.csv")
    assert loo.height == 16 and loo["spearman"].max() <= 1.0
    scores = pl.read_csv(out / "summary.csv", schema_overrides={"unit_id": pl.String})
    stored = duckdb.connect(str(db), read_only=True)
    boot = stored.sql("SELECT unit_id, score_low FROM run_uncertainty WHERE run_id = ?",
                      params=[run_id]).pl()
    stored.close()
    joined = scores.join(boot, on="unit_id", suffix="_boot")
    assert (joined["score_low"] == joined["score_low_boot"]).all()  # the bootstrap's, once run


# --------------------------------------------------------------------------- properties

@given(st.lists(st.lists(st.integers(0, 20), min_size=3, max_size=3), min_size=1, max_size=5))
def test_competition_ranks_match_their_definition(rows: list[list[int]]) -> None:
    s = np.array(rows, dtype=float) / 4  # ties are common
    got = competition_ranks(s)
    want = 1 + (s[:, None, :] > s[:, :, None]).sum(axis=2)  # 1 + entries strictly above
    assert (got == want).all()


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30))
def test_tiers_are_ordered_and_leaders_are_distinguishable(spans: list[tuple[int, int]]) -> None:
    low = np.array([i + 1 - a for i, (a, _) in enumerate(spans)])
    high = np.array([i + 1 + b for i, (_, b) in enumerate(spans)])
    t = tiers(low, high)
    assert t[0] == 1 and (np.diff(t) >= 0).all() and (np.diff(t) <= 1).all()
    leaders = [int(np.nonzero(t == k)[0][0]) for k in range(1, t.max() + 1)]
    for k, first in enumerate(leaders):
        members = np.nonzero(t == k + 1)[0]
        assert (low[members[1:]] <= high[first]).all()  # a tier reaches its leader
        if k + 1 < len(leaders):
            assert low[leaders[k + 1]] > high[first]  # the next tier's leader does not


# --------------------------------------------------------------------------- grades by tier


def _tier_scheme(share: float | None = None):
    grades = [{"code": "a", "name": {"zh": "甲", "en": "A"}, "min_score": 80,
               **({"max_share": share} if share else {})},
              {"code": "b", "name": {"zh": "乙", "en": "B"}, "min_score": 60},
              {"code": "c", "name": {"zh": "丙", "en": "C"}}]
    return make_scheme([dimension("d", [indicator("x")])], grades=grades,
                       uncertainty={"tiers": True, "tier_grades": True}).scheme


def _tiered(scores: list[float], tier: list[int], veto: list[int | None] | None = None
            ) -> pl.DataFrame:
    n = len(scores)
    order = np.argsort(-np.array(scores), kind="stable")
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    return pl.DataFrame({"unit_id": [f"u{i}" for i in range(n)], "score": scores,
                         "rank": rank, "tier": tier,
                         "veto_grade_ord": veto or [None] * n},
                        schema_overrides={"veto_grade_ord": pl.Int64})


def test_grades_by_tier_take_the_median_unit_band_and_whole_tier_quotas() -> None:
    # tier 1: 95, 85, 78 (median 85: a); tier 2: 75, 62, 61, 50 (median of four: the better
    # middle unit, 62: b); tier 3: 40 (c)
    units = _tiered([95, 85, 78, 75, 62, 61, 50, 40], [1, 1, 1, 2, 2, 2, 2, 3])
    got = dict(grades_by_tier(units, _tier_scheme()).iter_rows())
    assert got == {"u0": "a", "u1": "a", "u2": "a", "u3": "b", "u4": "b", "u5": "b",
                   "u6": "b", "u7": "c"}
    # a quota of 25% (2 of 8) cannot hold tier 1 (3 units): the whole tier moves down to b
    got = dict(grades_by_tier(units, _tier_scheme(share=0.25)).iter_rows())
    assert got["u0"] == got["u1"] == got["u2"] == "b"
    # a veto capping at c caps only its own unit
    vetoed = _tiered([95, 85, 78, 75, 62, 61, 50, 40], [1, 1, 1, 2, 2, 2, 2, 3],
                     [None, 2, None, None, None, None, None, None])
    got = dict(grades_by_tier(vetoed, _tier_scheme()).iter_rows())
    assert got["u1"] == "c" and got["u0"] == got["u2"] == "a"


def test_tier_grades_need_tiers() -> None:
    with pytest.raises(Exception, match="tier_grades"):
        make_scheme([dimension("d", [indicator("x")])], uncertainty={"tier_grades": True})


@given(st.lists(st.tuples(st.floats(0, 100), st.integers(1, 3)), min_size=1, max_size=30),
       st.sampled_from([None, 0.1, 0.3, 0.6]))
def test_grades_by_tier_never_split_a_tier_and_keep_quotas(
        rows: list[tuple[float, int]], share: float | None) -> None:
    scores = sorted((r[0] for r in rows), reverse=True)
    steps = [r[1] for r in rows]
    tier = list(np.cumsum([s == 1 for s in steps]) + 1)  # non-decreasing tiers in rank order
    got = grades_by_tier(_tiered(scores, tier), _tier_scheme(share)).join(
        pl.DataFrame({"unit_id": [f"u{i}" for i in range(len(scores))], "tier": tier}),
        on="unit_id")
    assert got.height == len(scores)
    assert (got.group_by("tier").agg(pl.col("tier_grade").n_unique())["tier_grade"] == 1).all()
    codes = {"a": 0, "b": 1, "c": 2}
    ords = got.sort("tier")["tier_grade"].replace_strict(codes).to_numpy()
    assert (np.diff(ords) >= 0).all()  # a better tier never gets a worse grade
    if share is not None:
        assert (ords == 0).sum() <= int(share * len(scores) + 1e-9)
