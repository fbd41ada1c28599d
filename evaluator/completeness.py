"""Completeness before scoring: which units lack which data for a scheme and period.

Run before `score` so the office chases departments for data before the run, not after. It reads
the `current_*` views (latest accepted batches) and reports, per unit of the scheme's unit types:
measures with no value for the period, quarterly/monthly measures with only some sub-periods,
target-rule indicators without a target, and satisfaction indicators with fewer distinct survey
responses than `survey.min_sample`. All in SQL over the whole table; the scheme's ids reach the
query as registered frames, never pasted into SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

from evaluator.labels import Group, label
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.models import Frequency, MeasureSource, SurveySource, TargetRule

GapKind = Literal["missing", "partial", "no_target", "small_sample", "no_responses"]
EXPECTED_SUBPERIODS = {Frequency.quarterly: 4, Frequency.monthly: 12}


def _both(group: Group, code: str) -> str:
    """The code's name as "English / 中文", for the bilingual console report."""
    return f"{label(group, code, 'en')} / {label(group, code, 'zh')}"


@dataclass(frozen=True)
class Gap:
    """One unit lacking data for one indicator."""

    unit_id: str
    unit_name: str | None
    indicator_id: str
    source: str  # measure id, or the survey questions joined by '+'
    kind: GapKind
    have: int  # values / sub-periods / responses present
    need: int  # what would make it complete
    policy: str  # the indicator's missing-data policy, so the office knows what scoring will do


@dataclass
class CompletenessReport:
    scheme_id: str
    period: str
    unit_types: list[str]
    units: int
    indicators: int
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.gaps and self.units > 0

    @property
    def missing(self) -> list[Gap]:
        return [g for g in self.gaps if g.kind in ("missing", "partial", "no_target")]

    @property
    def small_samples(self) -> list[Gap]:
        return [g for g in self.gaps if g.kind in ("small_sample", "no_responses")]

    def to_frame(self) -> pl.DataFrame:
        schema = {"unit_id": pl.String, "unit_name": pl.String, "indicator_id": pl.String,
                  "source": pl.String, "kind": pl.String, "have": pl.Int64, "need": pl.Int64,
                  "policy": pl.String}
        return pl.DataFrame([g.__dict__ for g in self.gaps], schema=schema)


def _period_filter(period: str) -> tuple[str, list[object]]:
    """SQL condition and parameters: a year matches all its sub-periods, a quarter its months."""
    year = int(period) if re.fullmatch(r"\d{4}", period) else None
    periods = [period]
    quarter = re.fullmatch(r"(\d{4})Q([1-4])", period)
    if quarter:
        first = 3 * int(quarter.group(2)) - 2
        periods += [f"{quarter.group(1)}-{m:02d}" for m in range(first, first + 3)]
    return "(list_contains(?, period) OR year = ?)", [periods, year]


def check_completeness(con: duckdb.DuckDBPyConnection, loaded_scheme: LoadedScheme,
                       period: str) -> CompletenessReport:
    """Every gap in the data the scheme needs for `period`, per unit."""
    scheme = loaded_scheme.scheme
    is_year = re.fullmatch(r"\d{4}", period) is not None
    measures, surveys, targets = [], [], []
    for ind in scheme.indicators():
        src = ind.source
        if isinstance(src, MeasureSource):
            expected = EXPECTED_SUBPERIODS.get(ind.frequency, 1) if is_year else 1
            measures.append({"indicator_id": ind.id, "measure": src.measure, "expected": expected,
                             "policy": ind.missing.value})
            if isinstance(ind.rule, TargetRule) and ind.rule.target is None:
                targets.append({"indicator_id": ind.id, "measure": src.measure,
                                "policy": ind.missing.value})
        elif isinstance(src, SurveySource):
            surveys += [{"indicator_id": ind.id, "question": q, "source": "+".join(src.questions),
                         "policy": ind.missing.value} for q in src.questions]
    report = CompletenessReport(scheme.id, period, list(scheme.unit_types), 0,
                                len(scheme.indicators()))
    frames = {
        "_cc_types": pl.DataFrame({"unit_type": list(scheme.unit_types)}),
        "_cc_measures": pl.DataFrame(measures, schema={"indicator_id": pl.String,
                                                       "measure": pl.String, "expected": pl.Int64,
                                                       "policy": pl.String}),
        "_cc_targets": pl.DataFrame(targets, schema={"indicator_id": pl.String,
                                                     "measure": pl.String, "policy": pl.String}),
        "_cc_questions": pl.DataFrame(surveys, schema={"indicator_id": pl.String,
                                                       "question": pl.String, "source": pl.String,
                                                       "policy": pl.String}),
    }
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())
    try:
        report.units = int(con.execute(
            "SELECT count(*) FROM current_units "
            "WHERE unit_type IN (SELECT unit_type FROM _cc_types)"
        ).fetchall()[0][0])
        if report.units == 0:
            report.notes.append(
                f"no units of type {', '.join(scheme.unit_types)} loaded; load a units file first "
                f"/ 尚未导入类型为 {', '.join(scheme.unit_types)} 的单位")
            return report
        cond, params = _period_filter(period)
        rows = con.execute(_GAPS_SQL.format(cond=cond),
                           [*params, *params, *params, scheme.survey.min_sample,
                            scheme.survey.min_sample]).fetchall()
    finally:
        for name in frames:
            con.unregister(name)
    report.gaps = [Gap(*r) for r in rows]
    return report


