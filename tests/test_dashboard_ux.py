"""Dashboard defects seen by leaders and offices (issue 9), each pinned under streamlit's AppTest.

Real demo runs, real snapshots, the real app; the figures checked are the plotly JSON the server
sends to the browser.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from evaluator import readmodel as rm
from evaluator.grades_palette import colour_of
from evaluator.readmodel.labels import _loaded_scheme
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.snapshot import publish_snapshot
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboards" / "app.py")
SCHEME = ROOT / "indicators" / "demo_township.yaml"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def ux_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo DB plus two more 2026 runs scored in the same minute, the last with intervals."""
    db = tmp_path_factory.mktemp("ux") / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    loaded = load_scheme(SCHEME)
    score_run(con, loaded, "2026", publish_snapshot=False)
    score_run(con, loaded, "2026", uncertainty=True, publish_snapshot=False)
    con.close()
    publish_snapshot(db)
    return db


def app(monkeypatch: pytest.MonkeyPatch, db: Path, page: str | None = None, lang: str = "zh"
        ) -> AppTest:
    monkeypatch.setenv("EVALUATOR_DB", str(db))
    monkeypatch.delenv("EVALUATOR_SNAPSHOT", raising=False)
    monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = lang
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_run(at: AppTest) -> str:
    caption = next(c.value for c in at.caption if re.search(r"(运行|run) \d{8}T", c.value))
    found = re.search(r"(\d{8}T\d{6}-[0-9a-f]{8})", caption)
    assert found is not None
    return found.group(1)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def latest(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute(
            "SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC").fetchall()]


# --------------------------------------------------------------------------- the run


def test_run_labels_tell_every_run_apart(monkeypatch, ux_db):
    """Three 2026 runs in one minute read `2026 · 乡镇… · 2026-12-01 19:56` three times, and
    Streamlit maps a shown label back to the first run with that label."""
    at = app(monkeypatch, ux_db)
    options = at.sidebar.selectbox(key="w_run").options
    assert len(options) == len(latest(ux_db)) >= 4
    assert len(set(options)) == len(options)
    for run_id, label in zip(latest(ux_db), options, strict=True):
        assert run_id.rsplit("-", 1)[1] in label  # the short id
        assert re.search(r"\d{2}:\d{2}:\d{2}", label)  # seconds
        assert "未发布" in label or "已发布" in label


def test_the_run_changes_only_when_the_user_picks_another(monkeypatch, ux_db, tmp_path):
    """The first interaction (search, language, adding a unit) moved the session to another run;
    a run scored while someone browses must not replace theirs either."""
    db = tmp_path / "evaluator.duckdb"
    shutil.copy(ux_db, db)
    publish_snapshot(db)
    first = latest(db)[0]
    at = app(monkeypatch, db)
    assert shown_run(at) == first
    con = connect(db)  # the office scores again while the page is open
    score_run(con, load_scheme(SCHEME), "2026")
    con.close()
    newest = latest(db)[0]
    assert newest != first
    at.text_input(key="w_f_search").set_value("乡").run()
    assert shown_run(at) == first
    assert any("有更新的运行" in c.value for c in at.sidebar.caption), (
        len(at.sidebar.selectbox(key="w_run").options), [c.value[:30] for c in at.sidebar.caption])
    at.sidebar.radio(key="w_lang").set_value("en").run()
    assert shown_run(at) == first
    at.switch_page("views/compare.py").run()
    units = at.multiselect(key="w_cmp_units").value
    assert shown_run(at) == first and len(units) == 3
    with duckdb.connect(str(db), read_only=True) as con:
        ids = rm.unit_choices(con, first)["unit_id"].to_list()
    extra = next(u for u in ids if u not in units)
    at.multiselect(key="w_cmp_units").set_value([*units, extra]).run()
    assert shown_run(at) == first
    assert at.multiselect(key="w_cmp_units").value == [*units, extra]
    # the picked units survive the language switch and a visit to another page
    at.sidebar.radio(key="w_lang").set_value("zh").run()
    at.switch_page("views/unit.py").run()
    at.switch_page("views/compare.py").run()
    assert at.multiselect(key="w_cmp_units").value == [*units, extra]
    assert shown_run(at) == first
    # picking is what changes it
    at.sidebar.selectbox(key="w_run").set_value(newest).run()
    assert shown_run(at) == newest
    assert at.multiselect(key="w_cmp_units").value == [*units, extra]  # all scored there too


