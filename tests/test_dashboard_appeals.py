"""Appeals in the unit profile: a unit contests its own lines; office and --no-auth only read."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.dashboard import run_page
from helpers.users import PW, _fresh, sign_in

from evaluator import readmodel as rm
from evaluator import users as u
from evaluator.appeals import file_appeal, list_appeals
from evaluator.appstore import app_db_path, connect_app


def _units(con) -> tuple[str, list[str]]:
    run_id = rm.latest_run_id(con)
    units = [
        r[0]
        for r in con.execute(
            "SELECT unit_id FROM run_scores WHERE run_id = ? ORDER BY unit_id", [run_id]
        ).fetchall()
    ]
    return run_id, units


def _appeals(db: Path, unit: str):
    app = connect_app(db)
    try:
        return list_appeals(app, unit_id=unit)
    finally:
        app.close()


def test_a_unit_sees_only_itself_and_files_an_appeal(monkeypatch, gate_db, snap):  # noqa: F811
    _fresh(gate_db)
    run_id, units = _units(snap)
    mine = units[-1]  # not the default first unit, so the fixing is visible
    u.add_user(gate_db, "unit1", PW, role="unit", unit_id=mine)
    at = run_page(monkeypatch, gate_db, "unit", "en", no_auth=False)
    sign_in(at, "unit1", PW)
    picker = at.selectbox(key="profile_unit")
    assert picker.value == mine and len(picker.options) == 1 and picker.disabled
    indicator = at.selectbox(key="appeal_indicator").options[0]
    ind_id = at.selectbox(key="appeal_indicator").value
    at.text_area(key="appeal_reason").input("the 2024 figure was entered twice")
    at.button(key="FormSubmitter:appeal-Contest this line").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Appeal #" in s.value for s in at.success), [e.value for e in at.error]
    stored = _appeals(gate_db, mine)
    assert stored.height == 1 and indicator
    row = stored.row(0, named=True)
    assert (row["run_id"], row["item"], row["filed_by"], row["status"]) == (
        run_id, f"indicator:{ind_id}", "unit1", "open"
    )
    table = at.dataframe[-1].value
    assert list(table["Status"]) == ["open"] and list(table["Filed by"]) == ["unit1"]


def test_an_empty_reason_is_refused_with_a_message(monkeypatch, gate_db, snap):  # noqa: F811
    _fresh(gate_db)
    _, units = _units(snap)
    u.add_user(gate_db, "unit2", PW, role="unit", unit_id=units[0])
    at = run_page(monkeypatch, gate_db, "unit", "zh", no_auth=False)
    sign_in(at, "unit2", PW)
    at.text_area(key="appeal_reason").input("   ")
    at.button(key="FormSubmitter:appeal-提出申诉").click().run()
    assert [e.value for e in at.error] == ["请填写申诉理由。"]
    assert _appeals(gate_db, units[0]).is_empty()


def test_office_sees_the_units_appeals_read_only(monkeypatch, gate_db, snap):  # noqa: F811
    _fresh(gate_db)
    run_id, units = _units(snap)
    ind = snap.execute(
        "SELECT indicator_id FROM run_indicator_scores WHERE run_id = ? AND unit_id = ? LIMIT 1",
        [run_id, units[0]],
    ).fetchall()[0][0]
    app = connect_app(gate_db)
    try:
        file_appeal(snap, app, run_id=run_id, unit_id=units[0], indicator_id=ind,
                    reason="missing datum", filed_by="someone")
    finally:
        app.close()
    u.add_user(gate_db, "off", PW, role="office")
    at = run_page(monkeypatch, gate_db, "unit", "en", no_auth=False)
    sign_in(at, "off", PW)
    assert len(at.selectbox(key="profile_unit").options) == len(units)
    at.selectbox(key="profile_unit").set_value(units[0]).run()
    table = at.dataframe[-1].value
    assert list(table["Contested line"]) == [f"indicator:{ind}"]
    assert list(table["Reason"]) == ["missing datum"]
    assert not at.text_area and not [b for b in at.button if "appeal" in str(b.key)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_without_sign_in_nothing_about_appeals_is_writable(monkeypatch, gate_db, lang):  # noqa: F811
    _fresh(gate_db)
    at = run_page(monkeypatch, gate_db, "unit", lang, no_auth=True)
    assert not at.text_area and not [r for r in at.radio if r.key == "appeal_kind"]
    assert not [b for b in at.button if "appeal" in str(b.key)]
    assert any(
        ("仅供查看" if lang == "zh" else "read-only") in c.value for c in at.caption
    )
    assert not app_db_path(gate_db).exists()  # reading created no store