_GAPS_SQL = """
WITH u AS (
    SELECT unit_id, name FROM current_units
    WHERE unit_type IN (SELECT unit_type FROM _cc_types)),
o AS (
    SELECT unit_id, measure,
           count(DISTINCT period) FILTER (WHERE period <> CAST(year AS VARCHAR)) AS subs,
           bool_or(period = CAST(year AS VARCHAR)) AS annual,
           count(*) AS n
    FROM current_outcomes WHERE {cond} GROUP BY ALL),
t AS (SELECT DISTINCT unit_id, measure FROM current_targets WHERE {cond}),
r AS (
    SELECT s.unit_id, q.indicator_id, count(DISTINCT s.response_id) AS n
    FROM current_survey_responses s JOIN _cc_questions q ON s.question = q.question
    WHERE {cond} GROUP BY ALL),
sv AS (SELECT DISTINCT indicator_id, source, policy FROM _cc_questions)
SELECT u.unit_id, u.name, m.indicator_id, m.measure,
       CASE WHEN o.unit_id IS NULL THEN 'missing' ELSE 'partial' END,
       CAST(coalesce(o.subs, 0) AS BIGINT), m.expected, m.policy
FROM u CROSS JOIN _cc_measures m LEFT JOIN o ON o.unit_id = u.unit_id AND o.measure = m.measure
WHERE o.unit_id IS NULL OR (m.expected > 1 AND NOT o.annual AND o.subs < m.expected)
UNION ALL
SELECT u.unit_id, u.name, g.indicator_id, g.measure, 'no_target', 0, 1, g.policy
FROM u CROSS JOIN _cc_targets g LEFT JOIN t ON t.unit_id = u.unit_id AND t.measure = g.measure
WHERE t.unit_id IS NULL
UNION ALL
SELECT u.unit_id, u.name, sv.indicator_id, sv.source,
       CASE WHEN r.n IS NULL THEN 'no_responses' ELSE 'small_sample' END,
       CAST(coalesce(r.n, 0) AS BIGINT), ?, sv.policy
FROM u CROSS JOIN sv LEFT JOIN r ON r.unit_id = u.unit_id AND r.indicator_id = sv.indicator_id
WHERE coalesce(r.n, 0) < ?
ORDER BY 1, 3
"""


def render(report: CompletenessReport, console: Console) -> None:
    """Rich tables: a summary per indicator, then every unit's gaps."""
    head = (f"completeness / 数据完整性: scheme {report.scheme_id}, period {report.period}, "
            f"{report.units} unit(s) of type {', '.join(report.unit_types)}, "
            f"{report.indicators} indicator(s)")
    console.print(f"[bold]{head}[/]")
    for note in report.notes:
        console.print(f"[yellow]![/] {note}")
    if report.ok:
        console.print("[green]✓[/] every unit has every value and enough survey responses "
                      "/ 数据完整")
        return
    frame = report.to_frame()
    summary = Table("indicator 指标", "source 数据", "problem 问题", "units 单位数",
                    "scoring will 评分处理", title="by indicator / 按指标", header_style="bold")
    by_ind = (frame.group_by("indicator_id", "source", "kind", "policy", maintain_order=True)
              .agg(pl.len().alias("units")).sort("indicator_id", "kind"))
    for r in by_ind.iter_rows(named=True):
        summary.add_row(r["indicator_id"], r["source"], _both(Group.value_status, r["kind"]), str(r["units"]),
                        _policy_text(r["kind"], r["policy"]))
    console.print(summary)
    detail = Table("unit 单位", "name 名称", "indicator 指标", "problem 问题",
                   "have/need 现有/应有",
                   title="by unit / 按单位", header_style="bold")
    for g in report.gaps:
        detail.add_row(g.unit_id, g.unit_name or "", g.indicator_id, _both(Group.value_status, g.kind),
                       f"{g.have}/{g.need}")
    console.print(detail)
    console.print(f"[yellow]{len(report.missing)} missing value(s), {len(report.small_samples)} "
                  f"small survey sample(s)[/] / 缺失 {len(report.missing)} 项，"
                  f"样本不足 {len(report.small_samples)} 项")


def _policy_text(kind: str, policy: str) -> str:
    if kind in ("small_sample", "no_responses"):
        return "survey.small_sample setting / 按小样本规则处理"
    return _both(Group.missing_policy, policy)
