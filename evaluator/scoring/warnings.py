"""Warnings a run carries: results that are computed correctly but can mislead without a word.

- `constant_indicator`: every unit scored has the same value, so the indicator tells no unit
  from another (a relative rule then gives each the same score: min-max gives 100 to all).
  COINr drops such indicators; here the office is told and decides.
- `zscore_clamped`: z-scores cut at the 0–100 scale (units beyond center ± center/spread sd all
  read 0 or 100, whatever their distance).
- `reweighted`: units without a value for an indicator under `missing: reweight`; the
  indicator's weight went to the indicators they have, so they are scored on the rest.
- `low_coverage`: a unit scored on less than `LOW_COVERAGE` of the index's weight (the HDI of
  a country with one of three components present ranks it as if it were complete).

One set-based query over the run's own rows (`run_indicator_scores`, `run_scores`, or the
scoring engine's tables that become them), in the same transaction as the run, so any engine
(DuckDB, Spark) stores them alike. Rows keep numbers, not
sentences: `text` words them in Chinese or English for the CLI, the dashboard and exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from evaluator.scoring.engine import Output, sql

LOW_COVERAGE = 2 / 3  # a unit missing more than a third of the weight is "scored on low coverage"
COLUMNS = ("run_id", "warning", "node_id", "unit_id", "n", "of_n", "value")
KINDS = ("constant_indicator", "zscore_clamped", "reweighted", "low_coverage")

_QUERY = """
WITH ind AS (
    SELECT i.unit_id, i.indicator_id, i.rule, i.transformed_value, i.score, i.missing_policy,
           s.base_score
    FROM {indicators} JOIN {scores} ON s.unit_id = i.unit_id),
per_ind AS (
    SELECT indicator_id, MIN(rule) AS rule, COUNT(transformed_value) AS n_values,
           MIN(transformed_value) AS lo, MAX(transformed_value) AS hi,
           SUM(CASE WHEN rule = 'zscore' AND score IN (0.0, 100.0) THEN 1 ELSE 0 END) AS clamped,
           COUNT(score) AS n_scored,
           SUM(CASE WHEN score IS NULL AND missing_policy = 'reweight' AND base_score IS NOT NULL
                    THEN 1 ELSE 0 END) AS reweighted,
           SUM(CASE WHEN base_score IS NOT NULL THEN 1 ELSE 0 END) AS n_units
    FROM ind GROUP BY indicator_id)
SELECT CAST(:run AS VARCHAR), 'constant_indicator', indicator_id, CAST(NULL AS VARCHAR),
       CAST(n_values AS INTEGER), CAST(n_values AS INTEGER), CAST(lo AS DOUBLE)
FROM per_ind WHERE n_values >= 2 AND lo = hi
UNION ALL
SELECT CAST(:run AS VARCHAR), 'zscore_clamped', indicator_id, CAST(NULL AS VARCHAR),
       CAST(clamped AS INTEGER), CAST(n_scored AS INTEGER), CAST(NULL AS DOUBLE)
FROM per_ind WHERE clamped > 0
UNION ALL
SELECT CAST(:run AS VARCHAR), 'reweighted', indicator_id, CAST(NULL AS VARCHAR),
       CAST(reweighted AS INTEGER), CAST(n_units AS INTEGER), CAST(NULL AS DOUBLE)
FROM per_ind WHERE reweighted > 0
UNION ALL
SELECT CAST(:run AS VARCHAR), 'low_coverage', CAST(NULL AS VARCHAR), unit_id,
       CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(coverage AS DOUBLE)
