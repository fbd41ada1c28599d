"""The Scheme health page's one-form section: overlap and burden across the schemes scored for
the period, the same figures as `evaluator forms --report`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evaluator.forms.report import overlap_report
from evaluator.scheme import load_scheme
from evaluator.scheme.measures import load_registry
from evaluator.scoring import score_run
from evaluator.snapshot import publish_snapshot
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboards" / "app.py")
OFFICES = [ROOT / "indicators" / f"{s}.yaml"
           for s in ("discipline_township", "civil_affairs_township", "demo_township")]


@pytest.fixture(scope="module")
def three_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo DB with the other offices' schemes scored for 2026, the demo scheme last."""
    db = tmp_path_factory.mktemp("forms_dash") / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        for path in OFFICES:
            score_run(con, load_scheme(path), "2026", params={"scheme_file": str(path)},
                      publish_snapshot=False)
    finally:
        con.close()
    publish_snapshot(db)
    return db


def page(monkeypatch: pytest.MonkeyPatch, db: Path, lang: str) -> AppTest:
    monkeypatch.setenv("EVALUATOR_DB", str(db))
    monkeypatch.delenv("EVALUATOR_SNAPSHOT", raising=False)
    monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    at.switch_page("views/scheme_health.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_section_shows_the_cli_figures(monkeypatch: pytest.MonkeyPatch, three_db: Path) -> None:
    rep = overlap_report([load_scheme(p).scheme for p in OFFICES],
                         load_registry(ROOT / "indicators" / "measures.yaml"))
    [b] = rep.burden
    at = page(monkeypatch, three_db, "en")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Hours per unit per year (before → after)"] == (
        f"{b.before_hours:.1f} → {b.after_hours:.1f} h")
    assert metrics["Fields per unit per year (before → after)"] == (
        f"{b.before_fields} → {b.after_fields}")
    assert metrics["Forms per unit per year (before → after)"] == f"{b.before_forms} → 1"
    captions = " ".join(c.value for c in at.caption)
    assert "Township conduct assessment" in captions and "measures.yaml" in captions
    measures = next(d.value for d in at.dataframe if "Origin" in d.value.columns)
    assert len(measures) == len(rep.measures)
    origin = dict(zip(measures["Measure"], measures["Origin"], strict=True))
    assert origin["complaint_resolution_rate"] == "Existing system"
    assert origin["meetings_held"] == "Reported by the unit"
    zh = page(monkeypatch, three_db, "zh")
    assert "一表报送" in " ".join(s.value for s in zh.subheader)
    zh_measures = next(d.value for d in zh.dataframe if "来源" in d.value.columns)
    assert "单位填报" in set(zh_measures["来源"])


def test_one_scheme_says_how_to_compare(monkeypatch: pytest.MonkeyPatch, demo_db: Path,
                                        tmp_path: Path) -> None:
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    publish_snapshot(db)
    at = page(monkeypatch, db, "en")
    assert any("Only one scheme was scored" in i.value for i in at.info)
    metrics = {m.label: m.value for m in at.metric}
    # the demo scheme alone: its own collection (lint's 57 reports, 11.5 h) against one form
    assert metrics["Fields per unit per year (before → after)"].startswith("57 → ")
    assert metrics["Hours per unit per year (before → after)"].startswith("11.5 → ")