# --------------------------------------------------------------------------- vetoes, the bottom


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_vetoes_are_named_in_the_readers_language(monkeypatch, ux_db, lang):
    with duckdb.connect(str(ux_db), read_only=True) as con:
        unit, veto = con.execute(
            "SELECT unit_id, veto FROM run_scores WHERE run_id = ? AND veto IS NOT NULL "
            "ORDER BY unit_id LIMIT 1", [latest(ux_db)[0]]).fetchall()[0]
    name = {"zh": "发生重大安全生产事故", "en": "Major safety accident"}[lang]
    scheme = load_scheme(SCHEME).scheme
    assert next(v for v in scheme.vetoes if v.id == veto).name.get(lang) == name
    at = app(monkeypatch, ux_db, lang=lang)
    body = "\n".join(str(e.proto) for e in at.get("page_link"))
    assert name in body and veto not in body.replace(f"unit={unit}", "")
    table = at.dataframe[0].value
    veto_col = "一票否决项" if lang == "zh" else "Veto item"
    assert name in set(table[veto_col]) and veto not in set(table[veto_col])
    at = app(monkeypatch, ux_db, "views/unit.py", lang)
    at.selectbox(key="profile_unit").set_value(unit).run()
    captions = " ".join(c.value for c in at.caption)
    assert name in captions and veto not in captions


def test_the_whole_league_table_with_grade_colours_and_an_attention_block(monkeypatch, ux_db):
    at = app(monkeypatch, ux_db, lang="en")
    run_id = latest(ux_db)[0]
    with duckdb.connect(str(ux_db), read_only=True) as con:
        n, bottom, flagged = con.execute(
            "SELECT count(*), arg_max(unit_name, rank), "
            "(SELECT count(DISTINCT unit_id) FROM run_flags WHERE run_id = ?) "
            "FROM run_scores WHERE run_id = ?", [run_id, run_id]).fetchall()[0]
    grid = at.dataframe[0]
    assert len(grid.value) == n  # every row is sent…
    # …and each grade is a label in its grade colour (a column config, no Styler over the rows)
    grade = json.loads(grid.proto.columns)["Grade"]["type_config"]
    with duckdb.connect(str(ux_db), read_only=True) as con:
        codes = rm.grade_codes(con, run_id)
    assert grade["type"] == "multiselect"
    assert [o["color"] for o in grade["options"]] == [colour_of(c, codes, light=True) for c in codes]
    names = {o["value"] for o in grade["options"]}
    assert {g for cell in grid.value["Grade"] for g in cell} <= names
    assert len({g for cell in grid.value["Grade"] for g in cell}) >= 3  # three grades here
    assert grid.proto.selection_mode  # a row can be picked (it opens the profile)
    links = [e.proto for e in at.get("page_link")]
    assert all(lk.page == "unit" and lk.query_string.startswith("unit=") for lk in links)
    labels = [lk.label for lk in links]
    assert labels[0].startswith(f"{bottom} · #{n} · ")  # the very bottom first
    assert len(labels) >= 5 + min(flagged, 8)  # bottom five, vetoed, flagged (8 at most)
    intervals = figures(at)[-1]  # the interval chart: every unit, not the top 30
    assert len(intervals["data"][0]["y"]) == n
    assert "Lowest ranked" in [m.value.strip("*") for m in at.markdown]


def test_an_attention_link_opens_that_units_profile(monkeypatch, ux_db):
    at = app(monkeypatch, ux_db, lang="en")
    link = at.get("page_link")[0].proto
    unit = link.query_string.split("=", 1)[1]
    at.query_params["unit"] = unit  # what the link's address carries
    at.switch_page("views/unit.py").run()
    assert at.selectbox(key="profile_unit").value == unit
    # afterwards the picker wins
    other = next(o for o in at.selectbox(key="profile_unit").options if unit not in o)
    at.selectbox(key="profile_unit").set_value(other.rsplit("(", 1)[1].rstrip(")")).run()
    assert at.selectbox(key="profile_unit").value != unit


# --------------------------------------------------------------------------- charts