FROM {scores}
WHERE base_score IS NOT NULL AND coverage < :low
"""
#: the run's stored rows, FROM items for `warnings_output`
STORED_INDICATORS = "(SELECT * FROM run_indicator_scores WHERE run_id = :run) AS i"
STORED_SCORES = "(SELECT * FROM run_scores WHERE run_id = :run) AS s"


def warnings_output(run_id: str, indicators: str = STORED_INDICATORS,
                    scores: str = STORED_SCORES) -> Output:
    """The run's `run_warnings` rows, read from its indicator and unit rows: FROM items with
    the columns of `run_indicator_scores` (alias i) and `run_scores` (alias s); scoring passes
    its own tables."""
    return Output("run_warnings", COLUMNS, sql(_QUERY.format(indicators=indicators, scores=scores),
                                               run=run_id, low=LOW_COVERAGE))


@dataclass(frozen=True)
class Names:
    """What a sentence calls an indicator and a unit, by id (`display_names`)."""

    indicators: Mapping[str, str]
    units: Mapping[str, str]


NO_NAMES = Names({}, {})


@dataclass(frozen=True)
class RunWarning:
    """One stored warning: what, where (indicator or unit), how many of how many, a value."""

    warning: str
    node_id: str | None
    unit_id: str | None
    n: int | None
    of_n: int | None
    value: float | None

    def record(self, names: Names = NO_NAMES, names_zh: Names = NO_NAMES) -> dict[str, Any]:
        """The warning as a JSON object (export manifests), with both sentences."""
        return {"warning": self.warning, "node_id": self.node_id, "unit_id": self.unit_id,
                "n": self.n, "of_n": self.of_n, "value": self.value,
                "message": self.text("en", names), "message_zh": self.text("zh", names_zh)}

    def text(self, lang: str = "en", names: Names = NO_NAMES) -> str:
        """The warning as a sentence in `lang` ("zh" or English); `names` (`display_names`)
        puts indicators' and units' names in place of their ids."""
        node = names.indicators.get(self.node_id or "", self.node_id)
        unit = self.unit_id or ""
        if names.units.get(unit, unit) != unit:
            unit = (f"{names.units[unit]}（{unit}）" if lang == "zh" else
                    f"{names.units[unit]} ({unit})")
        n, of_n, v = self.n, self.of_n, self.value
        if self.warning == "constant_indicator":
            return (f"指标“{node}”：全部 {n} 个单位数值相同（{v:g}），无法区分单位，相对计分规则给每个"
                    "单位同样的分数（最小-最大法均为 100）；请核对数据或删除该指标" if lang == "zh" else
                    f"indicator '{node}': all {n} units have the same value ({v:g}); it tells no "
                    "unit from another and relative rules give each the same score (min-max: "
                    "100); check the data or drop the indicator")
        if self.warning == "zscore_clamped":
            return (f"指标“{node}”：{n}/{of_n} 个单位的 z 分数超出量表，被截为 0 或 100，"
                    "其间差距不再体现" if lang == "zh" else
                    f"indicator '{node}': {n} of {of_n} units' z-scores fell outside the scale "
                    "and were clamped to 0 or 100, hiding how far apart they are")
        if self.warning == "reweighted":
            return (f"指标“{node}”：{n}/{of_n} 个单位缺少数据，其权重已按比例分给其余指标"
                    "（missing: reweight），这些单位按其余指标计分" if lang == "zh" else
                    f"indicator '{node}': {n} of {of_n} units have no value; its weight went to "
                    "the indicators they have (missing: reweight), so they are scored on the "
                    "rest")
        if self.warning == "low_coverage":
            share = f"{100 * (v or 0.0):.0f}%"
            limit = f"{100 * LOW_COVERAGE:.0f}%"
            return (f"单位“{unit}”：仅有占总权重 {share} 的指标有数据（低于 {limit}），"
                    "其得分和排名依据不足" if lang == "zh" else
                    f"unit '{unit}': scored on indicators carrying only {share} of the weight "
                    f"(below {limit}); its score and rank rest on little data")
        return f"{self.warning} {node or unit}".strip()


def display_names(con: duckdb.DuckDBPyConnection, run_id: str, lang: str) -> Names:
    """Indicator names in `lang` (from the run's own scheme text) and unit names, by id."""
    from evaluator.runs import stored_scheme

    rows = con.execute("SELECT scheme_yaml FROM runs WHERE run_id = ?", [run_id]).fetchall()
    loaded = stored_scheme(rows[0][0], run_id) if rows else None
    indicators = {i.id: (i.name.zh if lang == "zh" else i.name.en)
                  for i in (loaded.scheme.indicators() if loaded is not None else [])}
    units = con.execute("SELECT unit_id, unit_name FROM run_scores WHERE run_id = ? AND "
                        "unit_name IS NOT NULL", [run_id]).fetchall()
    return Names(indicators, {str(u): str(n) for u, n in units})


def read_warnings(con: duckdb.DuckDBPyConnection, run_id: str) -> list[RunWarning]:
    """The run's warnings, by kind then indicator/unit; [] for a store made before the table
    existed (a database opened read-only is never migrated)."""
    present = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name = 'run_warnings'").fetchall()[0][0]
    if not present:
        return []
    order = ", ".join(f"'{k}'" for k in KINDS)
    rows: list[Any] = con.execute(
        f"SELECT warning, node_id, unit_id, n, of_n, value FROM run_warnings WHERE run_id = ? "
        f"ORDER BY list_position([{order}], warning), node_id, value, unit_id",
        [run_id]).fetchall()
    return [RunWarning(*r) for r in rows]


def summary_lines(warnings: list[RunWarning], lang: str, per_kind: int = 5,
                  names: Names = NO_NAMES) -> list[str]:
    """At most `per_kind` sentences per kind, then "… and N more" (a CLI or a sheet stays
    readable when 150 countries are reweighted)."""
    lines: list[str] = []
    for kind in dict.fromkeys(w.warning for w in warnings):
        same = [w for w in warnings if w.warning == kind]
        lines += [w.text(lang, names) for w in same[:per_kind]]
        if len(same) > per_kind:
            more = len(same) - per_kind
            lines.append(f"……另有 {more} 条同类提示" if lang == "zh" else
                         f"… and {more} more of the same kind")
    return lines


def run_warning_records(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """The run's warnings as JSON objects with the sentence in English and in Chinese."""
    en, zh = display_names(con, run_id, "en"), display_names(con, run_id, "zh")
    return [w.record(en, zh) for w in read_warnings(con, run_id)]
