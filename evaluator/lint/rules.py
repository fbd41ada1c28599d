"""The built-in formalism rules, one small class each.

Each class's docstring is the description users read (docs/lint.md, `evaluator lint --rules`).
Shares are fractions (0–1) of the scheme's total *declared* weight (weights multiplied down the
tree, before the trace policy), taken from `evaluator.scheme.weights`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from evaluator.labels import Group
from evaluator.labels import label as catalogue_label
from evaluator.lint.base import Finding, LintContext, Rule, Severity
from evaluator.lint.requests import repeated_requests
from evaluator.lint.zero import absorbs_zero, can_score_zero
from evaluator.scheme.models import (
    Aggregation,
    Dimension,
    EfficacyRule,
    Evidence,
    FractionOfMaxRule,
    Frequency,
    Indicator,
    MeasureSource,
    MinMaxRule,
    PercentileRule,
    ReferenceUnitRule,
    ZScoreRule,
)
from evaluator.scheme.weights import is_trace_only

EPS = 1e-9
OUTCOME_LIKE = {Evidence.outcome, Evidence.satisfaction}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


class TraceOnly(Rule):
    """A `trace` indicator (proof that a meeting, document, photo, check-in or like exists) that
    names no `linked_outcomes`. Nothing says which result the paperwork is for, so it rewards
    paperwork for its own sake (过度留痕). The scoring engine multiplies its weight by
    `trace_policy.trace_only_factor` (0 by default). Fix: link it to the outcome it serves, or
    drop it."""

    id = "trace_only"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            if is_trace_only(ind):
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' is a trace indicator linked to no outcome: link it to the "
                    "outcome it serves (linked_outcomes) or remove it",
                    f"「{ind.name.zh}」为仅留痕指标，未关联任何成效指标："
                    "请在 linked_outcomes 中关联其服务的成效指标，或删除该指标",
                    key="evidence",
                )


class TraceWeightShare(Rule):
    """The declared weight share of `trace` indicators is above `limits.max_trace_share`
    (default 10%). This is the defining mark of trace-first assessment (重痕迹轻实绩) and the only
    rule that fails the lint by default. It is computed on declared weights, so a scheme cannot
    hide behind a lenient `trace_policy`."""

    id = "trace_weight_share"
    severity = Severity.error

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        share, limit = ctx.share(Evidence.trace), ctx.scheme.limits.max_trace_share
        if share > limit + EPS:
            yield self.at_scheme(
                ctx,
                f"trace indicators carry {pct(share)} of the declared weight, above the limit of "
                f"{pct(limit)} (limits.max_trace_share): move weight to outcome and satisfaction "
                "indicators",
                f"留痕类指标占申报总权重的 {pct(share)}，超过上限 {pct(limit)}"
                "（limits.max_trace_share）：请把权重移到成效和满意度指标",
                ("limits", "max_trace_share"), *_heaviest_dimension(ctx, {Evidence.trace}),
            )


class TracePolicyLenient(Rule):
    """The scheme's own `trace_policy` lets trace indicators keep more weight in scoring than the
    lint limit allows (a `max_share` above `limits.max_trace_share`, or a non-zero
    `trace_only_factor` on trace-only indicators). Legitimate for showing how units ranked under
    the old way; otherwise the scores still reward paperwork."""

    id = "trace_policy_lenient"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        traces = [i for i in ctx.indicators if i.evidence is Evidence.trace]
        effective = sum(ctx.weights[i.id].effective for i in traces)
        limit = ctx.scheme.limits.max_trace_share
        only = [i.id for i in traces if is_trace_only(i) and ctx.weights[i.id].effective > EPS]
        if effective > limit + EPS or only:
            yield self.at_scheme(
                ctx,
                f"after the scheme's trace_policy, trace indicators still carry {pct(effective)} "
                f"of the effective weight (lint limit {pct(limit)})"
                + (f"; trace-only indicators still scored: {', '.join(only)}" if only else "")
                + ": use trace_policy {trace_only_factor: 0, max_share: 0.1} unless the scheme "
                "deliberately reproduces the old way of scoring",
                f"按本方案的 trace_policy 计分后，留痕类指标仍占有效权重的 {pct(effective)}"
                f"（上限 {pct(limit)}）"
                + (f"；仍计分的仅留痕指标：{', '.join(only)}" if only else "")
                + "：除非有意复现旧的考核方式，请设置 "
                "trace_policy {trace_only_factor: 0, max_share: 0.1}",
                ("trace_policy",),
            )


class ProcessTraceShare(Rule):
    """`process` and `trace` indicators together carry more than
    `limits.max_process_trace_share` (default 30%) of the declared weight: the scheme grades how
    work is done more than what it achieves (重过程轻结果)."""

    id = "process_trace_share"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        share = ctx.share(Evidence.process, Evidence.trace)
        limit = ctx.scheme.limits.max_process_trace_share
        if share > limit + EPS:
            yield self.at_scheme(
                ctx,
                f"process and trace indicators carry {pct(share)} of the declared weight, above "
                f"{pct(limit)} (limits.max_process_trace_share): weigh results, not procedure",
                f"过程类与留痕类指标合计占申报总权重的 {pct(share)}，超过 {pct(limit)}"
                "（limits.max_process_trace_share）：应重结果而非重过程",
                ("limits", "max_process_trace_share"),
                *_heaviest_dimension(ctx, {Evidence.process, Evidence.trace}),
            )


class PaperworkWording(Rule):
    """An indicator declared `outcome` or `output` whose name or description reads like paperwork
    (meetings held, documents issued, ledgers, check-ins, photos, likes/shares, reports and
    materials; 会议, 发文, 台账, 留痕, 打卡, 签到, 照片, 点赞, 转发, 材料, 汇报 …). It is probably a
    trace in disguise, escaping the trace policy. The bilingual lexicon is
    `evaluator/data/lexicon.yaml`; English matches whole words, Chinese matches substrings. A real
    outcome that happens to use such a word is silenced on the indicator with
    `lint: {ignore: [paperwork_wording], reason: ...}`."""

    id = "paperwork_wording"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            if ind.evidence not in (Evidence.outcome, Evidence.output):
                continue
            texts = [ind.name.zh, ind.name.en]
            if ind.description is not None:
                texts += [ind.description.zh, ind.description.en]
            hits = ctx.lexicon.find("\n".join(texts))
            if not hits:
                continue
            en = ", ".join(f"{h.label.en} ('{h.matched}')" for h in hits)
            zh = "、".join(f"{h.label.zh}（“{h.matched}”）" for h in hits)
            yield self.at_indicator(
                ctx, ind,
                f"'{ind.name.en}' is declared {ind.evidence.value} but reads like paperwork: {en}. "
                "If it only proves an activity happened, declare evidence: trace and link it to "
                "the outcome it serves; if it is a real result, add lint: {ignore: "
                "[paperwork_wording], reason: ...}",
                f"「{ind.name.zh}」申报为{_zh(Group.evidence, ind.evidence)}类，但表述像留痕材料：{zh}。"
                "若只证明做过某项工作，请改为 evidence: trace 并关联其服务的成效指标；若确为成效，"
                "请加 lint: {ignore: [paperwork_wording], reason: ...} 说明理由",
                key="name",
            )


class TraceLinkedToNonOutcome(Rule):
    """A `trace` indicator whose `linked_outcomes` names a process, output or trace indicator.
    A link is meant to tie paperwork to a result citizens feel; linking paperwork to more
    paperwork (or to procedure) does not."""

    id = "trace_linked_to_non_outcome"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        by_id = {i.id: i for i in ctx.indicators}
        for ind in ctx.indicators:
            if ind.evidence is not Evidence.trace:
                continue
            bad = [t for t in ind.linked_outcomes
                   if t in by_id and by_id[t].evidence not in OUTCOME_LIKE]
            if bad:
                en = ", ".join(f"{t} ({by_id[t].evidence.value})" for t in bad)
                zh = "、".join(f"{t}（{_zh(Group.evidence, by_id[t].evidence)}类）" for t in bad)
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' is linked to {en}, not to an outcome or satisfaction "
                    "indicator: link it to the result it serves",
                    f"「{ind.name.zh}」关联的 {zh} 不是成效或满意度指标：请关联其服务的实际成效",
                    key="linked_outcomes",
                )


class HighFrequency(Rule):
    """An indicator reported weekly or daily. Few results change that fast; frequent reporting
    mostly adds burden (减少考核频次). Report monthly or less unless the data is collected
    automatically (then declare `burden_minutes: 0`)."""

    id = "high_frequency"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            if ind.frequency in (Frequency.weekly, Frequency.daily) and ind.burden_minutes != 0:
                n = ctx.reports_per_year(ind)
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' is reported {ind.frequency.value} ({n} reports per unit per "
                    "year): report monthly or less often",
                    f"「{ind.name.zh}」{_zh(Group.frequency, ind.frequency)}报送（每个单位每年 {n} 次）："
                    "请改为按月或更低频次",
                    key="frequency",
                )


class ReportsPerYear(Rule):
    """The reports each unit files per year, summed over indicators (daily 250, weekly 50,
    monthly 12, quarterly 4, annual 1; indicators with `burden_minutes: 0` need no report), is
    above `limits.max_reports_per_year` (default 60)."""

    id = "reports_per_year"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        total = sum(ctx.reports_per_year(i) for i in ctx.indicators)
        limit = ctx.scheme.limits.max_reports_per_year
        if total > limit:
            yield self.at_scheme(
                ctx,
                f"each unit files {total} reports per year for this scheme, above the limit of "
                f"{limit} (limits.max_reports_per_year): cut indicators or reporting frequency",
                f"本方案要求每个单位每年报送 {total} 次，超过上限 {limit} 次"
                "（limits.max_reports_per_year）：请精简指标或降低频次",
                ("limits", "max_reports_per_year"),
            )


class BurdenHours(Rule):
    """The reporting burden, hours per unit per year = Σ burden_minutes × reports per year / 60,
    is above `limits.max_burden_hours` (default 40 h, a working week)."""

    id = "burden_hours"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        total = sum(ctx.burden_hours(i) for i in ctx.indicators)
        limit = ctx.scheme.limits.max_burden_hours
        if total > limit + EPS:
            yield self.at_scheme(
                ctx,
                f"reporting for this scheme costs each unit {total:.1f} hours per year, above "
                f"{limit:g} h (limits.max_burden_hours): cut indicators, frequency, or collect "
                "the data once and share it",
                f"本方案每个单位每年需耗费 {total:.1f} 小时报送，超过 {limit:g} 小时"
                "（limits.max_burden_hours）：请精简指标、降低频次或一表多用",
                ("limits", "max_burden_hours"),
            )


class TopBurdens(Rule):
    """Information: the indicators that cost units the most reporting hours per year, so the
    office knows where cutting helps most."""

    id = "top_burdens"
    severity = Severity.info
    top = 5

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        ranked = top_burdens(ctx, self.top)
        if ranked:
            yield self.at_scheme(
                ctx,
                "largest reporting burdens (hours per unit per year): "
                + ", ".join(f"{i.id} {h:.1f}" for i, h in ranked),
                "报送负担最大的指标（每个单位每年小时数）："
                + "、".join(f"{i.id} {h:.1f}" for i, h in ranked),
                ("dimensions",),
            )


class BurdenUndeclared(Rule):
    """Information: an indicator without `burden_minutes`, so the burden total undercounts.
    Declare the minutes a unit spends per report (0 when the data is collected without the unit,
    e.g. from a registry or a third-party survey)."""

    id = "burden_undeclared"
    severity = Severity.info

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            if ind.burden_minutes is None:
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' declares no burden_minutes: the burden total leaves it out",
                    f"「{ind.name.zh}」未申报 burden_minutes，报送负担合计未计入该指标",
                )


class DuplicateDataRequest(Rule):
    """Two indicators read the same measure, or share a survey question: units are asked for the
    same data twice, and it is counted twice (一表报送、多方共享). Collect once, score once. The
    comparison is item by item (each measure, each question), the same one the Scheme health page
    and `evaluator forms --report` use across schemes."""

    id = "duplicate_data_request"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        again: dict[str, list[tuple[str, str, str]]] = {}  # indicator -> (kind, item, first)
        for rep in repeated_requests([ctx.scheme]):
            for req in rep.requests[1:]:
                if req.indicator_id != rep.first.indicator_id:
                    again.setdefault(req.indicator_id, []).append(
                        (rep.kind, rep.item, rep.first.indicator_id))
        what = {"measure": ("measure", "数据项"), "question": ("survey question", "问卷题目")}
        for ind in ctx.indicators:
            dups = again.get(ind.id)
            if not dups:
                continue
            en = ", ".join(f"{what[k][0]} '{i}' (already read by {v})" for k, i, v in dups)
            zh = "、".join(f"{what[k][1]}“{i}”（已由 {v} 使用）" for k, i, v in dups)
            yield self.at_indicator(
                ctx, ind,
                f"'{ind.name.en}' asks again for {en}: use one indicator per piece of data",
                f"「{ind.name.zh}」重复索取{zh}：同一数据只采集、计分一次",
                key="source",
            )


class UnregisteredMeasure(Rule):
    """An indicator reads a measure that the measure registry (`measures.yaml` beside the scheme,
    or `evaluator lint --registry FILE`) does not define: nobody has said what the figure means,
    who owns it, or whether units must report it, so it cannot be collected once for all schemes.
    Register it, or correct the id. Never reported when no registry applies."""

    id = "unregistered_measure"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if ctx.registry is None:
            return
        known = ctx.registry.by_id
        for ind in ctx.indicators:
            src = ind.source
            if isinstance(src, MeasureSource) and src.measure not in known:
                close = difflib.get_close_matches(src.measure, list(known), n=1, cutoff=0.6)
                file = ctx.registry.path.name
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' reads measure '{src.measure}', which {file} does not "
                    f"define:{f' did you mean {close[0]!r}?' if close else ''} register it "
                    "(definition, unit, owner, origin) or fix the id",
                    f"「{ind.name.zh}」使用的数据项“{src.measure}”未在 {file} 中登记"
                    + (f"（是否应为“{close[0]}”？）" if close else "")
                    + "：请登记其定义、单位、数据来源部门和采集方式，或更正编号",
                    key="source",
                )


class TooManyIndicators(Rule):
    """More indicators than `limits.max_indicators` (default 30). Long indicator lists spread
    attention and multiply reporting (精简考核指标)."""

    id = "too_many_indicators"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        n, limit = len(ctx.indicators), ctx.scheme.limits.max_indicators
        if n > limit:
            yield self.at_scheme(
                ctx,
                f"the scheme has {n} indicators, more than {limit} (limits.max_indicators): "
                "merge or drop some",
                f"本方案共有 {n} 项指标，多于 {limit} 项（limits.max_indicators）：请合并或删减",
                ("limits", "max_indicators"),
            )


class SatisfactionMissing(Rule):
    """No indicator has evidence `satisfaction`: citizens' verdict, the fundamental yardstick
    (把群众满意度作为根本标准), plays no part. A warning by default, because some schemes have
    no citizens to ask (the HDI, purely internal units); set `limits.require_satisfaction: true`
    to make it an error."""

    id = "satisfaction_missing"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if not any(i.evidence is Evidence.satisfaction for i in ctx.indicators):
            required = ctx.scheme.limits.require_satisfaction
            yield self.at_scheme(
                ctx,
                "no satisfaction indicator: add a citizen satisfaction survey (evidence: "
                "satisfaction, source: {questions: [...], scale: {min: 1, max: 5}})",
                "没有群众满意度指标：请加入满意度测评（evidence: satisfaction，source 为问卷题目）",
                ("limits", "require_satisfaction"), ("dimensions",),
                severity=Severity.error if required else None,
            )


class SatisfactionShareLow(Rule):
    """Satisfaction indicators exist but carry less than `limits.min_satisfaction_share`
    (default 20%) of the declared weight."""

    id = "satisfaction_share_low"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        share, limit = ctx.share(Evidence.satisfaction), ctx.scheme.limits.min_satisfaction_share
        if 0 < share < limit - EPS:
            yield self.at_scheme(
                ctx,
                f"satisfaction indicators carry {pct(share)} of the declared weight, below "
                f"{pct(limit)} (limits.min_satisfaction_share)",
                f"满意度指标仅占申报总权重的 {pct(share)}，低于 {pct(limit)}"
                "（limits.min_satisfaction_share）",
                ("limits", "min_satisfaction_share"),
                *_heaviest_dimension(ctx, {Evidence.satisfaction}),
            )


class GeometricZero(Rule):
    """A node aggregated with a mean that one zero absorbs (geometric, harmonic, or the power mean
    with a power ≤ 0) has a child that can score 0. One zero makes the whole node 0, whatever the
    other children: COINr's known trap. Judged from the
    rule's real range: percentile, and min-max unless its `range` starts above 0, give the worst
    unit 0; goalposts give 0 at the
    worse goalpost, unless `transform.floor`/`cap` or the measure registry's valid `min`/`max`
    keep every value inside it; pass/fail, deduction, bands and efficacy only with a 0 score or
    floor that the values can reach; `missing: zero` always. The UNDP HDI is such a scheme and
    accepts it: set a floor inside the goalposts, silence the rule on the indicator (`lint:
    {ignore: [geometric_zero], reason: …}`, which quiets its dimensions too), or aggregate
    arithmetically."""

    id = "geometric_zero"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        s = ctx.scheme
        Node = tuple[str, str, tuple[str | int, ...], Aggregation, float | None,
                     list[Indicator | Dimension]]
        nodes: list[Node] = [
            ("the scheme", "本方案", ("aggregation",), s.aggregation, s.power, list(s.dimensions))
        ]
        for dim in s.all_dimensions():
            nodes.append((f"dimension '{dim.id}'", f"维度「{dim.name.zh}」",
                          (*ctx.locations[dim.id], "aggregation"),
                          dim.aggregation, dim.power, [*dim.indicators, *dim.dimensions]))
        for label, label_zh, where, agg, power, children in nodes:
            if not absorbs_zero(agg, power):
                continue
            mean = catalogue_label(Group.aggregation, agg.value, "en").lower()
            mean_zh = catalogue_label(Group.aggregation, agg.value, "zh")
            for child in children:
                if not can_score_zero(child, ctx.registry, silenced=False):
                    continue
                en = (f"{label} uses the {mean} and '{child.id}' can score 0, which makes "
                      "the whole node 0: bound the values inside the goalposts "
                      "(transform.floor/cap, or the measure's min/max in the registry), set a "
                      "score floor above 0, silence it on the indicator with a reason (lint: "
                      "{ignore: [geometric_zero]}) or aggregate arithmetically")
                zh = (f"{label_zh}采用{mean_zh}，而「{child.name.zh}」可能得 0 分，"
                      "会使整个节点得 0 分：请用 transform.floor/cap（或数据项登记表的 min/max）"
                      "把数值限定在阈值之内、设置大于 0 的最低分、在该指标上注明理由后屏蔽此规则"
                      "（lint: {ignore: [geometric_zero]}），或改用算术平均")
                if isinstance(child, Indicator):
                    yield self.at_indicator(ctx, child, en, zh, key="rule")
                else:
                    yield self.at_scheme(ctx, en, zh, ctx.locations[child.id], where)


class SatisfactionFromOutcomes(Rule):
    """Information: a `satisfaction` indicator fed from a measure in the outcomes table instead of
    survey questions. A single typed-in number cannot be checked for sample size, speeders or
    straight-lining, nor given a confidence interval; load the respondent-level answers instead."""

    id = "satisfaction_from_outcomes"
    severity = Severity.info

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            if ind.evidence is Evidence.satisfaction and isinstance(ind.source, MeasureSource):
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' takes satisfaction from measure '{ind.source.measure}': "
                    "load respondent-level survey answers (source: {questions: [...]}) so "
                    "validity checks and confidence intervals apply",
                    f"「{ind.name.zh}」的满意度取自数据项“{ind.source.measure}”而非问卷：请导入逐份问卷"
                    "答案（source: {questions: [...]}），以便做有效性检查和置信区间",
                    key="source",
                )


class TraceRanked(Rule):
    """A `trace` indicator scored relative to other units (min-max, percentile, z-score, or
    efficacy without fixed good/bad). Units then race each other for more meetings, photos or
    likes, with no level that counts as enough (滥用排名). Score traces pass/fail against a fixed
    threshold, if at all."""

    id = "trace_ranked"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for ind in ctx.indicators:
            rule = ind.rule
            relative = isinstance(rule, MinMaxRule | PercentileRule | ZScoreRule
                                  | FractionOfMaxRule | ReferenceUnitRule) or (
                isinstance(rule, EfficacyRule) and (rule.good is None or rule.bad is None)
            )
            if ind.evidence is Evidence.trace and relative:
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' is a trace scored by ranking units ({rule.type}): units will "
                    "compete on paperwork volume; use pass_fail with a fixed threshold",
                    f"「{ind.name.zh}」为留痕指标却按单位间排名计分（{rule.type}），会引发留痕攀比："
                    "请改为固定阈值的 pass_fail",
                    key="rule",
                )


class LintIgnore(Rule):
    """A `lint: {ignore: [...]}` entry that names no known rule (a typo silences nothing), or
    that gives no `reason` (information: silencing should be explained to the next reader)."""

    id = "lint_ignore"
    severity = Severity.warning

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        from evaluator.lint.registry import rule_ids

        known = rule_ids()
        for ind in ctx.indicators:
            if ind.lint is None:
                continue
            unknown = [r for r in ind.lint.ignore if r not in known]
            if unknown:
                yield self.at_indicator(
                    ctx, ind,
                    f"lint.ignore names unknown rule(s) {', '.join(unknown)}: see docs/lint.md "
                    "for rule ids",
                    f"lint.ignore 中的规则 {', '.join(unknown)} 不存在：规则编号见 docs/lint.md",
                    key="lint",
                )
            if ind.lint.ignore and not (ind.lint.reason or "").strip():
                yield self.at_indicator(
                    ctx, ind,
                    f"'{ind.name.en}' silences {', '.join(ind.lint.ignore)} without a reason: add "
                    "lint.reason",
                    f"「{ind.name.zh}」屏蔽了 {', '.join(ind.lint.ignore)} 却未说明理由："
                    "请填写 lint.reason",
                    key="lint", severity=Severity.info,
                )


# --------------------------------------------------------------------------- helpers

def _zh(group: Group, code: str) -> str:
    """A code's Chinese name for the Chinese messages (the catalogue's, as everywhere else)."""
    return catalogue_label(group, code, "zh")


def top_burdens(ctx: LintContext, n: int) -> list[tuple[Indicator, float]]:
    """The n indicators with the most reporting hours per unit per year (ties in file order)."""
    ranked = sorted(((i, ctx.burden_hours(i)) for i in ctx.indicators), key=lambda p: -p[1])
    return [(i, h) for i, h in ranked[:n] if h > 0]


def _heaviest_dimension(ctx: LintContext, evidence: set[Evidence]) -> list[tuple[str | int, ...]]:
    """Location of the dimension holding the most declared weight of these evidence classes."""
    sums: dict[str, float] = {}
    for ind in ctx.indicators:
        if ind.evidence in evidence:
            parent = ctx.weights[ind.id].parent_id
            if parent is not None:
                sums[parent] = sums.get(parent, 0.0) + ctx.declared(ind.id)
    if not sums:
        return []
    return [ctx.locations[max(sums, key=lambda k: sums[k])]]
