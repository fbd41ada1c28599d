"""`min_coverage` per node: a unit gets no score for a node (or the total) unless enough of the
node's children are scored — hand-worked, on random presence patterns, and on UNDP's HDI."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.methods import refusal
from helpers.scoring import add_units, add_values, dimension, indicator, make_scheme, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.scheme import load_scheme
from evaluator.scoring import score_run
from evaluator.store import connect

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def dims(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str], float | None]:
    rows = con.execute("SELECT unit_id, dimension_id, score FROM run_dimension_scores "
                       "WHERE run_id = ?", [run_id]).fetchall()
    return {(u, d): s for u, d, s in rows}


def test_min_coverage_by_hand(con) -> None:
    # d (min_coverage 0.6 of 3 children: at least ⌈1.8⌉ = 2 scored) and e (no rule)
    add_units(con, 3)
    add_values(con, "a", {"u01": 30, "u02": 60, "u03": 90})
    add_values(con, "b", {"u01": 50, "u02": 20})
    add_values(con, "c", {"u01": 70})
    add_values(con, "e", {"u01": 10, "u02": 10, "u03": 40})
    loaded = make_scheme([
        dimension("d", [indicator("a"), indicator("b"), indicator("c")], min_coverage=0.6),
        dimension("f", [indicator("e")]),
    ])
    run_id, scores, _ = run(con, loaded)
    got = dims(con, run_id)
    assert got[("u01", "d")] == pytest.approx(50.0)  # (30 + 50 + 70) / 3
    assert got[("u02", "d")] == pytest.approx(40.0)  # (60 + 20) / 2: 2 of 3 is enough
    assert got[("u03", "d")] is None  # 1 of 3 is not
    # the total (no min_coverage) reweights over what is scored: u03 rests on e alone
    assert scores["base_score"].to_list() == pytest.approx([30.0, 25.0, 40.0])
    # the scheme's own min_coverage applies to the top-level dimensions
    run_id, scores, _ = run(con, make_scheme(loaded.scheme.model_dump()["dimensions"],
                                             min_coverage=1))
    assert scores["base_score"].to_list()[:2] == pytest.approx([30.0, 25.0])
    assert scores["base_score"].to_list()[2] is None and scores["rank"].to_list()[2] is None


def test_min_coverage_counts_only_children_of_positive_weight(con) -> None:
    add_units(con, 2)
    add_values(con, "a", {"u01": 80, "u02": 40})
    add_values(con, "b", {"u01": 20})
    add_values(con, "z", {"u01": 0, "u02": 0})
    loaded = make_scheme([dimension("d", [indicator("a"), indicator("b"),
                                          indicator("z", weight=0)], min_coverage=1)])
    run_id, scores, _ = run(con, loaded)
    assert scores["base_score"].to_list()[0] == pytest.approx(50.0)
    assert scores["base_score"].to_list()[1] is None  # b missing: 1 of the 2 that count


@pytest.mark.parametrize("value", [-0.1, 1.5, "all"])
def test_min_coverage_out_of_range_is_a_located_error(value: object) -> None:
    text = (EXAMPLES / "hdi" / "scheme.yaml").read_text(encoding="utf-8").replace(
        "    min_coverage: 1\n", f"    min_coverage: {value}\n")
    line = text.splitlines().index(f"    min_coverage: {value}") + 1
    assert f"s.yaml:{line} dimensions[1].min_coverage" in refusal(text)


FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.slow
@FAST
@given(st.lists(st.lists(st.booleans(), min_size=4, max_size=4), min_size=2, max_size=5),
       st.floats(min_value=0, max_value=1))
def test_a_node_is_scored_exactly_when_enough_children_are(present: list[list[bool]],
                                                           cov: float) -> None:
    con = connect(":memory:")
    try:
        units = [f"u{i}" for i in range(len(present))]
        add_units(con, [(u, None) for u in units])
        for j in range(4):
            vals = {u: 10.0 * (j + 1) for u, row in zip(units, present, strict=True) if row[j]}
            if vals:
                add_values(con, f"x{j}", vals)
        add_values(con, "y", dict.fromkeys(units, 5.0))
        loaded = make_scheme([dimension("d", [indicator(f"x{j}") for j in range(4)],
                                        min_coverage=cov), dimension("f", [indicator("y")])])
        run_id = score_run(con, loaded, "2026")
        got = dims(con, run_id)
        need = max(1, math.ceil(cov * 4 - 1e-9))
        for u, row in zip(units, present, strict=True):
            assert (got[(u, "d")] is not None) == (sum(row) >= need), (u, row, cov)
    finally:
        con.close()


# ----------------------------------------------------------------------------- the HDI

# UNDP's 2021 values of the four countries it leaves unranked for lack of components
# (HDR21-22 composite-indices file, the source of examples/hdi-full)
UNRANKED = {"MCO": {"le": 85.9463}, "NRU": {"le": 63.617, "mys": 11.69042029, "gnipc": 17729.74084},
            "PRK": {"le": 73.2845, "mys": 10.78317}, "SOM": {"le": 55.2803, "gnipc": 1017.96785}}


@pytest.fixture(scope="module")
def hdi_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/hdi-full plus the four unranked countries, ingested through the CLI."""
    tmp = tmp_path_factory.mktemp("hdi_cov")
    pl.DataFrame({"unit_id": list(UNRANKED), "name": list(UNRANKED),
                  "unit_type": "country", "peer_group": None}).write_csv(tmp / "u.csv")
    pl.DataFrame([{"unit_id": u, "period": "2021", "measure": m, "value": v}
                  for u, vals in UNRANKED.items() for m, v in vals.items()]).write_csv(tmp / "o.csv")
    db, runner = tmp / "hdi.duckdb", CliRunner()
    full = EXAMPLES / "hdi-full"
    for kind, extra in (("units", "u.csv"), ("outcomes", "o.csv")):
        for path in (full / f"{kind}.csv", tmp / extra):
            result = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind, str(path)])
            assert result.exit_code == 0, result.output
    return db


