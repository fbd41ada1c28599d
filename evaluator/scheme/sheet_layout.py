"""The spreadsheet template's columns, derived from the scheme models (one source of truth).

Every column is a dotted path into a model (`rule.threshold`, `source.scale.min`); its kind
(number, id list, closed list…) and, for closed lists, the allowed values come from the pydantic
annotation, so a new evidence class or rule type appears in the template and its dropdowns
without touching this file. Only the people-facing labels (zh/en) are written here.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from evaluator.scheme.models import (
    Adjustment,
    Band,
    Dimension,
    Grade,
    Indicator,
    MeasureSource,
    Rule,
    Scheme,
    SurveySource,
    Text,
    Veto,
)

Kind = Literal["text", "id", "ids", "number", "int", "bool", "choice", "bands", "pair"]

SETTINGS = "设置 settings"
TREE = "指标 indicators"
ITEMS = "奖惩 items"
INSTRUCTIONS = "说明 instructions"
LISTS = "lists"
HEADER_ROWS = 3  # row 1 Chinese label, row 2 English label, row 3 the key the import reads
FIRST_ROW = HEADER_ROWS + 1


@dataclass(frozen=True)
class Column:
    """One column (or, on the settings sheet, one row) of the template."""

    key: str  # dotted model path, also the header in row 3
    kind: Kind
    choices: tuple[str, ...] = ()
    note: str = ""  # the field's description, shown as the cell prompt

    @property
    def zh(self) -> str:
        return label(self.key)[0]

    @property
    def en(self) -> str:
        return label(self.key)[1]


# --------------------------------------------------------------------------- derivation


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X; `Annotated[X, …]` → X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def choices_of(annotation: Any) -> tuple[str, ...]:
    """The closed list of an annotation (StrEnum members, Literal values, booleans), or ()."""
    ann = _unwrap(annotation)
    if isinstance(ann, type) and issubclass(ann, Enum):
        return tuple(str(m.value) for m in ann)
    if get_origin(ann) is Literal:
        return tuple(str(a) for a in get_args(ann))
    if ann is bool:
        return ("true", "false")
    return ()


def _is_id(field: FieldInfo) -> bool:
    return any(isinstance(m, BeforeValidator) for m in field.metadata)


def _kind(field: FieldInfo) -> Kind:
    ann = _unwrap(field.annotation)
    if ann is bool:
        return "bool"
    if choices_of(ann):
        return "choice"
    if ann is float:
        return "number"
    if ann is int:
        return "int"
    if get_origin(ann) is tuple:
        return "pair"
    if get_origin(ann) is list:
        item = _unwrap(get_args(ann)[0])
        return "bands" if item is Band else "ids"
    return "id" if _is_id(field) else "text"


def columns_of(model: type[BaseModel], prefix: str = "", skip: frozenset[str] = frozenset()
               ) -> list[Column]:
    """Flatten a model's scalar fields into columns (nested models by dotted path)."""
    out: list[Column] = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        ann = _unwrap(field.annotation)
        if ann is Text:
            out += [Column(f"{key}.zh", "text", note=field.description or ""),
                    Column(f"{key}.en", "text", note=field.description or "")]
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            out += columns_of(ann, f"{key}.")
        else:
            out.append(Column(key, _kind(field), choices_of(field.annotation),
                              field.description or ""))
    return out


def rule_models() -> dict[str, type[BaseModel]]:
    """Rule type → its model, from the `Rule` union (order of the union)."""
    members = get_args(get_args(Rule)[0])
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in members}


def _merged(columns: list[Column]) -> list[Column]:
    """Columns by key, first occurrence kept (rule parameters shared by several rules)."""
    seen: dict[str, Column] = {}
    for c in columns:
        seen.setdefault(c.key, c)
    return list(seen.values())


def rule_columns() -> list[Column]:
    params = [c for m in rule_models().values() for c in columns_of(m, "rule.", frozenset({"type"}))]
    return [Column("rule.type", "choice", tuple(rule_models()), "scoring rule"), *_merged(params)]


def source_columns() -> list[Column]:
    return _merged([*columns_of(MeasureSource, "source."), *columns_of(SurveySource, "source.")])


