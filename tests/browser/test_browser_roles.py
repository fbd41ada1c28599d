"""A unit user in a real browser (Chromium via Playwright, `-m browser`) signs in through the
real sign-in form on deep links naming another unit and an unreleased run, and on the pages a
unit may not use. Tables are drawn on a canvas, so the proof reads what reached the browser:
every websocket frame the server sent (Arrow tables hold numbers as 8-byte doubles, charts as
JSON text) must hold none of the other unit's indicator values, survey figures, flag evidence or
name, and nothing of the unreleased run; the same search finds the unit's own values (it can
see what it looks for)."""

from __future__ import annotations

import struct

import duckdb
import pytest
from helpers.browser import evaluator, settle, shot

from evaluator.users import add_user

pytestmark = pytest.mark.browser

PW = "river-stone-42"


def _needles(values: list[float | None]) -> dict[str, list[bytes]]:
    """Each distinctive value (not a multiple of 0.01) as the browser would receive it: an
    Arrow double or JSON text, as stored or rounded to the 4 decimals the tables send."""
    out: dict[str, list[bytes]] = {}
    for v in values:  # a value like 1.5 or 1.0000000000000004 (1.0 once rounded) is no trace
        if v is not None and abs(round(v * 100, 2) - round(v * 100)) > 1e-6:
            forms = {float(v), round(float(v), 4)}
            out[repr(float(v))] = [struct.pack("<d", f) for f in forms] + [
                repr(f).encode() for f in forms]
    return out


def _found(frames: list[bytes], needles: dict[str, list[bytes]]) -> set[str]:
    return {k for k, forms in needles.items() for f in frames if any(n in f for n in forms)}


def _facts(db, released: str, withdrawn: str, mine: str, other: str) -> dict[str, object]:
    with duckdb.connect(str(db), read_only=True) as c:
        def col(sql: str, *args: str) -> list[float | None]:
            return [r[0] for r in c.execute(sql, list(args)).fetchall()]

        lines = ("SELECT v FROM run_indicator_scores, LATERAL (SELECT unnest([raw_value, score, "
                 "contribution]) AS v) WHERE run_id = ? AND unit_id = ?")
        survey = ("SELECT v FROM run_survey_quality, LATERAL (SELECT unnest([index_value, ci_low, "
                  "ci_high, se]) AS v) WHERE run_id = ? AND unit_id = ?")
        own = set(col(lines, released, mine)) | set(col(survey, released, mine))
        # a value equal to one of the unit's own to 9 decimals (86/7 computed in another order,
        # say) looks the same on the page: no trace of anything
        near = {round(v, 9) for v in own if v is not None}

        def new(values: list[float | None]) -> list[float | None]:
            return [v for v in values if v is not None and round(v, 9) not in near]

        theirs = new(col(lines, released, other) + col(survey, released, other))
        hidden_run = new(col(lines, withdrawn, mine))
        name = c.execute("SELECT name FROM units WHERE unit_id = ?", [other]).fetchall()[0][0]
        evidence = [r[0] for r in c.execute(
            "SELECT evidence FROM run_flags WHERE unit_id = ? AND run_id IN (?, ?)",
            [other, released, withdrawn]).fetchall()]
    return {"own": _needles(sorted(v for v in own if v is not None)), "theirs": _needles(theirs),
            "hidden_run": _needles(hidden_run), "name": name, "evidence": evidence}


def _sign_in(page, url: str, frames: list[bytes]) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    page.get_by_role("textbox", name="User name").fill("t_mine")
    page.get_by_role("textbox", name="Password").fill(PW)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in:").wait_for()
    quiet(page, frames)


def quiet(page, frames: list[bytes]) -> None:
    """Wait until the script run is over: no new frame for 1.5 s and every chart drawn."""
    seen = -1
    while seen != len(frames):
        seen = len(frames)
        page.wait_for_timeout(1500)
    settle(page)


def test_a_unit_user_reaches_no_other_unit_and_no_unreleased_run(serve, dashboard_db, page):
    db = dashboard_db
    with duckdb.connect(str(db), read_only=True) as c:
        released, withdrawn = (r[0] for r in c.execute(
            "SELECT run_id FROM runs ORDER BY period, created_at").fetchall()[-2:])
        mine, other = (r[0] for r in c.execute(
            "SELECT unit_id FROM run_scores WHERE run_id = ? AND unit_id IN (SELECT unit_id FROM "
            "run_flags WHERE run_id = ?) ORDER BY rank LIMIT 2", [released, released]).fetchall())
    res = evaluator("publish", "--db", str(db), "--run", withdrawn, "--withdraw", "--reason",
                    "figures under review")
    assert res.returncode == 0, res.stdout + res.stderr
    facts = _facts(db, released, withdrawn, mine, other)
    assert facts["theirs"] and facts["hidden_run"] and facts["evidence"]
    add_user(db, "t_mine", PW, role="unit", unit_id=mine)
    server = serve(db)

    frames: list[bytes] = []

    def listen(ws) -> None:
        ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode()))

    page.on("websocket", listen)

    # 1. the unit profile, asked for the other unit on the unreleased run
    _sign_in(page, f"{server.url}/unit?lang=en&unit={other}&run={withdrawn}", frames)
    page.get_by_role("heading", name="Unit profile", exact=True).wait_for()
    assert f"unit={mine}" in page.url and f"run={released}" in page.url
    assert page.get_by_text(f"({other})").count() == 0
    shot(page, "unit_user_deep_link_other_unit_en")
    profile = list(frames)
    assert _found(profile, facts["own"]), "the search finds nothing: it would prove nothing"
    assert facts["name"].encode() not in b"".join(profile)

    # 2. the overview and the Sensitivity page (a unit's own rows) on the unreleased run, and
    # pages a unit may not use, each with both asks
    for path in ("", "compare", "sensitivity", "data_quality", "scheme_health", "scheme_editor"):
        _sign_in(page, f"{server.url}/{path}?lang=en&unit={other}&units={other}&run={withdrawn}",
                 frames)
        assert page.get_by_text("Page not found").count() == 0
        if path in ("compare", "data_quality", "scheme_health", "scheme_editor"):
            # routed but refused: the address says so instead of quietly serving the Overview
            page.get_by_text("Your role may not use this page.").wait_for()
        else:
            heading = page.locator("h1").first.inner_text()
            assert heading in ("Year at a glance", "Sensitivity: how firm is each rank"), path
        assert withdrawn not in page.url

    everything = b"".join(frames)
    assert withdrawn.encode() not in everything  # the run id itself never reached the browser
    assert not _found(frames, facts["theirs"]), "another unit's figures reached the browser"
    assert not _found(frames, facts["hidden_run"]), "the unreleased run's figures reached it"
    for text in facts["evidence"]:
        assert text.encode() not in everything
