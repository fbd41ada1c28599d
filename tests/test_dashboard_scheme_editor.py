"""The scheme editor page under AppTest, on a real demo database and its snapshot.

Drives the workflow the office follows: open the demo scheme, change weights, add an indicator
that is not complete yet (no measure), see the error beside its row, fix it, preview what would
change against the stored run, save a new version (file + app-store record, the original's
comments kept), save another and read the diff between the two.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evaluator.scheme import load_scheme
from evaluator.scheme_versions import list_versions
from evaluator.snapshot import publish_snapshot
from evaluator.users import add_user, get_user

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboards" / "app.py")
PAGE = "views/scheme_editor.py"


@pytest.fixture()
def env(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    publish_snapshot(db)
    schemes = tmp_path / "schemes"
    schemes.mkdir()
    shutil.copy(ROOT / "indicators/demo_township.yaml", schemes / "demo_township.yaml")
    monkeypatch.setenv("EVALUATOR_DB", str(db))
    monkeypatch.setenv("EVALUATOR_SCHEMES", str(schemes))
    monkeypatch.delenv("EVALUATOR_SNAPSHOT", raising=False)
    monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    return {"db": db, "schemes": schemes}


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def page(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = lang
    at.switch_page(PAGE)
    return ok(at.run())


def texts(at: AppTest) -> str:
    return " ".join([*(m.value for m in at.markdown), *(e.value for e in at.error),
                     *(s.value for s in at.success), *(i.value for i in at.info),
                     *(c.value for c in at.caption)]).replace("**", "")


def widget(widgets, prefix: str):  # the quick-edit widgets carry a generation number in their key
    found = [w for w in widgets if w.key and w.key.startswith(prefix)]
    assert found, (prefix, [w.key for w in widgets])
    return found[0]


def pick(at: AppTest, indicator: str) -> None:
    box = widget(at.selectbox, "se_pick_")
    box.select_index(next(i for i, o in enumerate(box.options) if o.startswith(f"{indicator} ")))
    ok(at.run())


def set_weight(at: AppTest, indicator: str, weight: float) -> None:
    pick(at, indicator)
    widget(at.number_input, "se_weight_").set_value(weight)
    ok(at.button(key="se_apply").click().run())


@pytest.mark.slow
def test_edit_add_error_fix_preview_save(env: dict[str, Path]) -> None:
    db, schemes = env["db"], env["schemes"]
    data_before = hashlib.sha256(db.read_bytes()).hexdigest()
    at = page()
    assert "The draft is valid: 16 indicators." in texts(at)

    # edit weights: 8 points from school dropout to income growth (the dimension keeps 30)
    set_weight(at, "income_growth", 20)
    assert "add up to 38, not total_points 30" in texts(at)  # an error until balanced
    set_weight(at, "school_dropout", 1)
    assert "The draft is valid: 16 indicators." in texts(at)

    # add an indicator without a measure: refused beside its row …
    widget(at.text_input, "se_new_id_").set_value("road_quality")
    widget(at.text_input, "se_new_zh_").set_value("农村公路优良率")
    widget(at.text_input, "se_new_en_").set_value("Rural roads in good condition")
    widget(at.number_input, "se_new_weight_").set_value(0.0)
    ok(at.button(key="se_add").click().run())
    shown = texts(at)
    assert "The draft has 1 error(s)" in shown
    assert "Indicators row 21 · measure: required: fill this cell" in shown
    problems = at.dataframe  # the data editor carries the message in its problems column
    assert problems is not None
    # … fixed with the measure
    pick(at, "road_quality")
    widget(at.text_input, "se_measure_").set_value("income_growth_pct")
    ok(at.button(key="se_apply").click().run())
    assert "The draft is valid: 17 indicators." in texts(at)

    # what would change: scored on the read-only snapshot, against the stored run
    ok(at.button(key="se_preview_btn").click().run())
    metrics = {m.label: m for m in at.metric}
    assert int(metrics["Units"].value) == 120
    assert int(metrics["Units changing rank"].value) > 0
    assert metrics["Preview time"].delta == "computed from the data"
    set_weight(at, "income_growth", 19)
    set_weight(at, "school_dropout", 2)
    ok(at.button(key="se_preview_btn").click().run())
    assert {m.label: m for m in at.metric}["Preview time"].delta == (
        "indicator scores reused, aggregation only")

    # save as a new version: a new file, the original's comments kept, recorded
    assert at.text_input(key="se_version").value == "2026.2"
    at.text_area(key="se_note").set_value("more weight on income")
    ok(at.button(key="se_save").click().run())
    saved = schemes / "demo_township-v2026.2.yaml"
    assert saved.exists() and "Saved:" in texts(at)
    original = (ROOT / "indicators/demo_township.yaml").read_text()
    first_comment = next(line for line in original.splitlines() if line.startswith("#"))
    assert first_comment in saved.read_text()
    scheme = load_scheme(saved).scheme
    assert scheme.version == "2026.2" and scheme.indicator("income_growth").weight == 19
    assert scheme.indicator("road_quality").source.measure == "income_growth_pct"  # type: ignore[union-attr]
    [v] = list_versions(db)
    assert (v.scheme_id, v.version, v.author, v.note) == (
        "demo_township", "2026.2", "office (--no-auth)", "more weight on income")
    assert v.sha256 == hashlib.sha256(saved.read_bytes()).hexdigest()

    # a second version, then the diff between the two
    set_weight(at, "income_growth", 18)
    set_weight(at, "school_dropout", 3)
    assert at.text_input(key="se_version").value == "2026.3"
    ok(at.button(key="se_save").click().run())
    assert len(list_versions(db)) == 2
    diff = at.code[-1].value
    assert "-        weight: 19" in diff and "+        weight: 18" in diff
    # saving the same version again is refused, nothing overwritten
    at.text_input(key="se_version").set_value("2026.2")
    ok(at.button(key="se_save").click().run())
    assert "already exists" in texts(at) and len(list_versions(db)) == 2
    assert hashlib.sha256(db.read_bytes()).hexdigest() == data_before  # data DB untouched


def test_page_in_chinese_and_blank_scheme(env: dict[str, Path]) -> None:
    at = page("zh")
    assert "草稿有效：16 项指标。" in texts(at)
    at.selectbox(key="se_source").select("blank")
    ok(at.button(key="se_open_btn").click().run())
    assert "草稿有" in texts(at) and "方案设置" in texts(at)  # the settings to fill are named


def test_only_the_office_may_edit(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALUATOR_NO_AUTH")
    add_user(env["db"], "lead", "a-long-password-1", role="leadership")
    user = get_user(env["db"], "lead")
    assert user is not None
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"
    at.session_state["auth_user"] = {"name": "lead", "role": "leadership", "unit_id": None,
                                     "password_set_at": user.password_set_at}
    at.switch_page(PAGE)
    ok(at.run())
    # not in a leadership menu, so its address serves the overview instead
    assert "Scheme editor" not in [x.value for x in at.title]
    assert not [b for b in at.button if b.key == "se_save"]


def test_move_between_dimensions_reorder_and_remove(env: dict[str, Path]) -> None:
    at = page()
    # take the 3 points of clinic waiting time out of development, and its total with it
    pick(at, "clinic_wait")
    widget(at.selectbox, "se_parent_").set_value("governance")
    ok(at.button(key="se_apply").click().run())
    shown = texts(at)
    assert "dimension 'development' children's weights add up to 21" in shown  # was 30
    assert "dimension 'governance' children's weights add up to 39" in shown  # was 30
    # reorder within its new dimension, then remove it
    ids = [o.split(" ")[0] for o in widget(at.selectbox, "se_pick_").options]
    assert ids.index("clinic_wait") < ids.index("complaint_resolution")
    pick(at, "clinic_wait")
    ok(at.button(key="se_down").click().run())
    ids = [o.split(" ")[0] for o in widget(at.selectbox, "se_pick_").options]
    assert ids.index("clinic_wait") == ids.index("complaint_resolution") + 1
    pick(at, "clinic_wait")
    ok(at.button(key="se_remove").click().run())
    assert not [o for o in widget(at.selectbox, "se_pick_").options if o.startswith("clinic_wait ")]
    shown = texts(at)
    assert "add up to 21" in shown and "add up to 39" not in shown
