"""Small-cell suppression of satisfaction results, on a real demo DB whose released run's
scheme sets `disclosure.min_responses` so that some units' survey cells fall below it: the read
layer, the unit profile page (table, chart, hover texts, in zh and en), and every export format
(CSV, Parquet, XLSX, report cards, leadership summary) for office, leadership and unit."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.dashboard import run_page
from helpers.users import PW, sign_in
from typer.testing import CliRunner

from evaluator import readmodel as rm
from evaluator import users as u
from evaluator.cli import app
from evaluator.readmodel import Viewer
from evaluator.readmodel import downloads as dl
from evaluator.snapshot import publish_snapshot

SAT = ("sat_overall", "sat_responsiveness", "sat_fairness", "sat_service")


@pytest.fixture(scope="module")
def site(demo_build, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the demo whose 2026 run suppresses cells below a floor chosen from the data:
    above the median valid count, and above at least one show-off unit's smallest cell (so a
    flag whose evidence quotes survey figures belongs to a unit with small cells)."""
    src = Path(demo_build.db)
    db = tmp_path_factory.mktemp("suppress") / src.name
    shutil.copy(src, db)
    run = demo_build.run_ids["2026"]
    with duckdb.connect(str(db)) as c:
        median, showoff = c.execute(
            """SELECT median(valid),
                      (SELECT min(valid) FROM run_survey_quality q JOIN run_flags f
                       USING (run_id, unit_id) WHERE q.run_id = $run AND f.flag = 'show_off')
               FROM run_survey_quality WHERE run_id = $run""", {"run": run}).fetchall()[0]
        floor = int(max(median, showoff + 1))
        c.execute("UPDATE runs SET scheme_yaml = scheme_yaml || $d, "
                  "scheme_hash = md5(scheme_yaml || $d) WHERE run_id = $run",
                  {"d": f"\ndisclosure:\n  min_responses: {floor}\n", "run": run})
        small = c.execute(  # a unit whose every satisfaction cell is small
            "SELECT unit_id FROM run_survey_quality WHERE run_id = ? GROUP BY unit_id "
            "HAVING max(valid) < ? ORDER BY unit_id LIMIT 1", [run, floor]).fetchall()[0][0]
        big = c.execute(
            "SELECT unit_id FROM run_survey_quality WHERE run_id = ? GROUP BY unit_id "
            "HAVING min(valid) >= ? ORDER BY unit_id LIMIT 1", [run, floor]).fetchall()[0][0]
    publish_snapshot(db)
    return db, run, floor, small, big


@pytest.fixture(scope="module")
def con(site):
    db = site[0]
    c = duckdb.connect(str(db.parent / "snapshots" / db.name), read_only=True)
    yield c
    c.close()


def _sat(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("evidence") == "satisfaction")


# --------------------------------------------------------------------------- read layer


def test_a_small_cells_indicator_line_is_blank_for_every_non_office_role(site, con):
    _, run, floor, small, big = site
    assert rm.min_responses(con, run) == floor
    office = _sat(rm.unit_indicators(con, run, small))
    assert office.height == len(SAT) and not office["suppressed"].any()
    assert office["score"].is_not_null().all() and office["raw_value"].is_not_null().all()
    for viewer in (Viewer("unit", small), Viewer("leadership")):  # the unit's own card too
        seen = _sat(rm.unit_indicators(con, run, small, viewer=viewer))
        assert seen["suppressed"].all() and (seen["min_responses"] == floor).all()
        for col in ("raw_value", "transformed_value", "score", "contribution"):
            assert seen[col].is_null().all(), col
        # the other lines and the unit's own total are untouched
        rest = rm.unit_indicators(con, run, small, viewer=viewer).filter(~pl.col("suppressed"))
        assert rest["score"].null_count() == rm.unit_indicators(con, run, small).filter(
            pl.col("evidence") != "satisfaction")["score"].null_count()
    assert not rm.unit_indicators(con, run, big, viewer=Viewer("unit", big))["suppressed"].any()