def _scores(db: Path, scheme_text: str, tmp: Path) -> pl.DataFrame:
    (tmp / "s.yaml").write_text(scheme_text, encoding="utf-8")
    con = connect(db)
    try:
        run_id = score_run(con, load_scheme(tmp / "s.yaml"), "2021", publish_snapshot=False)
        return con.sql("SELECT unit_id, score, rank FROM run_scores WHERE run_id = ?",
                       params=[run_id]).pl()
    finally:
        con.close()


def test_hdi_withholds_scores_of_incomplete_countries(hdi_db: Path, tmp_path: Path) -> None:
    text = (EXAMPLES / "hdi" / "scheme.yaml").read_text(encoding="utf-8")
    published = pl.read_csv(EXAMPLES / "hdi-full" / "units.csv").select(
        "unit_id", "hdi_published", "hdi_rank_published")
    shipped = _scores(hdi_db, text, tmp_path).join(published, on="unit_id", how="left")
    unranked = shipped.filter(pl.col("unit_id").is_in(list(UNRANKED)))
    assert unranked["score"].is_null().all() and unranked["rank"].is_null().all()
    ranked = shipped.filter(pl.col("hdi_published").is_not_null())
    assert ranked.height == 191
    assert (ranked["score"] == ranked["hdi_published"]).all()
    assert (ranked["rank"] == ranked["hdi_rank_published"]).all()
    # without min_coverage, Monaco tops the index on life expectancy alone and pushes the others
    old = _scores(hdi_db, re.sub(r"(?m)^ *min_coverage: 1\n", "", text), tmp_path)
    monaco = old.filter(pl.col("unit_id") == "MCO").row(0, named=True)
    assert (monaco["score"], monaco["rank"]) == (1.0, 1)
    moved = old.join(published, on="unit_id").filter(pl.col("rank") != pl.col("hdi_rank_published"))
    assert moved.height > 100