NODE_KINDS = ("dimension", "indicator")
ITEM_KINDS = ("veto", *choices_of(Adjustment.model_fields["kind"].annotation))


def _indicator_columns() -> list[Column]:
    out: list[Column] = []
    for c in columns_of(Indicator, skip=frozenset({"source", "rule"})):
        out.append(c)
        if c.key == "linked_outcomes":
            out += source_columns()
        if c.key == "transform.winsorize":
            out += rule_columns()
    return out


def _dimension_columns() -> list[Column]:
    return columns_of(Dimension, skip=frozenset({"indicators", "dimensions"}))


HEAD = [Column("kind", "choice", NODE_KINDS, "dimension (a group) or indicator"),
        Column("parent", "id", note="id of the dimension this row belongs to; empty: top level")]


def tree_columns() -> list[Column]:
    """kind, parent, every indicator field in the Indicator's order, then dimension-only ones."""
    ind = _indicator_columns()
    known = {c.key for c in ind}
    return [*HEAD, *ind, *(c for c in _dimension_columns() if c.key not in known)]


def dimension_keys() -> set[str]:
    """Columns a dimension row may fill."""
    return {c.key for c in [*HEAD, *_dimension_columns()]}


def indicator_keys() -> set[str]:
    """Columns an indicator row may fill."""
    return {c.key for c in [*HEAD, *_indicator_columns()]}


SCHEME_LISTS = frozenset({"grades", "vetoes", "adjustments", "dimensions"})


def settings_rows() -> list[Column]:
    """One row per scheme-level setting (grades, items and the tree have their own tables)."""
    return columns_of(Scheme, skip=SCHEME_LISTS)


def grade_columns() -> list[Column]:
    return columns_of(Grade)


def item_columns() -> list[Column]:
    cols = _merged([*columns_of(Veto), *columns_of(Adjustment, skip=frozenset({"kind"}))])
    return [Column("kind", "choice", ITEM_KINDS, "veto (一票否决), bonus (加分) or deduction (扣分)"),
            *cols]


# --------------------------------------------------------------------------- labels (people)

