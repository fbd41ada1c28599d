"""Who may see what: every read function and every page, as each role, on a real demo DB whose
latest run is withdrawn (office only) and whose earlier run is released."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from helpers.dashboard import PAGES, run_page
from helpers.users import PW, sign_in
from typer.testing import CliRunner

from evaluator import readmodel as rm
from evaluator import users as u
from evaluator.cli import app
from evaluator.publishing import release_history
from evaluator.readmodel import Forbidden, Viewer
from evaluator.snapshot import publish_snapshot


@pytest.fixture(scope="module")
def roles_db(demo_build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("roles") / "evaluator.duckdb"
    shutil.copy(demo_build.db, db)
    for extra in Path(demo_build.db).parent.glob(Path(demo_build.db).name + ".app.db*"):
        shutil.copy(extra, db.parent / extra.name)
    latest = demo_build.run_ids["2026"]
    out = CliRunner().invoke(app, ["publish", "--db", str(db), "--run", latest, "--withdraw",
                                   "--reason", "figures under review"])
    assert out.exit_code == 0, out.output
    assert "withdrawn" in out.output
    for run in demo_build.run_ids.values():  # intervals, weight sensitivity: a unit sees its own
        out = CliRunner().invoke(app, ["uncertainty", "--db", str(db), "--run", run,
                                       "--replicates", "20"])
        assert out.exit_code == 0, out.output
    publish_snapshot(db)
    return db


@pytest.fixture(scope="module")
def con(roles_db: Path):
    c = duckdb.connect(str(roles_db.parent / "snapshots" / roles_db.name), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def runs(demo_build) -> tuple[str, str]:
    return demo_build.run_ids["2025"], demo_build.run_ids["2026"]  # released, withdrawn


def _two_units(con) -> tuple[str, str]:
    ids = rm.unit_choices(con, rm.latest_run_id(con))["unit_id"].to_list()
    return ids[0], ids[1]


def _calls(run: str, mine: str, other: str, ind: str) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """Every run-level read function with arguments (the unit's own id where one is asked)."""
    return {
        "run_info": (rm.run_info, (run,)),
        "previous_run_id": (rm.previous_run_id, (run,)),
        "grade_codes": (rm.grade_codes, (run,)),
        "score_scale": (rm.score_scale, (run,)),
        "score_decimals": (rm.score_decimals, (run,)),
        "filter_options": (rm.filter_options, (run,)),
        "league_table": (rm.league_table, (run,)),
        "grade_distribution": (rm.grade_distribution, (run,)),
        "movers": (rm.movers, (run,)),
        "unit_choices": (rm.unit_choices, (run,)),
        "dimension_scores": (rm.dimension_scores, (run, [mine, other])),
        "indicator_comparison": (rm.indicator_comparison, (run, [mine, other])),
        "compare_summary": (rm.compare_summary, (run, [mine, other])),
        "unit_summary": (rm.unit_summary, (run, mine)),
        "unit_indicators": (rm.unit_indicators, (run, mine)),
        "unit_trend": (rm.unit_trend, (run, mine)),
        "unit_satisfaction": (rm.unit_satisfaction, (run, mine)),
        "unit_flags": (rm.unit_flags, (run, mine)),
        "survey_exclusions": (rm.survey_exclusions, (run, mine)),
        "lint_findings": (rm.lint_findings, (run,)),
        "weights": (rm.weights, (run,)),
        "scheme_health": (rm.scheme_health, (run,)),
        "scheme_overlap": (rm.scheme_overlap, (run,)),
        "declared_vs_effective_ranking": (rm.declared_vs_effective_ranking, (run,)),
        "missing_pairs": (rm.missing_pairs, (run,)),
        "satisfaction_indicators": (rm.satisfaction_indicators, (run,)),
        "funnel": (rm.funnel, (run, ind)),
        "rank_ranges": (rm.rank_ranges, (run,)),
        "previous_period": (rm.previous_period, (run,)),
        "parent_names": (rm.parent_names, (run,)),
        "top_dimensions": (rm.top_dimensions, (run,)),
        "score_bands": (rm.score_bands, (run,)),
        "heatmap": (rm.heatmap, (run,)),
        "heatmap_columns": (rm.heatmap_columns, (run,)),
        "indicator_source": (rm.indicator_source, (run, ind)),
        "indicator_raw_values": (rm.indicator_raw_values, (run, mine, ind)),
        "unit_value_added": (rm.unit_value_added, (run, mine)),
        "value_added_covariates": (rm.value_added_covariates, (run,)),
        "excluded_share_funnel": (rm.excluded_share_funnel, (run,)),
        "uncertainty_settings": (rm.uncertainty_settings, (run,)),
        "weight_sensitivity": (rm.weight_sensitivity, (run,)),
        "grade_probabilities": (rm.grade_probabilities, (run,)),
        "indicator_sensitivity": (rm.indicator_sensitivity, (run,)),
    }


# What each non-office role may call on a released run (everything else is refused).
LEADERSHIP_REFUSED = {"lint_findings", "weights", "scheme_health", "scheme_overlap",
                      "declared_vs_effective_ranking", "missing_pairs", "excluded_share_funnel"}
UNIT_REFUSED = LEADERSHIP_REFUSED | {"movers", "dimension_scores", "indicator_comparison",
                                     "compare_summary", "funnel", "heatmap",
                                     "heatmap_columns"}  # rank_ranges: own row


def _ind(con, run: str) -> str:
    return str(rm.satisfaction_indicators(con, run)["indicator_id"][0])


def test_the_office_reads_everything_including_the_withdrawn_run(con, runs):
    mine, other = _two_units(con)
    for run in runs:
        for _name, (func, args) in _calls(run, mine, other, _ind(con, run)).items():
            func(con, *args, viewer=rm.OFFICE)  # none refuses
    assert set(rm.list_runs(con)["run_id"]) >= set(runs)
    rm.batches(con), rm.data_coverage(con)


@pytest.mark.parametrize("role", ["leadership", "unit"])
def test_no_non_office_role_sees_an_unpublished_run(con, runs, role):
    released, withdrawn = runs
    mine, other = _two_units(con)
    viewer = Viewer(role, mine if role == "unit" else None)
    listed = rm.list_runs(con, viewer=viewer)
    assert withdrawn not in listed["run_id"].to_list() and released in listed["run_id"].to_list()
    assert listed["published"].all()
    assert rm.latest_run_id(con, viewer=viewer) == released
    for _name, (func, args) in _calls(withdrawn, mine, other, _ind(con, withdrawn)).items():
        with pytest.raises(Forbidden):
            func(con, *args, viewer=viewer)
    assert rm.previous_run_id(con, released, viewer=viewer) in (None, *listed["run_id"])


@pytest.mark.parametrize("role", ["leadership", "unit"])
def test_each_role_gets_exactly_its_share_of_a_released_run(con, runs, role):
    released = runs[0]
    mine, other = _two_units(con)
    viewer = Viewer(role, mine if role == "unit" else None)
    refused = UNIT_REFUSED if role == "unit" else LEADERSHIP_REFUSED
    for name, (func, args) in _calls(released, mine, other, _ind(con, released)).items():
        if name in refused:
            with pytest.raises(Forbidden):
                func(con, *args, viewer=viewer)
        else:
            func(con, *args, viewer=viewer)
    for func in (rm.batches, rm.data_coverage):
        with pytest.raises(Forbidden):
            func(con, viewer=viewer)


def test_a_unit_reaches_no_other_units_rows(con, runs):
    released = runs[0]
    mine, other = _two_units(con)
    me = Viewer("unit", mine)
    for func in (rm.unit_summary, rm.unit_indicators, rm.unit_trend, rm.unit_satisfaction,
                 rm.unit_flags, rm.survey_exclusions, rm.unit_value_added):
        with pytest.raises(Forbidden):
            func(con, released, other, viewer=me)
    with pytest.raises(Forbidden):
        rm.survey_exclusions(con, released, None, viewer=me)  # all units summed
    with pytest.raises(Forbidden):  # the drill-down's loaded values of another unit
        rm.indicator_raw_values(con, released, other, _ind(con, released), viewer=me)
    for func in (rm.dimension_scores, rm.indicator_comparison, rm.compare_summary):
        with pytest.raises(Forbidden):
            func(con, released, [other], viewer=me)
    assert rm.unit_choices(con, released, viewer=me)["unit_id"].to_list() == [mine]
    for frame in (rm.unit_indicators(con, released, mine, viewer=me),
                  rm.unit_flags(con, released, mine, viewer=me),
                  rm.rank_ranges(con, released, viewer=me),
                  rm.weight_sensitivity(con, released, viewer=me),
                  rm.grade_probabilities(con, released, viewer=me)):
        if "unit_id" in frame.columns:
            assert set(frame["unit_id"]) <= {mine}
    assert rm.rank_ranges(con, released, viewer=me)["unit_id"].to_list() == [mine]
    assert rm.weight_sensitivity(con, released, viewer=me).height == 1
    assert "weight_dependent" not in (rm.uncertainty_settings(con, released, viewer=me)
                                      or {})["summary"]
    league = rm.league_table(con, released, viewer=me)
    full = rm.league_table(con, released)
    assert set(league.columns) <= set(rm.UNIT_LEAGUE_COLUMNS)
    assert {"flags", "rank_low", "score_low", "veto", "peer_group"}.isdisjoint(league.columns)
    assert league.height == full.height  # the whole published table: rank, score, grade
    assert league["score"].to_list() == full["score"].to_list()


# Read functions outside `_calls`, and the test that covers each for every role.
OTHER_READS = {
    "list_runs": "test_no_non_office_role_sees_an_unpublished_run",
    "latest_run_id": "test_no_non_office_role_sees_an_unpublished_run",
    "batches": "test_each_role_gets_exactly_its_share_of_a_released_run",
    "data_coverage": "test_each_role_gets_exactly_its_share_of_a_released_run",
    "unit_appeals": "test_a_unit_reads_and_files_appeals_on_its_own_released_lines_only",
    "file_unit_appeal": "test_a_unit_reads_and_files_appeals_on_its_own_released_lines_only",
    "db_state": "counts only (units, rows, batches, runs) for the empty-database message",
}


def test_every_read_function_is_checked_for_every_role():
    """A read function added to the read layer must join `_calls` or OTHER_READS, so none
    escapes the role tests above."""
    import inspect

    takes_viewer = {n for n in rm.__all__ if inspect.isfunction(getattr(rm, n))
                    and "viewer" in inspect.signature(getattr(rm, n)).parameters}
    assert takes_viewer - set(_calls("r", "a", "b", "i")) - set(OTHER_READS) == set()
    assert {n for n in OTHER_READS if n.startswith("test_")} <= set(globals())


def test_a_unit_reads_and_files_appeals_on_its_own_released_lines_only(roles_db, con, runs):
    released, withdrawn = runs
    mine, other = _two_units(con)
    me = Viewer("unit", mine)
    snapshot = roles_db.parent / "snapshots" / roles_db.name
    ind = str(rm.unit_indicators(con, released, mine, viewer=me)["indicator_id"][0])
    with pytest.raises(Forbidden):
        rm.unit_appeals(roles_db, released, other, viewer=me)
    for run, unit in ((released, other), (withdrawn, mine)):
        with pytest.raises(Forbidden):
            rm.file_unit_appeal(roles_db, snapshot, viewer=me, run_id=run, unit_id=unit,
                                reason="wrong value", filed_by="mine", indicator_id=ind)
    appeal = rm.file_unit_appeal(roles_db, snapshot, viewer=me, run_id=released, unit_id=mine,
                                 reason="wrong value", filed_by="mine", indicator_id=ind)
    seen = rm.unit_appeals(roles_db, released, mine, viewer=me)
    assert seen is not None and appeal in seen["appeal_id"].to_list()
    assert set(seen["unit_id"]) == {mine} and set(seen["run_id"]) == {released}


@pytest.mark.parametrize("role", ["leadership", "unit"])
def test_no_unpublished_run_reaches_a_trend_or_movers(con, runs, role):
    """The withdrawn run stays out of what a released run's reads join in: the trend's periods
    and the run movers compare with."""
    released, withdrawn = runs
    mine, _ = _two_units(con)
    viewer = Viewer(role, mine if role == "unit" else None)
    assert withdrawn in rm.unit_trend(con, released, mine)["run_id"].to_list()  # the office's
    assert withdrawn not in rm.unit_trend(con, released, mine, viewer=viewer)["run_id"].to_list()
    with pytest.raises(Forbidden):
        rm.movers(con, released, withdrawn, viewer=Viewer("leadership"))


def test_publish_and_withdraw_are_recorded_and_shown(roles_db, runs, tmp_path):
    released, withdrawn = runs
    history = release_history(roles_db, withdrawn)
    assert history["action"].to_list() == ["released", "withdrawn"]
    assert history["reason"].to_list()[-1] == "figures under review"
    cli = CliRunner()
    out = cli.invoke(app, ["publish", "--db", str(roles_db)])
    assert out.exit_code == 0 and "snapshot refreshed" in out.output
    out = cli.invoke(app, ["publish", "--db", str(roles_db), "--run", withdrawn, "--withdraw"])
    assert out.exit_code != 0 and "--reason" in out.output
    out = cli.invoke(app, ["publish", "--db", str(roles_db), "--run", "no-such-run"])
    assert out.exit_code != 0 and "no run no-such-run" in out.output
    out = cli.invoke(app, ["runs", "--db", str(roles_db)])
    assert out.exit_code == 0
    with duckdb.connect(str(roles_db), read_only=True) as c:
        state = dict(c.execute("SELECT run_id, published FROM runs").fetchall())
    assert state[released] is True and state[withdrawn] is False


# --------------------------------------------------------------------------- pages


def _as(monkeypatch, db: Path, name: str, page: str | None, **params: str):
    at = run_page(monkeypatch, db, page, "en", no_auth=False)
    for k, v in params.items():
        at.query_params[k] = v
    return sign_in(at, name, PW)


@pytest.fixture(scope="module")
def site(roles_db: Path, con) -> tuple[Path, str, str]:
    mine, other = _two_units(con)
    for p in roles_db.parent.glob(roles_db.name + ".app.db*"):
        if p.suffix != ".db":
            p.unlink()
    u.add_user(roles_db, "boss", PW, role="leadership")
    u.add_user(roles_db, "mine", PW, role="unit", unit_id=mine)
    return roles_db, mine, other


ALLOWED = {"leadership": {"overview", "compare", "heatmap", "unit", "sensitivity"},
           "unit": {"overview", "unit", "sensitivity"}}  # sensitivity: its own rows only


@pytest.mark.slow
@pytest.mark.parametrize("who,role", [("boss", "leadership"), ("mine", "unit")])
def test_every_page_as_each_role(monkeypatch, site, runs, who, role):
    db, mine, other = site
    released, withdrawn = runs
    for page in PAGES:
        at = _as(monkeypatch, db, who, page, run=withdrawn, unit=other)
        shown = "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error])
        assert withdrawn not in shown
        if page in ALLOWED[role]:
            assert not [e for e in at.error if "may not" in str(e.value)], page
            assert at.session_state["run"] == released if "run" in at.session_state else True
        else:
            # absent from the menu, but its address reaches the page's own refusal
            assert PAGES[page][2] not in [x.value for x in at.title], page
            assert any("may not use this page" in str(e.value) for e in at.error), page
        if role == "unit":
            frames = [d.value for d in at.dataframe]
            for f in frames:
                df = pl.from_pandas(f) if not isinstance(f, pl.DataFrame) else f
                assert "c_flags" not in df.columns and "Flags" not in df.columns
            if page == "sensitivity":
                assert other not in shown
                assert "Your unit ranks" in shown and "unit(s)" not in shown  # its own interval
                assert all(len(f) <= 1 for f in frames[:1]), "a unit sees only its own interval"
            if page == "unit":
                assert f"({mine})" in at.selectbox(key="profile_unit").format_func(
                    at.selectbox(key="profile_unit").value)
                assert other not in shown


def test_a_role_with_no_released_run_is_told_so(monkeypatch, site, runs, tmp_path):
    db, _, _ = site
    copy = tmp_path / db.name
    for f in db.parent.glob(db.name + "*"):
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    out = CliRunner().invoke(app, ["publish", "--db", str(copy), "--run", runs[0], "--withdraw",
                                   "--reason", "all under review"])
    assert out.exit_code == 0, out.output
    publish_snapshot(copy)
    at = _as(monkeypatch, copy, "boss", None)
    assert "No run has been published yet" in "\n".join(str(i.value) for i in at.info)
    assert not at.dataframe


# --------------------------------------------------------------------------- exports by audience


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_units_export_holds_its_card_and_the_league_table_only(roles_db, con, runs, tmp_path,
                                                                 fmt):
    released, withdrawn = runs
    mine, other = _two_units(con)
    out = tmp_path / "unit"
    res = CliRunner().invoke(app, ["export", "--db", str(roles_db), "--format", fmt, "--out",
                                   str(out), "--audience", "unit", "--unit", mine])
    assert res.exit_code == 0, res.output
    assert f"run {released}" in res.output  # the latest released run, not the withdrawn one
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted([f"league_table.{fmt}", "manifest.json",
                            f"cards/en/{mine}.html", f"cards/zh/{mine}.html"])
    table = {"csv": pl.read_csv, "parquet": pl.read_parquet, "xlsx": pl.read_excel}[fmt](
        out / f"league_table.{fmt}")
    assert table.columns == ["rank", "unit_id", "unit_name", "score", "grade_name"]
    assert table.height == rm.league_table(con, released).height


def test_non_office_audiences_get_released_runs_only(roles_db, con, runs, tmp_path):
    released, withdrawn = runs
    mine, _ = _two_units(con)
    cli = CliRunner()
    res = cli.invoke(app, ["export", "--db", str(roles_db), "--format", "csv", "--out",
                           str(tmp_path / "lead"), "--audience", "leadership"])
    assert res.exit_code == 0 and f"run {released}" in res.output, res.output
    for extra in (["--audience", "leadership"], ["--audience", "unit", "--unit", mine]):
        res = cli.invoke(app, ["export", "--db", str(roles_db), "--format", "csv", "--out",
                               str(tmp_path / "x"), "--run", withdrawn, *extra])
        assert res.exit_code != 0 and "not released" in res.output
    res = cli.invoke(app, ["export", "--db", str(roles_db), "--format", "csv", "--out",
                           str(tmp_path / "y"), "--audience", "unit"])
    assert res.exit_code != 0 and "--unit" in res.output
    res = cli.invoke(app, ["export", "--db", str(roles_db), "--format", "csv", "--out",
                           str(tmp_path / "o")])
    assert res.exit_code == 0 and f"run {withdrawn}" in res.output  # the office: the latest


# --------------------------------------------------------------------------- small cells


@pytest.fixture(scope="module")
def small_db(roles_db: Path, con, runs, tmp_path_factory: pytest.TempPathFactory):
    """roles_db with the released run's scheme asking for the median valid count as its
    disclosure threshold, so about half of the survey cells fall below it."""
    floor = int(con.execute("SELECT median(valid) FROM run_survey_quality WHERE run_id = ?",
                            [runs[0]]).fetchall()[0][0])
    target = tmp_path_factory.mktemp("small") / "site"
    shutil.copytree(roles_db.parent, target)
    db = target / roles_db.name
    with duckdb.connect(str(db)) as c:
        c.execute("UPDATE runs SET scheme_yaml = scheme_yaml || ?, scheme_hash = md5(scheme_yaml "
                  "|| ?) WHERE run_id = ?", [f"\ndisclosure:\n  min_responses: {floor}\n"] * 2
                  + [runs[0]])
    publish_snapshot(db)
    return db, floor


def test_small_cells_are_suppressed_for_non_office_roles(small_db, runs):
    db, floor = small_db
    released = runs[0]
    with duckdb.connect(str(db.parent / "snapshots" / db.name), read_only=True) as c:
        assert rm.min_responses(c, released) == floor
        small = c.execute("SELECT unit_id FROM run_survey_quality WHERE run_id = ? AND valid < ? "
                          "LIMIT 1", [released, floor]).fetchall()[0][0]
        office = rm.unit_satisfaction(c, released, small)
        assert not office["suppressed"].any() and office["index_value"].is_not_null().all()
        for viewer in (Viewer("unit", small), Viewer("leadership")):
            seen = rm.unit_satisfaction(c, released, small, viewer=viewer)
            hidden = seen.filter(pl.col("suppressed"))
            assert hidden.height >= 1
            for col in ("index_value", "ci_low", "ci_high", "se", "valid", "responses",
                        "excluded_speeder", "top_box_share"):
                assert hidden[col].is_null().all(), col
            shown = seen.filter(~pl.col("suppressed"))
            assert (shown["valid"] >= floor).all()
        # exclusion counts of small cells are left out of the unit's sums
        full = rm.survey_exclusions(c, released, small)["responses"].sum()
        part = rm.survey_exclusions(c, released, small, viewer=Viewer("unit", small))
        assert part["responses"].sum() <= full


@pytest.mark.slow
def test_the_unit_page_says_what_was_suppressed(monkeypatch, small_db, runs):
    db, floor = small_db
    with duckdb.connect(str(db.parent / "snapshots" / db.name), read_only=True) as c:
        small = c.execute("SELECT unit_id FROM run_survey_quality WHERE run_id = ? AND valid < ? "
                          "LIMIT 1", [runs[0], floor]).fetchall()[0][0]
    u.add_user(db, "small", PW, role="unit", unit_id=small)
    at = _as(monkeypatch, db, "small", "unit")
    captions = "\n".join(x.value for x in at.caption)
    assert f"fewer than {floor} valid responses" in captions
    table = next(d.value for d in at.dataframe if "CI" in " ".join(map(str, d.value.columns))
                 or "95%" in " ".join(map(str, d.value.columns)))
    assert any("suppressed" in str(v) for v in table.astype(str).values.ravel())


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_leadership_exports_suppress_small_cells(small_db, runs, tmp_path, fmt):
    db, floor = small_db
    for audience in ("office", "leadership"):
        out = tmp_path / audience
        res = CliRunner().invoke(app, ["export", "--db", str(db), "--format", fmt, "--out",
                                       str(out), "--audience", audience, "--run", runs[0]])
        assert res.exit_code == 0, res.output
        if fmt == "xlsx":
            table = pl.read_excel(out / "results.xlsx", sheet_name="survey_quality")
        else:
            table = {"csv": pl.read_csv, "parquet": pl.read_parquet}[fmt](
                out / f"survey_quality.{fmt}")
        small = table.filter(pl.col("valid").is_null() | (pl.col("valid") < floor))
        if audience == "office":
            assert small.height and small["index_value"].is_not_null().all()
        else:
            assert small.height and small["index_value"].is_null().all()
            assert small["ci_low"].is_null().all() and small["responses"].is_null().all()
