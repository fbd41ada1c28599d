"""Value-added scores and peer comparisons through a real scoring run on a real DuckDB store:
zero in expectation without a context effect, a planted context effect recovered."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import polars as pl
import pytest
from helpers.scoring import add_values, dimension, indicator, make_scheme
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evaluator.scheme.models import Fairness
from evaluator.scoring import score_run
from evaluator.scoring.value_added import fit
from evaluator.store import connect


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    yield c
    c.close()


def towns(con: duckdb.DuckDBPyConnection, n: int, seed: int, urban_effect: float,
          pop_effect: float = 0.0) -> pl.DataFrame:
    """n units, every other one urban, lognormal population; two outcome measures whose values
    (already 0–100 scores: rule `direct`) are 50 + urban_effect·urban + pop_effect·ln(pop/20000)
    + N(0, 3) and 60 + N(0, 3)."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:02d}" for i in range(n)]
    urban = np.arange(n) % 2 == 0
    pop = np.round(np.exp(rng.normal(np.log(20000), 0.5, n)))
    con.execute("INSERT INTO load_batches (batch_id, kind, file_name, checksum, status, loaded_at)"
                " VALUES (1, 'units', 't', 'c1', 'accepted', now())")
    con.executemany("INSERT INTO units (batch_id, unit_id, name, unit_type, peer_group, "
                    "population) VALUES (1, ?, ?, 'township', ?, ?)",
                    [[u, u, "urban" if g else "rural", float(p)]
                     for u, g, p in zip(ids, urban, pop, strict=True)])
    a = 50 + urban_effect * urban + pop_effect * np.log(pop / 20000) + rng.normal(0, 3, n)
    b = 60 + rng.normal(0, 3, n)
    add_values(con, "a", dict(zip(ids, a.round(6).tolist(), strict=True)))
    add_values(con, "b", dict(zip(ids, b.round(6).tolist(), strict=True)))
    return pl.DataFrame({"unit_id": ids, "urban": urban, "pop": pop})


def scheme(**fairness):
    inds = [indicator("a", rule={"type": "direct"}, weight=1),
            indicator("b", rule={"type": "direct"}, weight=1)]
    return make_scheme([dimension("d", inds)], fairness=fairness or None)


def stored(con: duckdb.DuckDBPyConnection, run: str) -> pl.DataFrame:
    return con.sql("SELECT * FROM run_value_added WHERE run_id = ? ORDER BY indicator_id, "
                   "unit_id", params=[run]).pl()


def test_recovers_a_planted_urban_effect(con) -> None:
    units = towns(con, 40, seed=3, urban_effect=10.0)
    run = score_run(con, scheme(value_added={"covariates": ["peer_group"]}), "2026")
    rows = stored(con, run).join(units, on="unit_id")
    a = rows.filter(pl.col("indicator_id") == "a")
    gap = a.group_by("urban").agg(pl.col("expected").mean()).sort("urban")["expected"]
    assert gap[1] - gap[0] == pytest.approx(10.0, abs=2.5)  # planted: +10 for urban units
    # value-added has no urban/rural gap left: it sums to zero within each group
    for _, part in a.group_by("urban"):
        assert part["value_added"].sum() == pytest.approx(0.0, abs=1e-6)
    # the raw score is untouched: observed = the stored indicator score
    scores = con.sql("SELECT unit_id, score FROM run_indicator_scores WHERE run_id = ? AND "
                     "indicator_id = 'a'", params=[run]).pl()
    both = a.join(scores, on="unit_id")
    assert (both["observed"] - both["score"]).abs().max() < 1e-9
    # measure b has no context effect: its urban coefficient is near zero
    b = rows.filter(pl.col("indicator_id") == "b")
    gap_b = b.group_by("urban").agg(pl.col("expected").mean()).sort("urban")["expected"]
    assert abs(gap_b[1] - gap_b[0]) < 2.5
    total = rows.filter(pl.col("indicator_id").is_null())
    assert total.height == 40 and total["value_added"].sum() == pytest.approx(0, abs=1e-6)
    assert (total["n_fit"] == 40).all() and total["r2"][0] > 0.3


def test_recovers_a_planted_population_effect(con) -> None:
    units = towns(con, 60, seed=5, urban_effect=0.0, pop_effect=8.0)
    run = score_run(con, scheme(value_added={"covariates": ["log_population"]}), "2026")
    a = stored(con, run).filter(pl.col("indicator_id") == "a").join(units, on="unit_id")
    slope = np.polyfit(np.log(a["pop"].to_numpy()), a["expected"].to_numpy(), 1)[0]
    assert slope == pytest.approx(8.0, abs=2.0)
    va = a["value_added"].to_numpy()
    assert abs(np.corrcoef(np.log(a["pop"].to_numpy()), va)[0, 1]) < 1e-6


def test_zero_in_expectation_without_a_context_effect() -> None:
    """The same 30 units (urban, population fixed), 400 draws of scores with no context effect:
    each unit's mean value-added is 0 within sampling error (sd 3 / √400 = 0.15 per unit)."""
    rng = np.random.default_rng(11)
    n = 30
    x = np.column_stack([np.ones(n), np.arange(n) % 2, rng.normal(10, 0.5, n)])
    draws = np.array([y - fitted[0] for y in rng.normal(50, 3, (400, n))
                      if (fitted := fit(y, x, 10)) is not None])
    assert draws.shape == (400, n)
    assert np.abs(draws.mean(axis=0)).max() < 0.6  # 4 standard errors
    assert abs(draws.mean()) < 1e-9  # and exactly zero on average over units, every draw