LABELS: dict[str, tuple[str, str]] = {
    "kind": ("类型", "kind"),
    "parent": ("上级维度", "parent dimension"),
    "id": ("编号", "id"),
    "version": ("版本", "version"),
    "name.zh": ("名称（中文）", "name (Chinese)"),
    "name.en": ("名称（英文）", "name (English)"),
    "description.zh": ("说明（中文）", "description (Chinese)"),
    "description.en": ("说明（英文）", "description (English)"),
    "year": ("考核年度", "year"),
    "unit_types": ("被考核单位类型", "unit types"),
    "scale.min": ("分制下限", "scale minimum"),
    "scale.max": ("分制上限", "scale maximum"),
    "scale.decimals": ("保留小数位", "decimals"),
    "aggregation": ("合成方式", "aggregation"),
    "total_points": ("总分值", "total points"),
    "trace_policy.trace_only_factor": ("纯留痕指标权重系数", "trace-only weight factor"),
    "trace_policy.max_share": ("留痕权重上限", "trace weight cap"),
    "trace_policy.freed_weight": ("腾出权重分配给", "freed weight goes to"),
    "survey.min_sample": ("满意度最小样本量", "survey minimum sample"),
    "survey.speeder_fraction": ("过快作答判定比例", "speeder fraction"),
    "survey.straightline_min_questions": ("一致作答判定最少题数", "straight-lining min questions"),
    "survey.small_sample": ("小样本处理", "small-sample handling"),
    "limits.max_indicators": ("指标数量上限", "max indicators"),
    "limits.min_satisfaction_share": ("满意度权重下限", "min satisfaction share"),
    "limits.max_process_trace_share": ("过程+留痕权重上限", "max process+trace share"),
    "limits.max_burden_hours": ("每单位每年报送工时上限", "max burden hours"),
    "limits.max_reports_per_year": ("每单位每年报送次数上限", "max reports per year"),
    "limits.max_trace_share": ("留痕权重报错阈值", "max trace share"),
    "limits.require_satisfaction": ("必须含满意度指标", "require satisfaction"),
    "evidence": ("证据类型", "evidence"),
    "linked_outcomes": ("关联成效指标", "linked outcomes"),
    "source.measure": ("数据项（measure）", "measure"),
    "source.rollup": ("季/月数据汇总方式", "rollup"),
    "source.questions": ("问卷题目", "survey questions"),
    "source.scale.min": ("答题分值下限", "answer scale min"),
    "source.scale.max": ("答题分值上限", "answer scale max"),
    "source.top_box": ("满意档数（top box）", "top box"),
    "direction": ("方向", "direction"),
    "transform.log": ("取对数", "log transform"),
    "transform.floor": ("下截断", "floor"),
    "transform.cap": ("上截断", "cap"),
    "transform.winsorize": ("缩尾分位数", "winsorize quantiles"),
    "rule.type": ("计分规则", "scoring rule"),
    "rule.within": ("比较范围", "compared within"),
    "rule.lower": ("下限（得0分）", "lower goalpost"),
    "rule.upper": ("上限（得100分）", "upper goalpost"),
    "rule.clamp": ("截断到0–100", "clamp to 0–100"),
    "rule.target": ("目标值", "target"),
    "rule.bands": ("分档（阈值:得分; …）", "bands (threshold:score; …)"),
    "rule.otherwise": ("未达任何档得分", "score otherwise"),
    "rule.center": ("中心分", "center"),
    "rule.spread": ("离散系数", "spread"),
    "rule.good": ("满意值（得100分）", "good value (scores 100)"),
    "rule.bad": ("不允许值（得60分）", "bad value (scores 60)"),
    "rule.floor": ("最低分", "floor score"),
    "rule.points": ("每单位扣分", "points per unit"),
    "rule.threshold": ("达标线", "threshold"),
    "rule.fail_score": ("未达标得分", "fail score"),
    "missing": ("缺数处理", "missing data"),
    "frequency": ("报送频次", "frequency"),
    "burden_minutes": ("每次报送耗时（分钟）", "burden (minutes per report)"),
    "department": ("牵头部门", "lead department"),
    "weight": ("权重（分值）", "weight (points)"),
    "lint.ignore": ("屏蔽的检查规则", "lint rules silenced"),
    "lint.reason": ("屏蔽理由", "reason for silencing"),
    "code": ("等次代码", "grade code"),
    "min_score": ("最低分", "minimum score"),
    "max_share": ("比例上限", "quota (share)"),
    "event": ("事件编号", "event id"),
    "max_grade": ("最高可评等次", "best grade allowed"),
    "max_score": ("最高得分", "score cap"),
    "points": ("每次分值", "points per event"),
    "cap": ("累计上限", "cap"),
    "min_coverage": ("最低数据覆盖率", "minimum coverage"),
    "source.per": ("分母数据项", "denominator measure"),
    "source.factor": ("分母倍数（如每万人10000）", "denominator factor (e.g. 10000 per 10k)"),
    "rule.range": ("得分区间（下限;上限）", "score range (low; high)"),
    "rule.ties": ("并列处理", "tie rule"),
    "rule.unit": ("参照单位编号", "reference unit id"),
    "rule.panel": ("跨年标准化年份（起;止）", "panel years (first; last)"),
    "power": ("广义均值幂次", "power of the generalised mean"),
    "impute_by": ("插补分组依据", "impute within groups of"),
    "transform.outliers": ("异常值处理（COINr默认）", "outlier treatment (COINr default)"),
    "transform.winmax": ("最多缩尾个数", "most points winsorised"),
    "transform.skew_max": ("偏度上限", "skewness limit"),
    "transform.kurtosis_max": ("峰度上限", "kurtosis limit"),
    "transform.shifted_log": ("平移对数", "shifted log"),
    "transform.box_cox": ("Box-Cox 参数 λ", "Box-Cox λ"),
}


def label(key: str) -> tuple[str, str]:
    """(zh, en) label of a column key; an unlabelled new field shows its key in both."""
    return LABELS.get(key, (key, key))
