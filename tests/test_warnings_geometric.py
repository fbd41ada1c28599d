"""`geometric_zero` judged from the rule's real range, through `evaluator lint --format json` on
real scheme files: the HDI as shipped warns; floors inside the goalposts, a registry's valid
range, or a silenced indicator quiet it; bounds that still reach the worse goalpost do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from evaluator.cli import app

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HDI = EXAMPLES / "hdi" / "scheme.yaml"
INDICATORS = {"life_expectancy": (0, 0), "expected_schooling": (1, 0), "mean_schooling": (1, 1),
              "gni_per_capita": (2, 0)}
# floors strictly inside the goalposts (20 years, 0 years, 0 years, $100) and below every value
# UNDP published for 2021 (52.5 years, 5.5, 2.1, $732): the HDI cannot be 0, and is unchanged
FLOORS = {"life_expectancy": 25, "expected_schooling": 0.5, "mean_schooling": 0.5,
          "gni_per_capita": 150}


def _hdi() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(YAML(typ="safe").load(HDI)))  # plain dicts
    return data


def _ind(data: dict[str, Any], ind: str) -> dict[str, Any]:
    d, i = INDICATORS[ind]
    found: dict[str, Any] = data["dimensions"][d]["indicators"][i]
    return found


def _lint(tmp_path: Path, data: dict[str, Any], *extra: str) -> list[dict[str, Any]]:
    path = tmp_path / "scheme.yaml"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")  # JSON is YAML
    result = CliRunner().invoke(app, ["lint", str(path), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    return [f for f in report["findings"] if f["rule"] == "geometric_zero"]


def test_the_hdi_as_shipped_warns_once_per_dimension(tmp_path: Path) -> None:
    found = _lint(tmp_path, _hdi())
    assert [f["path"] for f in found] == ["dimensions[0]", "dimensions[1]", "dimensions[2]"]
    assert "transform.floor/cap" in found[0]["message"]
    assert "transform.floor/cap" in found[0]["message_zh"]


def test_floors_inside_the_goalposts_silence_it_and_change_no_score(tmp_path: Path) -> None:
    data = _hdi()
    for ind, floor in FLOORS.items():
        _ind(data, ind).setdefault("transform", {})["floor"] = floor
    assert _lint(tmp_path, data) == []
    # the same 191 HDI values and ranks with and without the floors (no value is below one)
    runner, db = CliRunner(), str(tmp_path / "h.duckdb")
    for kind in ("units", "outcomes"):
        r = runner.invoke(app, ["ingest", "--db", db, "--kind", kind,
                                str(EXAMPLES / "hdi-full" / f"{kind}.csv")])
        assert r.exit_code == 0, r.output
    frames = []
    for scheme, out in ((HDI, "plain"), (tmp_path / "scheme.yaml", "floored")):
        r = runner.invoke(app, ["score", "--db", db, "--scheme", str(scheme), "--period", "2021",
                                "--out", str(tmp_path / out), "--top", "0"])
        assert r.exit_code == 0, r.output
        frames.append(pl.read_csv(tmp_path / out / "scores.csv").select(
            "unit_id", "base_score", "rank").sort("unit_id"))
    assert frames[0].height == 191 and frames[0].equals(frames[1])


def test_a_floor_at_the_lower_goalpost_still_reaches_zero(tmp_path: Path) -> None:
    data = _hdi()
    for ind, floor in FLOORS.items():
        _ind(data, ind).setdefault("transform", {})["floor"] = floor
    _ind(data, "life_expectancy")["transform"]["floor"] = 20  # = lower: 20 years scores 0
    assert [f["path"] for f in _lint(tmp_path, data)] == ["dimensions[0]"]


def test_a_registry_range_inside_the_goalposts_silences_it(tmp_path: Path) -> None:
    text = {"zh": "数据", "en": "Figure"}
    measures = [{"id": m, "name": text, "definition": text, "unit": text, "owner": text,
                 "origin": "system", "min": lo}
                for m, lo in (("le", 15), ("eys", 1), ("mys", 1), ("gnipc", 200))]
    registry = tmp_path / "registry.yaml"
    registry.write_text(json.dumps({"measures": measures}, ensure_ascii=False), encoding="utf-8")
    # le's valid range starts at 15, below the goalpost 20: health can still be 0
    found = _lint(tmp_path, _hdi(), "--registry", str(registry))
    assert [f["path"] for f in found] == ["dimensions[0]"]


def test_silencing_the_indicator_quiets_its_dimension(tmp_path: Path) -> None:
    data = _hdi()
    for ind in ("life_expectancy", "gni_per_capita"):
        _ind(data, ind)["lint"] = {"ignore": ["geometric_zero", "burden_undeclared"],
                                  "reason": "UNDP's goalposts are below any country's value"}
    # education's arithmetic mean is 0 only when both indicators are; silencing one of them is
    # enough, since the silenced one is taken at its word
    _ind(data, "expected_schooling")["lint"] = {"ignore": ["geometric_zero"], "reason": "ditto"}
    assert _lint(tmp_path, data) == []
    del _ind(data, "expected_schooling")["lint"]
    assert [f["path"] for f in _lint(tmp_path, data)] == ["dimensions[1]"]


@pytest.mark.parametrize(("rule", "transform", "warns"), [
    ({"type": "deduction", "points": 10}, None, True),           # 10 incidents → 0
    ({"type": "deduction", "points": 10}, {"cap": 5}, False),    # at most 100 − 50 = 50
    ({"type": "pass_fail", "threshold": 3}, None, True),         # below 3 fails with 0
    ({"type": "pass_fail", "threshold": 3}, {"floor": 3}, False),  # every value passes
    ({"type": "direct"}, {"floor": 1}, False),                    # the score is the value ≥ 1
    ({"type": "min_max"}, {"floor": 1}, True),                    # the worst unit gets 0 anyway
])
def test_rule_ranges_on_an_indicator_child(tmp_path: Path, rule: dict[str, Any],
                                           transform: dict[str, Any] | None, warns: bool) -> None:
    ind: dict[str, Any] = {"id": "x", "name": {"zh": "甲", "en": "X"}, "evidence": "outcome",
                           "source": {"measure": "x"}, "rule": rule, "burden_minutes": 5}
    if transform:
        ind["transform"] = transform
    other = {**ind, "id": "y", "name": {"zh": "乙", "en": "Y"}, "source": {"measure": "y"},
             "rule": {"type": "efficacy", "good": 10, "bad": 0, "floor": 40}}
    other.pop("transform", None)
    data = {"id": "g", "name": {"zh": "几何", "en": "Geo"}, "year": 2026,
            "unit_types": ["township"], "limits": {"min_satisfaction_share": 0},
            "dimensions": [{"id": "d", "name": {"zh": "维", "en": "D"}, "aggregation": "geometric",
                            "indicators": [ind, other]}]}
    found = _lint(tmp_path, data)
    assert [f["indicator"] for f in found] == (["x"] if warns else [])
