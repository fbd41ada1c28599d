"""The methodology sheet of an export names the method used per indicator and per node."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.export.methods import method_rows
from evaluator.scheme import load_scheme

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_methodology_names_every_indicator_and_node_method(tmp_path: Path) -> None:
    db, runner = tmp_path / "hdi.duckdb", CliRunner()
    scheme = tmp_path / "s.yaml"
    scheme.write_text((EXAMPLES / "hdi" / "scheme.yaml").read_text(encoding="utf-8").replace(
        "rule: {type: goalposts, lower: 0, upper: 15}",
        "rule: {type: percentile, ties: min}\n        missing: group_median").replace(
        "    aggregation: arithmetic\n", "    aggregation: generalised\n    power: 2\n"),
        encoding="utf-8")
    for kind in ("units", "outcomes"):
        done = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                   str(EXAMPLES / "hdi" / f"{kind}.csv")])
        assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["score", "--db", str(db), "--scheme", str(scheme)])
    assert done.exit_code == 0, done.output
    for lang, expect in (("en", {
            "node___total__": "Weighted geometric mean (geometric); min_coverage 1",
            "node_education": "Generalised (power) mean (generalised; power=2); min_coverage 1",
            "indicator_gni_per_capita": "source: gnipc; transform: log=True; rule: Goalposts "
                                        "(goalposts; lower=100.0, upper=75000.0)",
            "indicator_mean_schooling": "rule: Percentile rank (percentile; ties=min); "
                                        "missing: Imputed at the group median (group_median, "
                                        "impute_by=peer_group)"}),
            ("zh", {"node_health": "加权算术平均 (arithmetic)",
                    "node___total__": "加权几何平均 (geometric); 最低覆盖率 1"})):
        out = tmp_path / lang
        done = runner.invoke(app, ["export", "--db", str(db), "--format", "xlsx", "--out",
                                   str(out), "--no-cards", "--lang", lang])
        assert done.exit_code == 0, done.output
        sheet = "methodology" if lang == "en" else "方法说明"
        book = pl.read_excel(out / "results.xlsx", sheet_name=sheet)
        methods = {r[book.columns[2]]: r[book.columns[4]] for r in book.iter_rows(named=True)
                   if r[book.columns[0]] == "methods"}
        assert len(methods) == 1 + 3 + 4  # the total, three dimensions, four indicators
        for key, text in expect.items():
            assert text in methods[key], (key, methods[key])


def test_methodology_of_a_ratio_names_numerator_and_denominator() -> None:
    gdi = load_scheme(EXAMPLES / "hdi-gdi" / "scheme.yaml").scheme
    for lang, ratio in (("en", "Ratio of two sub-scores (ratio); female / male"),
                        ("zh", "两项之比 (ratio); female / male")):
        rows = {key: text for _, key, _, text in method_rows(gdi, lang)}
        assert rows["node___total__"] == ratio
        assert rows["node_female"].startswith(("Weighted geometric mean (geometric); "
                                               "min_coverage 1", "加权几何平均 (geometric)"))
        assert "lower=22.5, upper=87.5" in rows["indicator_le_f"]
        assert len(rows) == 1 + 8 + 8  # the total, eight dimensions, eight indicators
