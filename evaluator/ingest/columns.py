"""Map a file's header onto the contract columns of a kind, or explain why it cannot be mapped.

Header names are matched after trimming, lower-casing and turning spaces/hyphens into `_`
("Unit ID" → unit_id). Common Chinese headers (单位编码 → unit_id, …) are mapped automatically;
any other name is mapped with `--map SOURCE=TARGET` (see docs/ingest.md). A missing required
column is reported with a hint: a close English name or the Chinese headers left unmapped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from evaluator.ingest.errors import IngestError, RowProblem
from evaluator.ingest.kinds import Kind

# Chinese headers seen in office exports (WPS/Excel), mapped only when the contract name is absent.
ALIASES: dict[str, str] = {
    "单位编码": "unit_id", "单位代码": "unit_id", "单位编号": "unit_id", "单位ID": "unit_id",
    "单位名称": "name", "名称": "name",
    "单位类型": "unit_type", "类型": "unit_type",
    "分组": "peer_group", "同类组": "peer_group", "对标组": "peer_group",
    "上级单位编码": "parent_id", "上级单位代码": "parent_id", "上级编码": "parent_id",
    "人口": "population", "常住人口": "population",
    "期间": "period", "时期": "period", "考核期": "period", "统计期": "period",
    "指标": "measure", "指标编码": "measure", "指标代码": "measure",
    "数值": "value", "值": "value", "指标值": "value",
    "问卷编号": "response_id", "答卷编号": "response_id",
    "题目编码": "question", "题号": "question", "问题编码": "question", "题目": "question",
    "答案": "answer", "评分": "answer", "回答": "answer",
    "受访者": "respondent", "受访者编号": "respondent", "受访人": "respondent",
    "权重": "weight",
    "用时秒": "duration_s", "答题时长": "duration_s", "作答时长": "duration_s",
    "渠道": "channel", "调查渠道": "channel",
    "提交时间": "submitted_at",
    "目标": "target", "目标值": "target",
    "事件": "event", "事件编码": "event",
    "备注": "note", "说明": "note",
    "量表最小值": "scale_min", "最小值": "scale_min",
    "量表最大值": "scale_max", "最大值": "scale_max",
    "中文题目": "text_zh", "题目中文": "text_zh",
    "英文题目": "text_en", "题目英文": "text_en",
}

_DUPLICATE = re.compile(r"^(.*)_duplicated_\d+$")
_CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").strip()).lower()


@dataclass
class ColumnPlan:
    """How the file's columns become contract columns; `problems` non-empty means reject."""

    rename: dict[str, str] = field(default_factory=dict)  # file header -> contract column
    ignored: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def parse_map(items: list[str] | dict[str, str] | None) -> dict[str, str]:
    """`["单位代码=unit_id", …]` (the CLI form) or a dict → {source: target}."""
    if items is None:
        return {}
    if isinstance(items, dict):
        return dict(items)
    out: dict[str, str] = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise IngestError(
                f"--map {item!r}: write SOURCE=TARGET, e.g. --map 单位代码=unit_id "
                "/ 列映射格式应为 源列名=目标列名"
            )
        out[source.strip()] = target.strip()
    return out


def plan_columns(headers: list[str], kind: Kind, user_map: dict[str, str] | None) -> ColumnPlan:
    """Decide the rename; report duplicates, conflicts and missing required columns."""
    plan = ColumnPlan()
    wanted = {c.name for c in kind.columns}
    user_map = user_map or {}
    by_norm = {normalise(h): h for h in headers}
    for source, target in user_map.items():
        if target not in wanted:
            raise IngestError(
                f"--map {source}={target}: {target!r} is not a column of kind {kind.name!r} "
                f"(columns: {', '.join(sorted(wanted))}) / 目标列不存在"
            )
        header = source if source in headers else by_norm.get(normalise(source))
        if header is None:
            raise IngestError(
                f"--map {source}={target}: the file has no column {source!r} "
                f"(its columns: {', '.join(headers)}) / 文件中没有该列"
            )
        plan.rename[header] = target
    for header in headers:
        dup = _DUPLICATE.match(header)
        if dup and dup.group(1) in headers:
            plan.problems.append(
                RowProblem(1, dup.group(1), "column appears more than once / 列名重复"))
            continue
        if header in plan.rename:
            continue
        norm = normalise(header)
        if norm in wanted:
            plan.rename[header] = norm
        elif header.strip() in ALIASES and ALIASES[header.strip()] in wanted:
            plan.rename[header] = ALIASES[header.strip()]
    # an exact contract name beats an alias for the same target
    targets: dict[str, list[str]] = {}
    for header, target in plan.rename.items():
        targets.setdefault(target, []).append(header)
    for target, sources in targets.items():
        if len(sources) > 1:
            exact = [s for s in sources if normalise(s) == target or s in user_map]
            keep = exact[0] if len(exact) == 1 else None
            if keep is None:
                plan.problems.append(RowProblem(
                    1, target,
                    f"columns {', '.join(map(repr, sources))} all map to {target}; keep one or use "
                    f"--map / 多列映射到同一列",
                ))
            for s in sources:
                if s != keep:
                    del plan.rename[s]
    plan.ignored = [h for h in headers if h not in plan.rename and not _DUPLICATE.match(h)]
    present = set(plan.rename.values())
    for col in kind.required:
        if col not in present:
            plan.problems.append(RowProblem(1, col, _missing_hint(col, plan.ignored, kind)))
    return plan


def _missing_hint(col: str, unmapped: list[str], kind: Kind) -> str:
    msg = f"required column {col!r} is missing / 缺少必需列 {col}"
    close = difflib.get_close_matches(col, [normalise(h) for h in unmapped], n=1, cutoff=0.6)
    if close:
        header = next(h for h in unmapped if normalise(h) == close[0])
        return f"{msg}; did you mean {header!r}? rename it or pass --map '{header}={col}'"
    chinese = [h for h in unmapped if _CJK.search(h)]
    if chinese:
        return (f"{msg}; the file has Chinese headers {', '.join(chinese)}: map the right one with "
                f"--map '{chinese[0]}={col}' (docs/ingest.md lists the names mapped automatically)")
    return f"{msg}; columns of kind {kind.name}: {', '.join(c.name for c in kind.columns)}"