def test_zero_in_expectation_through_a_run(con) -> None:
    towns(con, 40, seed=8, urban_effect=0.0)
    run = score_run(con, scheme(value_added={"covariates": ["peer_group", "population"]}), "2026")
    rows = stored(con, run)
    for _, part in rows.group_by("indicator_id"):
        assert part["value_added"].mean() == pytest.approx(0.0, abs=1e-9)
        assert part["expected"].is_not_null().all()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(12, 60), seed=st.integers(0, 10_000), k=st.integers(1, 3))
def test_value_added_is_orthogonal_to_every_covariate(n: int, seed: int, k: int) -> None:
    """Least squares with an intercept: residuals sum to zero and carry no covariate."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(0, 1, (n, k))])
    y = x @ rng.normal(0, 5, k + 1) + rng.normal(0, 2, n)
    result = fit(y, x, 10)
    assert result is not None
    va = y - result[0]
    assert np.abs(x.T @ va).max() < 1e-6 * max(1.0, float(np.abs(y).sum()))


def test_peers_without_value_added_and_too_few_units(con) -> None:
    towns(con, 8, seed=1, urban_effect=5.0)
    run = score_run(con, scheme(peers="peer_group",
                                value_added={"covariates": ["peer_group"]}), "2026")
    rows = stored(con, run)
    assert rows["expected"].is_null().all()  # 8 units < min_units 10: no fit, no value-added
    total = rows.filter(pl.col("indicator_id").is_null())
    assert set(total["peer"]) == {"urban", "rural"} and (total["peer_units"] == 4).all()
    assert sorted(total.filter(pl.col("peer") == "urban")["peer_rank"]) == [1, 2, 3, 4]


def test_population_bands_as_peers(con) -> None:
    towns(con, 12, seed=2, urban_effect=0.0)
    run = score_run(con, scheme(peers="population_band", population_bands=[15000, 25000]),
                    "2026")
    peers = set(stored(con, run)["peer"])
    assert peers <= {"<15000", "15000–25000", "≥25000"} and len(peers) >= 2


def test_no_fairness_no_rows(con) -> None:
    towns(con, 12, seed=2, urban_effect=0.0)
    run = score_run(con, scheme(), "2026")
    assert stored(con, run).is_empty()


def test_bands_are_required_and_ascending() -> None:
    with pytest.raises(ValidationError, match="population_bands"):
        Fairness.model_validate({"peers": "population_band"})
    with pytest.raises(ValidationError, match="ascending"):
        Fairness.model_validate({"population_bands": [5, 3]})


# ------------------------------------------------------------------ the demo: page and export


def test_the_unit_profile_shows_value_added_beside_the_raw_score(monkeypatch, dash_db) -> None:
    from helpers.dashboard import run_page, texts

    for lang, title, header in (("zh", "增值评价与同类比较", "预期得分"),
                                ("en", "Value-added and peer comparison", "Expected score")):
        at = run_page(monkeypatch, dash_db, "unit", lang)
        assert title in [s.value for s in at.subheader]
        assert ("人口（对数）" if lang == "zh" else "population (log)") in texts(at)
        table = next(df.value for df in at.dataframe if header in df.value.columns)
        assert table.shape[0] == 17  # the total and the scheme's 16 indicators
        assert table.iloc[0, 0] == ("总分" if lang == "zh" else "Total score")


def test_exports_carry_value_added(demo_build, tmp_path) -> None:
    from evaluator.export import export_run

    run = demo_build.run_ids["2026"]
    export_run(demo_build.db, run, fmt="csv", out=tmp_path, cards=False, summary=False)
    va = pl.read_csv(tmp_path / "value_added.csv", schema_overrides={"unit_id": pl.String})
    summary = pl.read_csv(tmp_path / "summary.csv", schema_overrides={"unit_id": pl.String})
    total = va.filter(pl.col("indicator_id").is_null())
    assert total.height == summary.height
    both = total.join(summary.select("unit_id", "score"), on="unit_id")
    assert (both["observed"] - both["score"]).abs().max() < 0.01  # the raw score, rounded
    assert total["value_added"].sum() == pytest.approx(0, abs=1e-6)
    assert set(total["peer"]) == {"urban", "rural"}
    assert set(total["peer_name"]) == {"Urban", "Rural"}  # named, as the other tables' codes
    assert set(total["indicator_name"]) == {"Total score"}  # not a blank name on the total row


def test_a_unit_reads_only_its_own_value_added(demo_build) -> None:
    from evaluator import readmodel as rm

    run = demo_build.run_ids["2026"]
    con = duckdb.connect(str(demo_build.db), read_only=True)
    try:
        mine, other = sorted(demo_build.files.truth["latent_quality"])[:2]
        viewer = rm.Viewer("unit", mine)
        rows = rm.unit_value_added(con, run, mine, "en", viewer=viewer)
        assert rows["indicator_name"][0] == "Total score" and rows["expected"].is_not_null().all()
        with pytest.raises(rm.Forbidden):
            rm.unit_value_added(con, run, other, "en", viewer=viewer)
        assert rm.value_added_covariates(con, run, viewer=viewer) == ["peer_group",
                                                                       "log_population"]
        with pytest.raises(rm.Forbidden):
            rm.excluded_share_funnel(con, run, viewer=rm.Viewer("leadership"))
    finally:
        con.close()