PAGES = ["views/overview.py", "views/compare.py", "views/unit.py", "views/scheme_health.py",
         "views/data_quality.py", "views/sensitivity.py"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_says_what_each_mark_is_in_the_pages_language(monkeypatch, ux_db, lang):
    """Hovers were plotly defaults (`排名(25, 东坪乡)`, `r: 96.664 θ: 发展与民生`, `(较差, 6)`),
    and none on contribution and weight bars."""
    seen = 0
    for page in PAGES:
        at = app(monkeypatch, ux_db, page if page != PAGES[0] else None, lang)
        for fig in figures(at):
            for trace in fig["data"]:
                if trace.get("hoverinfo") == "skip":
                    continue
                template = trace.get("hovertemplate")
                assert template, (page, trace.get("type"), trace.get("name"))
                assert template.endswith("<extra></extra>")
                words = re.sub(r"%\{[^}]*\}|<[^>]+>", "", template)
                assert bool(HAN.search(words)) == (lang == "zh"), (page, template)
                seen += 1
    assert seen >= 14


def test_hovers_carry_units_and_intervals(monkeypatch, ux_db):
    at = app(monkeypatch, ux_db, "views/unit.py", "en")
    contrib, trend, sat = figures(at)
    assert "points" in contrib["data"][0]["hovertemplate"]
    assert "effective weight" in contrib["data"][0]["hovertemplate"]
    assert "rank %{customdata[0]} of %{customdata[1]}" in trend["data"][0]["hovertemplate"]
    assert "95% interval" in sat["data"][0]["hovertemplate"]
    at = app(monkeypatch, ux_db, None, "en")
    intervals = figures(at)[-1]
    assert "interval %{customdata[0]}–%{customdata[1]}" in intervals["data"][1]["hovertemplate"]


def test_the_trend_axis_does_not_turn_a_small_dip_into_a_collapse(monkeypatch, ux_db):
    at = app(monkeypatch, ux_db, "views/unit.py", "en")
    trend = figures(at)[1]
    low, high = trend["layout"]["yaxis"]["range"]
    assert high - low >= 20  # at least a fifth of the 0–100 scale
    assert low >= 0 and high <= 100
    ys = [y for y in trend["data"][0]["y"] if y is not None]
    assert low <= min(ys) and max(ys) <= high


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_funnel_says_which_limits_are_drawn(monkeypatch, ux_db, lang):
    at = app(monkeypatch, ux_db, "views/data_quality.py", lang)
    funnel = figures(at)[-1]
    legend = {tr["name"] for tr in funnel["data"] if tr.get("showlegend", True)}
    inside, outside = (("单位（99.8% 控制限内）", "单位（99.8% 控制限外）") if lang == "zh"
                       else ("Units inside the 99.8% limits", "Units outside the 99.8% limits"))
    assert {inside, outside} <= legend
    body = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert ("过度离散" if lang == "zh" else "overdispersion") in body
    assert "truly different" not in body and "才是真正与众不同的" not in body


# --------------------------------------------------------------------------- chrome, speed


def test_multiselects_have_no_english_select_all(monkeypatch, ux_db):
    for page in (None, "views/compare.py"):
        at = app(monkeypatch, ux_db, page, "zh")
        assert at.multiselect, page
        assert all(not m.proto.select_all for m in at.multiselect)


def test_no_page_icon_is_fetched_from_an_outside_server():
    source = (ROOT / "dashboards" / "app.py").read_text(encoding="utf-8")
    icon = re.search(r"page_icon=\"([^\"]+)\"", source)
    assert icon is not None and not icon.group(1).startswith(":material")


def test_the_read_side_does_not_lint_again_and_parses_a_scheme_once(ux_db):
    source = "".join(
        f.read_text(encoding="utf-8") for f in (ROOT / "evaluator" / "readmodel").glob("*.py")
    )
    assert "lint_scheme" not in source  # findings are the stored run_lint rows
    snap = ux_db.parent / "snapshots" / "evaluator.duckdb"
    with duckdb.connect(str(snap), read_only=True) as con:
        run_id = rm.latest_run_id(con)
        assert run_id is not None
        first = _loaded_scheme(con, run_id)
        assert first is not None and _loaded_scheme(con, run_id) is first
        assert rm.scheme_labels(con, run_id) is rm.scheme_labels(con, run_id)
