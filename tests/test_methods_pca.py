"""PCA-derived weights: shown by `evaluator weights --pca-db` next to the declared ones, from a
stored run's scores, never applied — hand-worked, properties, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.scoring import add_units, add_values, dimension, indicator, make_scheme
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.scoring import score_run
from evaluator.scoring.pca_weights import pca_weights
from evaluator.store import connect

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def three(values: dict[str, list[float]]):
    return make_scheme([dimension("d", [indicator(k) for k in values]),
                        dimension("e", [indicator("z")])])


def scored(values: dict[str, list[float]]):
    con = connect(":memory:")
    n = len(next(iter(values.values())))
    add_units(con, n)
    for k, vs in {**values, "z": [50.0] * n}.items():
        add_values(con, k, {f"u{i:02d}": v for i, v in enumerate(vs, start=1)})
    loaded = three(values)
    return con, loaded, score_run(con, loaded, "2026")


def test_pca_weights_by_hand() -> None:
    # a and b perfectly correlated, c uncorrelated with them: PC1 = (1, 1, 0)/√2
    con, loaded, run_id = scored({"a": [10, 20, 30, 40], "b": [20, 40, 60, 80],
                                  "c": [60, 40, 40, 60]})
    got = {p.node_id: p for p in pca_weights(con, loaded.scheme, run_id)}
    assert got["a"].loading == pytest.approx(2 ** -0.5)
    assert got["b"].loading == pytest.approx(2 ** -0.5)
    assert got["c"].loading == pytest.approx(0.0, abs=1e-12)
    assert [got[k].share for k in "abc"] == pytest.approx([0.5, 0.5, 0.0], abs=1e-12)
    assert got["a"].explained == pytest.approx(2 / 3)
    assert "d" not in got and "z" not in got  # e has one child; the total's child e is constant


FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(*[st.integers(0, 100).map(float)] * 3), min_size=4, max_size=9))
def test_pca_weights_are_the_first_component(rows: list[tuple[float, float, float]]) -> None:
    x = np.array(rows)
    if (x.std(axis=0) == 0).any():
        return
    con, loaded, run_id = scored({k: list(x[:, j]) for j, k in enumerate("abc")})
    got = {p.node_id: p for p in pca_weights(con, loaded.scheme, run_id)}
    corr = np.corrcoef(x, rowvar=False)
    loading = np.array([got[k].loading for k in "abc"])
    top = np.linalg.eigvalsh(corr)[-1]
    assert np.allclose(corr @ loading, top * loading, atol=1e-8)  # an eigenvector of the top
    assert np.linalg.norm(loading) == pytest.approx(1.0) and loading.sum() >= -1e-12
    if abs(loading.sum()) > 1e-6:
        assert sum(got[k].share for k in "abc") == pytest.approx(1.0)
    con.close()


def test_cli_shows_pca_weights_and_applies_none(tmp_path: Path) -> None:
    runner, db = CliRunner(), tmp_path / "hdi.duckdb"
    for kind in ("units", "outcomes"):
        assert runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                   str(EXAMPLES / "hdi" / f"{kind}.csv")]).exit_code == 0
    assert runner.invoke(app, ["score", "--db", str(db), "--scheme",
                               str(EXAMPLES / "hdi" / "scheme.yaml")]).exit_code == 0
    scheme = str(EXAMPLES / "hdi" / "scheme.yaml")
    plain = json.loads(runner.invoke(app, ["weights", scheme, "--format", "json"]).output)
    done = runner.invoke(app, ["weights", scheme, "--format", "json", "--pca-db", str(db)])
    assert done.exit_code == 0, done.output
    rows = {r["node_id"]: r for r in json.loads(done.output)}
    # two standardised children always load equally: 50% each
    assert rows["expected_schooling"]["pca_local"] == pytest.approx(0.5)
    assert rows["mean_schooling"]["pca_local"] == pytest.approx(0.5)
    assert sum(rows[d]["pca_local"] for d in ("health", "education", "income")) == \
        pytest.approx(1.0, abs=1e-6)
    # the declared and effective weights are untouched
    for r in plain:
        assert (rows[r["node_id"]]["declared"], rows[r["node_id"]]["effective"]) == (
            r["declared"], r["effective"])
    text = runner.invoke(app, ["weights", scheme, "--pca-db", str(db)])
    assert text.exit_code == 0 and "never applied" in text.output
    zh = runner.invoke(app, ["weights", scheme, "--pca-db", str(db), "--lang", "zh"])
    assert "主成分权重" in zh.output and "不参与计分" in zh.output
    bad = runner.invoke(app, ["weights", scheme, "--pca-db", str(tmp_path / "none.duckdb")])
    assert bad.exit_code != 0 and "no such database file" in bad.output
