"""One form, shared by many: three overlapping schemes, their forms, the filled forms loaded back
and scored, and the burden figures checked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from helpers.office import SOFFICE, convert
from hypothesis import given
from hypothesis import strategies as st

from evaluator.forms.plan import form_fields
from evaluator.forms.report import burden_for, overlap_report, scheme_burden
from evaluator.ingest import ingest_file
from evaluator.lint import lint_scheme
from evaluator.lint.requests import data_requests, repeated_requests
from evaluator.scheme import load_scheme
from evaluator.scheme.measures import load_registry
from evaluator.scheme.models import Scheme
from evaluator.scoring import score_run
from evaluator.store import connect

REGISTRY = {"measures": [
    {"id": "m_income", "name": {"zh": "收入增速", "en": "Income growth"},
     "definition": {"zh": "人均收入较上年增长的百分比", "en": "Year-on-year growth of income per head"},
     "unit": {"zh": "百分比", "en": "percent"}, "owner": {"zh": "统计局", "en": "Statistics"},
     "origin": "system"},
    {"id": "m_waste", "name": {"zh": "垃圾分类率", "en": "Waste sorting rate"},
     "definition": {"zh": "分类处理的生活垃圾占比（百分数）", "en": "Household waste sorted, percent"},
     "unit": {"zh": "百分比", "en": "percent"}, "owner": {"zh": "城管", "en": "Urban management"},
     "origin": "unit", "min": 0, "max": 100, "minutes": 10},
    {"id": "m_meet", "name": {"zh": "会议次数", "en": "Meetings held"},
     "definition": {"zh": "期内召开的专题会议次数", "en": "Topical meetings held in the period"},
     "unit": {"zh": "次", "en": "meetings"}, "owner": {"zh": "党政办", "en": "General office"},
     "origin": "unit", "min": 0, "integer": True},
    {"id": "m_care", "name": {"zh": "养老覆盖率", "en": "Elderly care coverage"},
     "definition": {"zh": "接受上门服务的老年人占比", "en": "Share of the elderly receiving home care"},
     "unit": {"zh": "比例", "en": "fraction"}, "owner": {"zh": "民政办", "en": "Civil affairs"},
     "origin": "unit", "min": 0, "max": 1},
    {"id": "m_care_2", "name": {"zh": "居家养老覆盖率", "en": "Home care coverage"},
     "definition": {"zh": "接受上门服务的老年人占比。", "en": "Share of elderly receiving home care"},
     "unit": {"zh": "比例", "en": "fraction"}, "owner": {"zh": "民政局", "en": "Civil affairs"},
     "origin": "unit"},
]}


def ind(id_: str, measure: str | list[str], freq: str, minutes: float, weight: float,
        evidence: str = "outcome", **extra: object) -> dict[str, object]:
    source: dict[str, object] = (
        {"measure": measure} if isinstance(measure, str)
        else {"questions": measure, "scale": {"min": 1, "max": 5}})
    rule = {"type": "direct"} if evidence == "satisfaction" else {"type": "min_max"}
    if evidence == "trace":
        rule = {"type": "pass_fail", "threshold": 2}
    return {"id": id_, "name": {"zh": f"指标{id_}", "en": f"Indicator {id_}"}, "evidence": evidence,
            "source": source, "rule": rule, "frequency": freq, "burden_minutes": minutes,
            "weight": weight, **extra}


def scheme(id_: str, *inds: dict[str, object]) -> dict[str, object]:
    return {"id": id_, "name": {"zh": f"方案{id_}", "en": f"Scheme {id_}"}, "year": 2026,
            "unit_types": ["township"],
            "dimensions": [{"id": "d", "name": {"zh": "维度", "en": "Dimension"},
                            "indicators": list(inds)}]}


SCHEMES = {
    "A": scheme("A",
                ind("a_income", "m_income", "annual", 30, 5),
                ind("a_waste", "m_waste", "quarterly", 15, 4),
                ind("a_meet", "m_meet", "quarterly", 20, 0.5, "trace", linked_outcomes=["a_waste"],
                    ),
                ind("a_sat", ["q1"], "annual", 0, 3, "satisfaction")),
    "B": scheme("B",
                ind("b_waste", "m_waste", "annual", 10, 3),
                ind("b_care", "m_care", "annual", 30, 3),
                ind("b_sat", ["q1", "q2"], "annual", 0, 2, "satisfaction")),
    "C": scheme("C",
                ind("c_care", "m_care", "monthly", 5, 3),
                ind("c_meet", "m_meet", "annual", 20, 0.3, "trace", linked_outcomes=["c_care"]),
                ind("c_income", "m_income", "annual", 30, 3),
                ind("c_sat", ["q2"], "annual", 0, 2, "satisfaction")),
}
TOWNS = ["0101", "0102", "0103", "0104", "0105"]


def evaluator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evaluator", *args], capture_output=True, text=True)


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    """Three schemes with the registry beside them, and a store holding the units."""
    folder = tmp_path / "schemes"
    folder.mkdir()
    paths = {}
    for key, data in SCHEMES.items():
        paths[key] = folder / f"{key}.yaml"
        paths[key].write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "measures.yaml").write_text(json.dumps(REGISTRY, ensure_ascii=False),
                                          encoding="utf-8")
    units = tmp_path / "units.csv"
    pl.DataFrame({"unit_id": [*TOWNS, "S01"], "name": [f"镇{u}" for u in TOWNS] + ["街道"],
                  "unit_type": ["township"] * 5 + ["street"]}).write_csv(units)
    income = tmp_path / "income.csv"
    pl.DataFrame({"unit_id": TOWNS, "period": ["2026"] * 5, "measure": ["m_income"] * 5,
                  "value": [5.5, 6.25, 4.0, 7.75, 3.5]}).write_csv(income)
    db = tmp_path / "e.duckdb"
    con = connect(db)
    ingest_file(con, "units", units, db_path=db)
    ingest_file(con, "outcomes", income, db_path=db)
    con.close()
    return {**paths, "db": db, "folder": folder, "out": tmp_path / "forms"}


def filled_values(unit_index: int) -> dict[str, float]:
    """What unit number i types: decimals a person would type, a whole number of meetings."""
    return {"m_waste": 40 + 7.25 * unit_index, "m_meet": float(unit_index + 1),
            "m_care": round(0.51 + 0.037 * unit_index, 3)}


def fill(path: Path, values: dict[str, float], target: Path | None = None) -> Path:
    wb = openpyxl.load_workbook(path)
    ws = wb["form"]
    for row in ws.iter_rows(min_row=2):
        row[3].value = values[row[2].value]
    wb.save(target or path)
    return target or path


def bounds(dv: object) -> tuple[float, ...]:
    """The numeric limits of an openpyxl data validation."""
    return tuple(float(f) for f in (getattr(dv, "formula1", None), getattr(dv, "formula2", None))
                 if f is not None)


def form_rows(path: Path) -> list[tuple[object, ...]]:
    ws = openpyxl.load_workbook(path)["form"]
    return list(ws.iter_rows(values_only=True))


# --------------------------------------------------------------------------- the forms


def test_forms_ask_each_measure_once_locked_and_validated(setup: dict[str, Path]) -> None:
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["B"]),
                  str(setup["C"]), "--period", "2026", "--out", str(setup["out"]))
    assert r.returncode == 0, r.stderr
    files = sorted(setup["out"].glob("*.xlsx"))
    assert [f.name for f in files] == [f"form_2026_{u}.xlsx" for u in TOWNS]  # no street form
    for unit, f in zip(TOWNS, files, strict=True):
        wb = openpyxl.load_workbook(f)
        assert wb.sheetnames[0] == "form" and len(wb.sheetnames) == 2
        rows = form_rows(f)
        assert list(rows[0][:4]) == ["unit_id", "period", "measure", "value"]
        body = rows[1:]
        # m_income comes from a system: not asked; each unit-reported measure exactly once
        assert [row[2] for row in body] == ["m_waste", "m_meet", "m_care"]
        assert {row[0] for row in body} == {unit} and {row[1] for row in body} == {"2026"}
        assert all(row[3] is None for row in body)
        used_by = {row[2]: row[-1] for row in body}
        assert "A " in used_by["m_waste"] and "B " in used_by["m_waste"]
        assert "C " not in used_by["m_waste"]
        ws = wb["form"]
        assert ws.protection.sheet
        assert not ws["D2"].protection.locked and ws["A2"].protection.locked
        assert ws["C3"].protection.locked and ws["E2"].protection.locked
        rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
        assert rules["D2"].type == "decimal" and bounds(rules["D2"]) == (0, 100)
        assert rules["D3"].type == "whole" and rules["D3"].operator == "greaterThanOrEqual"
        assert bounds(rules["D3"]) == (0,) and bounds(rules["D4"]) == (0, 1)
        assert rules["D2"].error and "请输入" in rules["D2"].error
        sheet = wb["说明 instructions"]
        text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
        assert "每项只填一次" in text and "each is asked once" in text
    per_type = setup["out"] / "by_type"
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["C"]),
                  "--period", "2026", "--out", str(per_type), "--per", "unit_type")
    assert r.returncode == 0, r.stderr
    [f] = per_type.glob("*.xlsx")
    body = form_rows(f)[1:]
    assert len(body) == 5 * 3 and [row[2] for row in body[:3]] == ["m_waste", "m_meet", "m_care"]
    assert [row[0] for row in body[2:4]] == ["0101", "0102"] and body[0][4] == "镇0101"


def test_filled_forms_round_trip_into_the_scored_values(setup: dict[str, Path]) -> None:
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["B"]),
                  str(setup["C"]), "--period", "2026", "--out", str(setup["out"]))
    assert r.returncode == 0, r.stderr
    typed = {u: filled_values(i) for i, u in enumerate(TOWNS)}
    files = [fill(setup["out"] / f"form_2026_{u}.xlsx", typed[u]) for u in TOWNS]
    r = evaluator("ingest", "--db", str(setup["db"]), "--kind", "form", *map(str, files))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("loaded 3 form rows") == 5 and "5 of 5 file(s) loaded" in r.stdout
    con = connect(setup["db"])
    try:
        for key in "ABC":
            run = score_run(con, load_scheme(setup[key]), "2026", publish_snapshot=False)
            got = con.execute(
                "SELECT unit_id, indicator_id, raw_value FROM run_indicator_scores "
                "WHERE run_id = ?", [run]).fetchall()
            measure_of = {i["id"]: i["source"].get("measure")  # type: ignore[union-attr]
                          for i in SCHEMES[key]["dimensions"][0]["indicators"]}  # type: ignore[index]
            checked = 0
            for unit, indicator, raw in got:
                measure = measure_of[indicator]
                if measure in ("m_waste", "m_meet", "m_care"):
                    assert raw == typed[unit][measure], (key, unit, indicator)  # exactly
                    checked += 1
            assert checked == 5 * sum(m in ("m_waste", "m_meet", "m_care")
                                      for m in measure_of.values())
    finally:
        con.close()


def test_refused_form_is_reported_and_the_others_load(setup: dict[str, Path]) -> None:
    evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["B"]),
              "--period", "2026", "--out", str(setup["out"]))
    good = fill(setup["out"] / "form_2026_0101.xlsx", filled_values(0))
    bad = setup["out"] / "form_2026_0102.xlsx"
    wb = openpyxl.load_workbook(bad)
    ws = wb["form"]
    ws["D2"].value = "about 50"  # invalid
    ws["D4"].value = 0.5  # D3 (m_meet) stays empty: missing
    wb.save(bad)
    not_a_form = setup["out"] / "other.xlsx"
    openpyxl.Workbook().save(not_a_form)
    r = evaluator("ingest", "--db", str(setup["db"]), "--kind", "form", str(bad), str(good),
                  str(not_a_form))
    assert r.returncode == 1
    assert "row 2, column value: not a number" in r.stderr
    assert "row 3, column value: empty value" in r.stderr
    assert "no sheet named 'form'" in r.stderr and "Traceback" not in r.stderr
    assert "1 of 3 file(s) loaded, 2 refused" in r.stdout
    with duckdb.connect(str(setup["db"]), read_only=True) as con:
        units = con.execute("SELECT DISTINCT unit_id FROM current_outcomes "
                            "WHERE measure <> 'm_income'").fetchall()
    assert units == [("0101",)]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_form_saved_by_libreoffice_imports(setup: dict[str, Path], tmp_path: Path) -> None:
    evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["B"]),
              str(setup["C"]), "--period", "2026", "--out", str(setup["out"]))
    values = filled_values(3)
    filled = fill(setup["out"] / "form_2026_0104.xlsx", values, tmp_path / "filled.xlsx")
    saved = convert(filled, "xlsx", tmp_path / "lo")
    assert saved.read_bytes() != filled.read_bytes()
    r = evaluator("ingest", "--db", str(setup["db"]), "--kind", "form", str(saved))
    assert r.returncode == 0, r.stderr
    with duckdb.connect(str(setup["db"]), read_only=True) as con:
        got = dict(con.execute("SELECT measure, value FROM current_outcomes WHERE unit_id = '0104' "
                               "AND measure <> 'm_income'").fetchall())
    assert got == values


# --------------------------------------------------------------------------- burden and overlap


def test_burden_figures_are_computed_from_the_schemes(setup: dict[str, Path]) -> None:
    loaded = [load_scheme(setup[k]) for k in "ABC"]
    reg = load_registry(setup["folder"] / "measures.yaml")
    rep = overlap_report([ld.scheme for ld in loaded], reg, {"township": 5})
    [b] = rep.burden
    # by hand: reports per year = annual 1, quarterly 4, monthly 12, none when burden_minutes 0
    # A: income 1 + waste 4 + meet 4 = 9 fields, 4 rounds, (30 + 15·4 + 20·4)/60 h
    # B: waste 1 + care 1 = 2 fields, 1 round, (10 + 30)/60 h
    # C: care 12 + meet 1 + income 1 = 14 fields, 12 rounds, (5·12 + 20 + 30)/60 h
    assert [(s.scheme_id, s.forms, s.fields) for s in b.schemes] == [
        ("A", 4, 9), ("B", 1, 2), ("C", 12, 14)]
    assert [s.hours for s in b.schemes] == pytest.approx([170 / 60, 40 / 60, 110 / 60])
    assert (b.before_forms, b.before_fields) == (17, 25)
    assert b.before_hours == pytest.approx(320 / 60)
    # after: one form; m_income is read from a system; waste 10 min (registry), meetings
    # max(20, 20) and care max(30, 5) from the schemes
    assert (b.after_forms, b.after_fields) == (1, 3)
    assert b.after_hours == pytest.approx((10 + 20 + 30) / 60)
    # the same figures the linter reports for each scheme
    for ld, s in zip(loaded, b.schemes, strict=True):
        summary = lint_scheme(ld).summary
        assert s.fields == summary["reports_per_unit_year"]
        assert s.hours == pytest.approx(summary["burden_hours_per_unit_year"])
    assert [(r.item, r.scheme_ids) for r in rep.repeated] == [
        ("m_income", ["A", "C"]), ("m_waste", ["A", "B"]), ("m_meet", ["A", "C"]),
        ("q1", ["A", "B"]), ("m_care", ["B", "C"]), ("q2", ["B", "C"])]
    assert [(e.scheme_id, e.indicator_id, e.excess) for e in rep.excess] == [
        ("A", "a_waste", 3), ("A", "a_meet", 3), ("C", "c_care", 11)]
    assert [(d.first, d.second) for d in rep.likely_duplicates] == [("m_care", "m_care_2")]
    lines = {m.measure: m for m in rep.measures}
    assert (lines["m_income"].origin, lines["m_income"].reports_after) == ("system", 0)
    assert (lines["m_care"].reports_before, lines["m_care"].reports_after) == (13, 1)
    assert [f.measure for f in form_fields([ld.scheme for ld in loaded], reg, "township")] == [
        "m_waste", "m_meet", "m_care"]
    assert scheme_burden(loaded[0].scheme).fields == 9
    # and the CLI writes the same report
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]), str(setup["B"]),
                  str(setup["C"]), "--period", "2026", "--out", str(setup["out"]), "--report")
    assert r.returncode == 0, r.stderr
    data = json.loads((setup["out"] / "forms_report.json").read_text(encoding="utf-8"))
    assert data["burden"][0]["before"] == {
        "forms": 17, "fields": 25, "hours": round(320 / 60, 6),
        "by_scheme": data["burden"][0]["before"]["by_scheme"]}
    assert data["burden"][0]["after"] == {"forms": 1, "fields": 3, "hours": 1.0}
    assert "5 units save 22 hours a year" in r.stdout  # (320 − 60)/60 h × 5 units = 21.7


def test_no_registry_counts_declared_work_as_unit_reported(setup: dict[str, Path]) -> None:
    loaded = [load_scheme(setup[k]).scheme for k in "ABC"]
    fields = form_fields(loaded, None, "township")
    # without a registry, m_income (burden declared) is asked too; surveys never are
    assert [f.measure for f in fields] == ["m_income", "m_waste", "m_meet", "m_care"]
    assert [f.minutes for f in fields] == [30, 15, 20, 30]


def test_forms_errors_are_explained(setup: dict[str, Path], tmp_path: Path) -> None:
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(setup["A"]),
                  "--period", "2026-13", "--out", str(setup["out"]))
    assert r.returncode == 1 and "period" in r.stderr and "Traceback" not in r.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: {zh: 甲}\n", encoding="utf-8")
    r = evaluator("forms", "--db", str(setup["db"]), "--schemes", str(broken),
                  "--period", "2026", "--out", str(setup["out"]))
    assert r.returncode == 1 and "broken.yaml:2" in r.stderr
    assert not setup["out"].exists()


# --------------------------------------------------------------------------- properties

indicator = st.tuples(st.sampled_from(["m0", "m1", "m2", "m3", "m4"]),
                      st.sampled_from(["annual", "quarterly", "monthly"]),
                      st.sampled_from([0, 5, 10, 30]))


@st.composite
def schemes(draw: st.DrawFn) -> list[Scheme]:
    out = []
    for k in range(draw(st.integers(1, 4))):
        inds = draw(st.lists(indicator, min_size=1, max_size=5))
        out.append(Scheme.model_validate(scheme(
            f"s{k}", *[ind(f"i{j}", m, f, b, 1) for j, (m, f, b) in enumerate(inds)])))
    return out


@given(schemes())
def test_one_form_never_asks_twice_nor_costs_more(found: list[Scheme]) -> None:
    fields = form_fields(found, None, "township")
    asked = [f.measure for f in fields]
    assert len(asked) == len(set(asked))
    declared = {r.item for r in data_requests(found) if r.indicator.burden_minutes != 0}
    assert set(asked) == declared
    b = burden_for(found, None, "township")
    assert b.after_fields <= b.before_fields
    assert b.after_hours <= b.before_hours + 1e-9
    counts: dict[str, int] = {}
    for r in data_requests(found):
        counts[r.item] = counts.get(r.item, 0) + 1
    assert {r.item for r in repeated_requests(found)} == {m for m, n in counts.items() if n > 1}


def test_a_quarter_form_asks_only_what_is_given_quarterly_or_more_often() -> None:
    root = Path(__file__).resolve().parent.parent / "indicators"
    found = [load_scheme(root / f"{s}.yaml").scheme
             for s in ("demo_township", "discipline_township", "civil_affairs_township")]
    reg = load_registry(root / "measures.yaml")
    year = [f.measure for f in form_fields(found, reg, "township", "2026")]
    assert year == ["clinic_wait_minutes", "meetings_held", "documents_issued", "ledger_pages",
                    "elderly_care_coverage"]
    assert [f.measure for f in form_fields(found, reg, "township", "2026Q1")] == [
        "clinic_wait_minutes", "meetings_held"]  # the registry gives both per quarter
    assert form_fields(found, reg, "township", "2026-03") == []
    # without a registry, the indicators' frequency decides: meetings and clinic are quarterly,
    # check-ins, photos and likes monthly
    monthly = [f.measure for f in form_fields(found, None, "township", "2026-03")]
    assert monthly == ["hotline_response_hours", "app_checkin_rate", "photos_uploaded", "posts_liked"]