def test_compare_hides_small_cells_their_dimension_and_their_share_of_peer_medians(site, con):
    _, run, floor, small, big = site
    lead = Viewer("leadership")
    seen = _sat(rm.indicator_comparison(con, run, [small, big], viewer=lead))
    mine = seen.filter(pl.col("unit_id") == small)
    assert mine["suppressed"].all() and mine["score"].is_null().all()
    assert mine["raw_value"].is_null().all()
    assert not seen.filter(pl.col("unit_id") == big)["suppressed"].any()
    # peer medians are taken over shown cells only: recompute them from the stored run
    expected = con.execute(
        """SELECT i.indicator_id, median(i.score) FROM run_indicator_scores i
           JOIN run_scores s USING (run_id, unit_id)
           JOIN run_survey_quality q USING (run_id, unit_id, indicator_id)
           WHERE i.run_id = ? AND q.valid >= ?
             AND s.peer_group IS NOT DISTINCT FROM (SELECT peer_group FROM run_scores
                                                    WHERE run_id = ? AND unit_id = ?)
           GROUP BY 1""", [run, floor, run, small]).fetchall()
    got = dict(zip(mine["indicator_id"], mine["peer_median"], strict=True))
    assert {k: pytest.approx(v) for k, v in expected} == got
    dims = rm.dimension_scores(con, run, [small], viewer=lead)
    sat_dim = dims.filter(pl.col("dimension_id") == "satisfaction")
    assert sat_dim["suppressed"].all() and sat_dim["score"].is_null().all()
    assert dims.filter(pl.col("dimension_id") != "satisfaction")["score"].is_not_null().all()
    assert rm.dimension_scores(con, run, [small])["score"].is_not_null().all()  # the office
    gaps = rm.compare_summary(con, run, [small, big], viewer=lead)
    assert gaps.filter((pl.col("unit_id") == small)
                       & (pl.col("dimension_id") == "satisfaction"))["gap"].is_null().all()


def test_flag_evidence_quoting_small_cells_is_withheld(site, con):
    _, run, floor, _, _ = site
    small = con.execute(  # a flagged unit with a small cell (the fixture's floor makes one)
        "SELECT min(unit_id) FROM run_flags WHERE run_id = ? AND flag = 'show_off' AND unit_id "
        "IN (SELECT unit_id FROM run_survey_quality WHERE run_id = ? AND valid < ?)",
        [run, run, floor]).fetchall()[0][0]
    office = rm.unit_flags(con, run, small, lang="en")
    assert office.height and office["evidence"].str.contains(r"\d").all()
    for lang, word in (("en", "Evidence withheld"), ("zh", "已隐去")):
        seen = rm.unit_flags(con, run, small, lang=lang, viewer=Viewer("unit", small))
        assert seen["flag"].to_list() == office["flag"].to_list()
        assert seen["evidence"].str.contains(word).all()


# --------------------------------------------------------------------------- the unit page


