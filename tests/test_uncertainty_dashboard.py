"""The Sensitivity page on a run whose uncertainty was computed: bootstrap intervals, tiers,
grade probabilities, weight Monte-Carlo and leave-one-out, in both languages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.dashboard import run_page, texts

from evaluator.snapshot import publish_snapshot
from evaluator.store import connect
from evaluator.uncertainty import compute_uncertainty


@pytest.fixture(scope="module")
def boot_db(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("boot") / "evaluator.duckdb"
    shutil.copy(demo_build.db, db)
    con = connect(db)
    compute_uncertainty(con, demo_build.run_ids["2026"], replicates=30, seed=4, draws=40)
    con.close()
    publish_snapshot(db)
    return db


@pytest.mark.parametrize("lang,words", [
    ("en", ("Bootstrap: 30 replicates", "Weight sensitivity (Monte-Carlo)",
            "Leave one indicator out", "Probability of each grade (bootstrap)",
            "have a firm grade")),
    ("zh", ("自助法：30 次重复抽样", "权重敏感性（蒙特卡洛）", "逐一去掉指标", "各等次概率（自助法）",
            "等次稳健")),
])
def test_sensitivity_page_shows_the_stored_uncertainty(monkeypatch, boot_db, lang, words):
    at = run_page(monkeypatch, boot_db, "sensitivity", lang)
    shown = texts(at) + "\n".join(s.value for s in at.subheader)
    for w in words:
        assert w in shown, w
    intervals = at.dataframe[0].value
    assert len(intervals) == 120  # every unit, the bottom as visible as the top
    assert ("P(top 10%)" if lang == "en" else "前 10% 概率") in intervals.columns
    loo = at.dataframe[3].value
    assert ("Satisfaction" if lang == "en" else "满意") in " ".join(map(str, loo.iloc[:, 0]))
    weights = at.dataframe[2].value
    assert len(weights) == 120 and ("Grade stability" if lang == "en" else "等次稳定性") \
        in weights.columns
    # every table has its rows-as-shown XLSX beside it (the grade probabilities had none)
    assert len(at.get("download_button")) >= len(at.dataframe) == 4


@pytest.mark.slow
def test_the_league_table_shows_tiers_and_their_grades_once_computed(monkeypatch, demo_build,
                                                                    tmp_path):
    from helpers.exports import rescore

    root = Path(__file__).resolve().parents[1]
    scheme = tmp_path / "tiers.yaml"
    scheme.write_text((root / "indicators/demo_township.yaml").read_text(encoding="utf-8")
                      + "\nuncertainty:\n  tiers: true\n  tier_grades: true\n",
                      encoding="utf-8")
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_build.db, db)
    run = rescore(db, scheme, "2026")
    publish_snapshot(db)
    before = run_page(monkeypatch, db, "overview", "en")  # the office's default: the newest run
    assert not {"Tier", "Grade by tier"} & set(before.dataframe[-1].value.columns)  # no empty column
    con = connect(db)
    compute_uncertainty(con, run, replicates=30, seed=4, draws=40)
    con.close()
    publish_snapshot(db)
    after = run_page(monkeypatch, db, "overview", "en")
    league = after.dataframe[-1].value
    assert "Tier" in league.columns and league["Tier"].notna().all()
    assert league["Tier"].is_monotonic_increasing  # in rank order, tier 1 first
    # grades by tier: one grade per tier, named as grades are (a veto caps only its own unit)
    # (a tag column: each cell is the list of its one label)
    tier_grade = league["Grade by tier"].map(lambda cell: cell[0])
    names = {g for cell in before.dataframe[-1].value["Grade"] for g in cell}
    assert set(tier_grade) <= names
    unvetoed = ((league["Veto"].isna() | (league["Veto"] == "")) if "Veto" in league.columns
                else tier_grade.notna())
    assert (tier_grade[unvetoed].groupby(league["Tier"][unvetoed]).nunique() == 1).all()
    assert league["Tier"].nunique() > 1
