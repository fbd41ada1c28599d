"""Bilingual labels: column headers, sheet titles and the sentences exports print.

Headers default to the stable English ids; `lang="zh"` swaps in the Chinese label. An id without
a Chinese label keeps its id, so a new column is never lost, only untranslated.
"""

from __future__ import annotations

HEADERS_ZH: dict[str, str] = {
    "unit_id": "单位编码",
    "unit_name": "单位名称",
    "unit_type": "单位类型",
    "peer_group": "同类组",
    "score": "得分",
    "score_low": "得分下限",
    "score_high": "得分上限",
    "rank": "排名",
    "rank_low": "排名下限",
    "rank_high": "排名上限",
    "peer_rank": "组内排名",
    "grade": "等次代码",
    "grade_name": "等次",
    "grade_reason": "定等依据",
    "base_score": "加权基础分",
    "bonus": "加分",
    "deduction": "扣分",
    "veto": "一票否决项",
    "score_declared": "按申报权重得分",
    "rank_declared": "按申报权重排名",
    "coverage": "数据覆盖率",
    "flags": "预警标记",
    "scheme_warning": "方案问题提示",
    "indicator_id": "指标编码",
    "indicator_name": "指标名称",
    "dimension_id": "维度编码",
    "dimension_name": "维度名称",
    "evidence": "证据类型",
    "raw_value": "原始值",
    "transformed_value": "变换后值",
    "rule": "计分规则",
    "declared_weight": "申报权重",
    "weight": "有效权重",
    "effective_weight": "有效权重",
    "local_weight": "上级内权重",
    "contribution": "贡献分",
    "missing_policy": "缺失处理",
    "imputed": "是否插补",
    "parent_id": "上级编码",
    "depth": "层级",
    "responses": "回收份数",
    "excluded_speeder": "剔除（答题过快）",
    "excluded_straightline": "剔除（直线作答）",
    "excluded_duplicate": "剔除（重复）",
    "excluded_out_of_scale": "剔除（超出量表）",
    "valid": "有效份数",
    "effective_n": "有效样本量",
    "raw_index": "原始指数",
    "index_value": "满意度指数",
    "se": "标准误",
    "ci_low": "置信区间下限",
    "ci_high": "置信区间上限",
    "top_box_share": "满意比例",
    "small_sample": "小样本",
    "shrinkage": "收缩系数",
    "flag": "标记",
    "evidence_text": "依据",
    "node_id": "节点编码",
    "node_kind": "节点类型",
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "direction": "方向",
    "source": "数据来源",
    "frequency": "报送频次",
    "burden_minutes": "每次填报分钟",
    "trace_only": "纯留痕",
    "linked_outcomes": "关联成效指标",
    "severity": "严重程度",
    "indicator": "指标",
    "message": "说明",
    "name": "名称",
    "value": "数值",
    "key": "项目",
    "section": "类别",
    "appeal_id": "申诉编号",
    "run_id": "运行编号",
    "item": "申诉事项",
    "reason": "申诉理由",
    "status": "状态",
    "filed_by": "提交人",
    "filed_at": "提交时间",
    "resolution": "处理意见",
    "correction_batch": "更正批次",
    "rescore_run_id": "重新计分运行",
    "resolved_by": "处理人",
    "resolved_at": "处理时间",
}

# A header that means something else in one table than elsewhere: (table, column) -> zh label.
TABLE_HEADERS_ZH: dict[tuple[str, str], str] = {
    ("flags", "evidence"): "依据说明",  # the numbers behind the flag, not an evidence class
    ("lint", "rule"): "检查规则",  # the lint rule id, not a scoring rule
}

SHEETS_ZH: dict[str, str] = {
    "summary": "汇总",
    "breakdown": "指标明细",
    "dimensions": "维度得分",
    "survey_quality": "满意度调查质量",
    "flags": "预警",
    "scheme": "指标体系",
    "reference_values": "计分参照值",
    "lint": "方案体检",
    "appeals": "申诉",
    "methodology": "方法说明",
}

EVIDENCE = {
    "outcome": ("成效", "Outcome"),
    "satisfaction": ("满意度", "Satisfaction"),
    "output": ("产出", "Output"),
    "process": ("过程", "Process"),
    "trace": ("留痕", "Trace"),
}

SEVERITY = {
    "error": ("错误", "error"),
    "warning": ("警告", "warning"),
    "info": ("提示", "info"),
}

FLAGS = {
    "show_off": ("重留痕轻实绩", "High paperwork, weak results"),
    "survey_stuffing": ("问卷异常", "Implausible survey responses"),
    "small_sample": ("样本量不足", "Small sample"),
}

TEXT: dict[str, tuple[str, str]] = {
    "lint_warning": (
        "本次结果所依据的考核方案存在形式主义问题（{n} 项严重问题）：{items}",
        "Scored under a scheme with formalism problems ({n} error(s)): {items}",
    ),
    "split_note": (
        "指标明细超过 Excel 单表行数上限，已拆分到 {sheets} 个工作表，并另存为 {file}",
        "The breakdown exceeds Excel's row limit: split across {sheets} sheets and also written to {file}",
    ),
    "report_card": ("年度考核结果通知单", "Annual assessment report card"),
    "leadership_summary": ("年度考核结果领导摘要", "Leadership summary of annual results"),
}


def header(column: str, lang: str, table: str | None = None) -> str:
    """Column header in the export language (English id by default) for a column of `table`."""
    if lang != "zh":
        return column
    return TABLE_HEADERS_ZH.get((table or "", column)) or HEADERS_ZH.get(column, column)


def text(key: str, lang: str, **values: object) -> str:
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


def flag_label(flag: str, lang: str) -> str:
    """The flag's name for people (an unknown flag keeps its code)."""
    zh, en = FLAGS.get(flag, (flag, flag))
    return zh if lang == "zh" else en


def flag_evidence(evidence: str | None, lang: str) -> str:
    """The language's half of a flag's stored "中文 | English" evidence text."""
    if not evidence:
        return ""
    zh, sep, en = evidence.partition(" | ")
    if not sep:
        return evidence
    return zh.strip() if lang == "zh" else en.strip()


def evidence_label(evidence: str | None, lang: str) -> str:
    if evidence is None:
        return ""
    zh, en = EVIDENCE.get(evidence, (evidence, evidence))
    return zh if lang == "zh" else en
