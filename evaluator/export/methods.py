"""The methods a run used, per indicator and per node, for the methodology sheet of exports:
data source (and denominator), transform, scoring rule with its parameters, missing-data rule;
each node's aggregation and minimum coverage. Written from the scheme the run was scored with,
in the export's language (codes named by the label catalogue, parameters as in the YAML)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from evaluator.labels import Group, label
from evaluator.scheme.models import Dimension, Indicator, MeasureSource, Scheme

ROOT = "__total__"


def _params(model: BaseModel, skip: set[str]) -> str:
    """The fields a scheme sets (defaults left out), as `key=value` in YAML's terms."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_defaults=True)
    return ", ".join(f"{k}={v}" for k, v in data.items() if k not in skip)


def indicator_method(ind: Indicator, lang: str) -> str:
    zh = lang == "zh"
    src = ind.source
    if isinstance(src, MeasureSource):
        source = src.measure + (f" / {src.per} × {src.factor:g}" if src.per else "")
    else:
        source = ("问卷 " if zh else "survey ") + ", ".join(src.questions)
    rule = label(Group.rule, ind.rule.type, lang)
    params = _params(ind.rule, {"type"})
    parts = [f"{'数据' if zh else 'source'}: {source}"]
    if ind.transform is not None and (t := _params(ind.transform, set())):
        parts.append(f"{'变换' if zh else 'transform'}: {t}")
    parts.append(f"{'计分' if zh else 'rule'}: {rule} ({ind.rule.type}"
                 + (f"; {params}" if params else "") + ")")
    missing = label(Group.missing_policy, ind.missing.value, lang)
    by = f", impute_by={ind.impute_by}" if ind.missing.value.startswith("group_") else ""
    parts.append(f"{'缺数' if zh else 'missing'}: {missing} ({ind.missing.value}{by})")
    if ind.direction.value == "lower":
        parts.append("越低越好" if zh else "lower is better")
    return "; ".join(parts)


def node_method(agg: str, power: float | None, min_coverage: float, lang: str,
                children: list[str] | None = None) -> str:
    zh = lang == "zh"
    text = f"{label(Group.aggregation, agg, lang)} ({agg}"
    text += f"; power={power:g})" if power is not None else ")"
    if agg == "ratio" and children and len(children) == 2:  # which child is the numerator
        text += f"; {children[0]} / {children[1]}"
    if min_coverage > 0:
        text += (f"; 最低覆盖率 {min_coverage:g}" if zh else f"; min_coverage {min_coverage:g}")
    return text


def method_rows(scheme: Scheme, lang: str) -> list[tuple[str, str, str, str]]:
    """(section, key, key name, value): the total, every dimension, every indicator."""
    rows = [("methods", f"node_{ROOT}", "总分" if lang == "zh" else "Total score",
             node_method(scheme.aggregation.value, scheme.power, scheme.min_coverage, lang,
                         [d.id for d in scheme.dimensions]))]

    def walk(dim: Dimension) -> None:
        children = [*(i.id for i in dim.indicators), *(d.id for d in dim.dimensions)]
        rows.append(("methods", f"node_{dim.id}", dim.name.get(lang),
                     node_method(dim.aggregation.value, dim.power, dim.min_coverage, lang,
                                 children)))
        for ind in dim.indicators:
            rows.append(("methods", f"indicator_{ind.id}", ind.name.get(lang),
                         indicator_method(ind, lang)))
        for sub in dim.dimensions:
            walk(sub)

    for d in scheme.dimensions:
        walk(d)
    return rows