def _plotly(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_unit_page_shows_a_small_cell_as_suppressed_with_the_reason(
        monkeypatch, site, con, lang):
    db, run, floor, small, _ = site
    u.add_user(db, f"small_{lang}", PW, role="unit", unit_id=small)
    at = run_page(monkeypatch, db, "unit", lang, no_auth=False)
    at = sign_in(at, f"small_{lang}", PW)
    assert at.session_state["run"] == run
    captions = "\n".join(str(c.value) for c in at.caption)
    why = {"zh": f"有效样本少于 {floor} 份", "en": f"fewer than {floor} valid responses"}[lang]
    assert captions.count(why) >= 2  # the breakdown and the satisfaction table
    names = _sat(rm.unit_indicators(con, run, small, lang))["indicator_name"].to_list()
    breakdown = next(pl.from_pandas(d.value) for d in at.dataframe
                     if any(names[0] == str(v) for v in d.value.iloc[:, 1]))
    label = {"zh": "公开情况", "en": "Disclosure"}[lang]
    cell = {"zh": "已隐去（样本过少）", "en": "suppressed (too few responses)"}[lang]
    score = {"zh": "指标得分", "en": "Indicator score"}[lang]
    withheld = breakdown.filter(pl.col(breakdown.columns[1]).is_in(names))
    assert withheld.height == len(SAT)
    assert (withheld[label] == cell).all() and (withheld[score] == "—").all()  # no number shown
    assert (breakdown.filter(~pl.col(breakdown.columns[1]).is_in(names))[label] == "").all()
    # no chart carries a withheld line: the contributions chart leaves the lines out, the
    # satisfaction chart the cells (no bar, no point, no hover text naming them)
    specs = _plotly(at)
    assert len(specs) >= 2
    for spec in specs:
        text = json.dumps(spec["data"], ensure_ascii=False)
        assert not [n for n in names if n in text]


@pytest.mark.slow
def test_the_compare_page_draws_no_small_cell_for_leadership(monkeypatch, site, con):
    db, run, _, small, big = site
    u.add_user(db, "boss", PW, role="leadership")
    at = sign_in(run_page(monkeypatch, db, "compare", "en", no_auth=False), "boss", PW)
    at.multiselect[0].set_value([small, big]).run()
    assert not at.exception and not at.error
    floor = site[2]
    assert f"4 satisfaction result(s) rest on fewer than {floor} valid responses" in "\n".join(
        str(c.value) for c in at.caption)
    office = _sat(rm.indicator_comparison(con, run, [small]))
    secret = [repr(v) for v in office["score"].to_list() + office["raw_value"].to_list()]
    dims = rm.dimension_scores(con, run, [small])
    secret.append(repr(dims.filter(pl.col("dimension_id") == "satisfaction")["score"][0]))
    specs = _plotly(at)
    assert len(specs) >= 2  # the radar and the indicator bars
    text = json.dumps([s["data"] for s in specs])
    assert not [v for v in secret if v in text]
    assert repr(_sat(rm.indicator_comparison(con, run, [big]))["score"][0]) in text  # control


# --------------------------------------------------------------------------- exports


def _small_units(db: Path, run: str, floor: int) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as c:
        return [r[0] for r in c.execute("SELECT DISTINCT unit_id FROM run_survey_quality "
                                        "WHERE run_id = ? AND valid < ?", [run, floor]).fetchall()]


def _export(db: Path, out: Path, fmt: str, *args: str) -> Path:
    res = CliRunner().invoke(app, ["export", "--db", str(db), "--format", fmt, "--out", str(out),
                                   *args])
    assert res.exit_code == 0, res.output
    return out


def _table(out: Path, fmt: str, name: str) -> pl.DataFrame:
    if fmt == "xlsx":
        return pl.read_excel(out / "results.xlsx", sheet_name=name,
                             schema_overrides={"unit_id": pl.String})
    if fmt == "csv":
        return pl.read_csv(out / f"{name}.csv", schema_overrides={"unit_id": pl.String})
    return pl.read_parquet(out / f"{name}.parquet")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_exports_blank_small_cells_for_leadership_only(site, tmp_path, fmt):
    db, run, floor, small, big = site
    for audience in ("office", "leadership"):
        out = _export(db, tmp_path / audience, fmt, "--audience", audience, "--run", run,
                      "--no-cards", "--no-summary")
        lines = _table(out, fmt, "breakdown").filter(pl.col("evidence") == "satisfaction")
        dims = _table(out, fmt, "dimensions").filter(pl.col("dimension_id") == "satisfaction")
        flags = _table(out, fmt, "flags").filter(
            pl.col("unit_id").is_in(_small_units(db, run, floor)))
        mine, theirs = (lines.filter(pl.col("unit_id") == x) for x in (small, big))
        assert mine.height == theirs.height == len(SAT)
        assert theirs["score"].is_not_null().all()
        hidden = audience == "leadership"
        assert mine["suppressed"].cast(pl.Boolean).all() == hidden
        for col in ("raw_value", "transformed_value", "score", "contribution"):
            assert mine[col].is_null().all() == hidden, (audience, col)
        assert dims.filter(pl.col("unit_id") == small)["score"].is_null().all() == hidden
        assert flags.height and flags["evidence"].str.contains("withheld").all() == hidden
        notes = json.loads((out / "manifest.json").read_text("utf-8"))["notes"]
        assert any(f"fewer than {floor} valid responses" in n for n in notes) == hidden


def _card(out: Path, lang: str, unit: str) -> str:
    return (out / "cards" / lang / f"{unit}.html").read_text("utf-8")


def _indicator_rows(html: str) -> list[str]:
    body = html.split("<table id='indicators'>")[1].split("</table>")[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body.split("<tbody>")[1])


@pytest.mark.slow
def test_report_cards_and_the_summary_suppress_for_leadership_and_the_unit(site, con, tmp_path):
    db, run, floor, small, big = site
    names = {lang: _sat(rm.unit_indicators(con, run, small, lang))["indicator_name"].to_list()
             for lang in ("zh", "en")}
    scores = _sat(rm.unit_indicators(con, run, small))["score"].to_list()
    office = _export(db, tmp_path / "office", "csv", "--run", run)
    lead = _export(db, tmp_path / "lead", "csv", "--audience", "leadership", "--run", run)
    unit = _export(db, tmp_path / "unit", "xlsx", "--audience", "unit", "--unit", small)
    word = {"zh": ("已隐去", f"少于 {floor} 份"), "en": ("suppressed", f"fewer than {floor}")}
    for lang in ("zh", "en"):
        plain = _card(office, lang, small)
        assert "suppressed-note" not in plain
        assert all(f">{s:.1f}<" in plain for s in scores)
        for out in (lead, unit):
            html = _card(out, lang, small)
            rows = [r for r in _indicator_rows(html) if any(n in r for n in names[lang])]
            assert len(rows) == len(SAT)
            assert all("class=suppressed" in r and word[lang][0] in r for r in rows)
            assert all(f">{s:.1f}<" not in r for r in rows for s in scores)
            note = html.split("id='suppressed-note'>")[1].split("</span>")[0]
            assert word[lang][1] in note
            radar = html.split("<svg")[1].split("</svg>")[0]
            assert word[lang][0] in radar  # the satisfaction axis says it is withheld
            strengths = html.split("<table id='indicators'>")[0]
            assert not any(n in strengths.split("</svg>")[-1] for n in names[lang])
        assert "suppressed-note" not in _card(lead, lang, big)
    # the leadership summary's show-off evidence, built from flags, quotes no small cell
    flags = con.execute(
        "SELECT unit_id FROM run_flags f WHERE run_id = ? AND flag = 'show_off' AND unit_id IN "
        "(SELECT unit_id FROM run_survey_quality WHERE run_id = ? AND valid < ?)",
        [run, run, floor]).fetchall()
    assert flags  # the fixture's floor guarantees one
    for lang, withheld in (("en", "Evidence withheld"), ("zh", "依据涉及样本过少")):
        summary = (lead / f"leadership_summary.{lang}.html").read_text("utf-8")
        showoff = summary.split("id='showoff'")[1].split("</table>")[0]
        assert withheld in showoff
        assert withheld not in (office / f"leadership_summary.{lang}.html").read_text("utf-8")


@pytest.mark.slow
def test_a_card_with_suppressed_lines_still_prints_on_one_a4_page(site, tmp_path):
    """The reason takes room; the card must stay one page in both languages."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (make browser installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    db, run, _, small, _ = site
    out = _export(db, tmp_path / "unit", "csv", "--audience", "unit", "--unit", small)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for lang in ("zh", "en"):
                page.goto((out / "cards" / lang / f"{small}.html").as_uri())
                assert page.locator("#suppressed-note").is_visible()
                pdf = page.pdf(prefer_css_page_size=True)
                assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, lang
        finally:
            browser.close()


def test_the_card_a_unit_downloads_from_its_profile_is_suppressed_as_its_export(site, tmp_path):
    """The dashboard's report-card download for a unit user is its `--audience unit` card: its
    own small cells withheld too (the download once blanked them for leadership only)."""
    db, run, floor, small, big = site
    snapshot = db.parent / "snapshots" / db.name
    unit = _export(db, tmp_path / "unit", "csv", "--audience", "unit", "--unit", small)
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\+00:00|Z)?")
    for lang in ("zh", "en"):
        got = dl.report_card(snapshot, db, run, small, lang, viewer=Viewer("unit", small)).decode()
        assert "id='suppressed-note'" in got
        assert stamp.sub("", got) == stamp.sub("", _card(unit, lang, small))


def test_the_heat_map_and_league_table_blank_small_cells_for_leadership(site, con):
    """The heat map (both levels) and the league table's dimension columns withhold what the
    unit page and compare withhold: a small cell's indicator score, a dimension resting on
    small cells only. The office sees every figure."""
    db, run, floor, small, big = site
    lead = Viewer("leadership")
    for viewer, hidden in ((lead, True), (rm.OFFICE, False)):
        ind = rm.heatmap(con, run, level="indicator", viewer=viewer)
        row = ind.table.filter(pl.col("unit_id") == small)
        cells = [row["cell__" + s][0] for s in SAT]
        assert all(c is None for c in cells) == hidden and (ind.suppressed > 0) == hidden
        assert all(row["band__" + s][0] is None for s in SAT) == hidden  # no colour either
        assert all(ind.table.filter(pl.col("unit_id") == big)["cell__" + s][0] is not None
                   for s in SAT)
        dim = rm.heatmap(con, run, level="dimension", viewer=viewer)
        assert (dim.table.filter(pl.col("unit_id") == small)["cell__satisfaction"][0]
                is None) == hidden
        league = rm.league_table(con, run, viewer=viewer)
        assert (league.filter(pl.col("unit_id") == small)["dim__satisfaction"][0]
                is None) == hidden
    assert rm.heatmap(con, run, viewer=lead).min_responses == floor


def test_movers_quote_no_small_cells_contribution_to_leadership(site, con):
    """The movers' "mainly: indicator (+x)" drivers never name a small cell's contribution for
    leadership (every unit taken as a mover here, so small cells are among them)."""
    db, run, floor, small, big = site
    previous = rm.previous_run_id(con, run)
    names = set(_sat(rm.unit_indicators(con, run, small, "zh"))["indicator_name"])
    small_units = set(_small_units(db, run, floor))

    def quoted(viewer: Viewer) -> int:
        moves = rm.movers(con, run, previous, "zh", top=10_000, viewer=viewer)
        rows = moves.filter(pl.col("unit_id").is_in(list(small_units)))
        return sum(any(n in d for n in names) for d in rows["drivers"].to_list())

    assert quoted(rm.OFFICE) > 0 and quoted(Viewer("leadership")) == 0
