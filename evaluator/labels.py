# ruff: noqa: E501  (label tables: one entry a line reads best, Chinese counts double width)
"""The one catalogue of bilingual domain labels: every stored code a person reads, in (zh, en).

Evidence classes, flags, severities, grades, scoring rules, missing-data rules, lint rules,
survey exclusion reasons, load batch kinds, statuses, roles, unit types, field names, export
sheet names… Each code has one Chinese and one English name, used alike by the dashboard, the
exports, the linter and the CLI, so a concept reads the same everywhere (成效 is the outcome
class, never 实绩; `survey_stuffing` is 问卷疑似刷量 on every page and in every file).

This module imports nothing of the project, so the linter (and anything else) can use it without
pulling in the read side. Codes are stable ids kept verbatim in data and files; names are for
people. An unknown code keeps its code: a new value is shown untranslated, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


@dataclass(frozen=True, slots=True)
class Label:
    """One code's name in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The name in `lang` ("zh" → Chinese, anything else → English)."""
        return self.zh if lang == "zh" else self.en


class Group(StrEnum):
    """The code lists of the catalogue (the same code can mean different things in two lists:
    `rejected` is a refused load batch and a refused appeal)."""

    evidence = "evidence"  # indicator evidence classes
    flag = "flag"  # warning flags of a run
    severity = "severity"  # lint finding severities
    grade = "grade"  # the default grade codes (a scheme's own grades carry their own names)
    rule = "rule"  # scoring rule types (scheme `rule.type`)
    missing_policy = "missing_policy"  # what happens when a unit has no value
    lint_rule = "lint_rule"  # the formalism linter's rules, by id
    exclusion = "exclusion"  # why a survey response was excluded
    batch_kind = "batch_kind"  # what a load batch held
    batch_status = "batch_status"
    value_status = "value_status"  # a unit–indicator value that is not plainly there
    appeal_status = "appeal_status"
    role = "role"  # dashboard user roles
    source = "source"  # where an indicator's data comes from
    unit_type = "unit_type"
    peer_group = "peer_group"
    direction = "direction"
    frequency = "frequency"
    node_kind = "node_kind"
    adjustment = "adjustment"  # veto, bonus and deduction items
    boolean = "boolean"
    grade_reason = "grade_reason"  # why a unit got its grade
    measure_origin = "measure_origin"  # who supplies a measure (measure registry)
    reference = "reference"  # reference values a scoring rule used (min, median, target…)
    value_flag = "value_flag"  # what happened to a unit–indicator value on its way to a score
    parameter = "parameter"  # parameters a run was scored with
    field = "field"  # names of stored fields (column headers)
    sheet = "sheet"  # export tables (workbook sheets, CSV/Parquet files)
    section = "section"  # sections of the export's methodology table
    meta = "meta"  # keys of the export's methodology table
    run_warning = "run_warning"  # results of a run that may mislead (evaluator.scoring.warnings)
    funnel = "funnel"  # funnel plots of a run (run_funnels)
    aggregation = "aggregation"  # how a node combines its children (scheme `aggregation`)


def _g(**entries: tuple[str, str]) -> dict[str, Label]:
    return {code: Label(zh, en) for code, (zh, en) in entries.items()}


CATALOGUE: dict[Group, dict[str, Label]] = {
    Group.evidence: _g(
        outcome=("成效", "Outcome"),
        satisfaction=("满意度", "Satisfaction"),
        output=("产出", "Output"),
        process=("过程", "Process"),
        trace=("留痕", "Trace"),
    ),
    Group.flag: _g(
        show_off=("重留痕轻成效", "High paperwork, weak results"),
        survey_stuffing=("问卷疑似刷量", "Suspected survey stuffing"),
        small_sample=("样本量不足", "Small sample"),
    ),
    Group.severity: _g(
        error=("错误", "Error"),
        warning=("警告", "Warning"),
        info=("提示", "Info"),
    ),
    Group.grade: _g(
        excellent=("优秀", "Excellent"),
        good=("良好", "Good"),
        fair=("一般", "Fair"),
        poor=("较差", "Poor"),
    ),
    Group.rule: _g(
        min_max=("极差标准化", "Min–max"),
        goalposts=("固定上下限", "Goalposts"),
        target=("目标完成度", "Distance to target"),
        bands=("分档计分", "Bands"),
        percentile=("百分位排名", "Percentile rank"),
        zscore=("标准分", "Z-score"),
        efficacy=("功效系数法", "Efficacy coefficient"),
        deduction=("扣分制", "Deduction"),
        pass_fail=("达标制", "Pass / fail"),
        direct=("直接取值", "Direct (already 0–100)"),
        fraction_of_max=("占最大值比例", "Fraction of the maximum"),
        reference_unit=("与参照单位的距离", "Distance to a reference unit"),
    ),
    Group.missing_policy: _g(
        reweight=("剔除并重新分配权重", "Dropped, weight redistributed"),
        peer_median=("以同类组中位数插补", "Imputed at the peer-group median"),
        zero=("按最低分计", "Scored at the bottom"),
        group_mean=("以所在组平均值插补", "Imputed at the group mean"),
        group_median=("以所在组中位数插补", "Imputed at the group median"),
        previous_period=("以上年数值插补", "Imputed with the previous year's value"),
    ),
    Group.lint_rule: _g(
        trace_only=("仅留痕指标", "Trace-only indicator"),
        trace_weight_share=("留痕权重占比", "Trace weight share"),
        trace_policy_lenient=("留痕惩罚策略宽松", "Lenient trace policy"),
        process_trace_share=("过程与留痕权重占比", "Process + trace share"),
        paperwork_wording=("留痕式表述", "Paperwork wording"),
        trace_linked_to_non_outcome=("留痕指标关联非成效指标", "Trace linked to a non-outcome"),
        high_frequency=("报送频次过高", "Reporting too often"),
        reports_per_year=("年报送次数", "Reports per unit per year"),
        burden_hours=("报送负担", "Reporting burden"),
        top_burdens=("主要报送负担", "Largest burdens"),
        burden_undeclared=("未申报报送负担", "Burden not declared"),
        duplicate_data_request=("重复索取数据", "Duplicate data request"),
        too_many_indicators=("指标过多", "Too many indicators"),
        satisfaction_missing=("缺少满意度指标", "No satisfaction"),
        satisfaction_share_low=("满意度权重偏低", "Satisfaction under-weighted"),
        geometric_zero=("几何平均遇零", "Geometric mean over zeros"),
        satisfaction_from_outcomes=("满意度非来自问卷", "Satisfaction not from a survey"),
        trace_ranked=("留痕指标排名计分", "Trace scored by ranking"),
        lint_ignore=("屏蔽规则", "Lint silencing"),
        unregistered_measure=("数据项未登记", "Measure not in the registry"),
    ),
    Group.exclusion: _g(
        speeder=("答题过快", "Too fast"),
        straightline=("直线作答", "Straight-lining"),
        duplicate=("重复作答", "Duplicate"),
        out_of_scale=("超出量表", "Out of scale"),
    ),
    Group.batch_kind: _g(
        units=("单位", "Units"),
        outcomes=("成效数据", "Outcomes"),
        surveys=("问卷答案", "Survey answers"),
        targets=("目标值", "Targets"),
        events=("事项记录", "Events"),
        questions=("问卷题目", "Questions"),
        form=("报送表", "Collection form"),
    ),
    Group.batch_status: _g(
        accepted=("已接收", "Accepted"),
        rejected=("已拒绝", "Rejected"),
    ),
    Group.value_status: _g(
        absent=("无记录", "No row"),
        no_data=("无数据", "No data"),  # a unit without any own data: no score, rank or grade
        no_value=("无数据", "No value"),
        imputed=("已插补", "Imputed"),
        missing=("无数据", "No value"),
        partial=("分期数据不全", "Some sub-periods only"),
        no_target=("无目标值", "No target"),
        small_sample=("样本量不足", "Too few survey responses"),
        no_responses=("无问卷", "No survey responses"),
        suppressed=("已隐去（样本过少）", "Suppressed (too few responses)"),  # small-cell suppression
        suppressed_evidence=("依据涉及样本过少的满意度结果，已隐去", "Evidence withheld: it quotes satisfaction results resting on too few responses"),
    ),
    Group.appeal_status: _g(
        open=("待处理", "Open"),
        accepted=("已采纳", "Accepted"),
        rejected=("已驳回", "Rejected"),
    ),
    Group.role: _g(
        office=("考核办", "Assessment office"),
        leadership=("领导", "Leadership"),
        unit=("被考核单位", "Assessed unit"),
    ),
    Group.source: _g(
        outcome=("成效数据", "Outcome data"),
        survey=("问卷", "Survey"),
    ),
    Group.unit_type: _g(
        township=("乡镇", "Township"),
        street=("街道", "Street office"),
        department=("部门", "Department"),
        village=("村", "Village"),
        community=("社区", "Community"),
    ),
    Group.peer_group: _g(
        rural=("农村", "Rural"),
        urban=("城镇", "Urban"),
        suburban=("城郊", "Suburban"),
    ),
    Group.direction: _g(
        higher=("越高越好", "Higher is better"),
        lower=("越低越好", "Lower is better"),
    ),
    Group.frequency: _g(
        annual=("每年", "Annual"),
        quarterly=("每季度", "Quarterly"),
        monthly=("每月", "Monthly"),
        weekly=("每周", "Weekly"),
        daily=("每日", "Daily"),
    ),
    Group.node_kind: _g(
        dimension=("维度", "Dimension"),
        indicator=("指标", "Indicator"),
        total=("总分", "Total score"),  # the whole score, as a row beside its indicators
    ),
    Group.adjustment: _g(
        veto=("一票否决", "Veto"),
        bonus=("加分项", "Bonus"),
        deduction=("扣分项", "Deduction"),
    ),
    Group.boolean: _g(
        true=("是", "Yes"),
        false=("否", "No"),
    ),
    Group.measure_origin: _g(
        unit=("单位填报", "Reported by the unit"),
        system=("已有系统", "Existing system"),
        unregistered=("未登记", "Not registered"),
    ),
    Group.grade_reason: _g(
        threshold=("按分数线定等", "Score threshold"),
        veto=("一票否决封顶", "Capped by a veto"),
        quota=("等次名额所限", "Grade quota"),
    ),
    Group.reference: _g(
        n=("单位数", "Units"),
        min=("最小值", "Minimum"),
        max=("最大值", "Maximum"),
        mean=("平均值", "Mean"),
        sd=("标准差", "Standard deviation"),
        median=("中位数", "Median"),
        winsor_low=("缩尾下限", "Winsorising floor"),
        winsor_high=("缩尾上限", "Winsorising cap"),
        impute_median=("插补用中位数", "Median used to impute"),
        target=("目标值", "Target"),
        impute_group_mean=("插补用组平均值", "Group mean used to impute"),
        impute_group_median=("插补用组中位数", "Group median used to impute"),
        outlier_points_winsorised=("缩尾处理的异常值个数", "Outlier points winsorised"),
        outlier_log=("是否改取平移对数（1=是）", "Shifted log instead (1 = yes)"),
    ),
    Group.value_flag: _g(
        missing=("缺失", "Missing"),
        unscored=("有值未计分", "Value not scored"),
        imputed_peer_median=("以同类组中位数插补", "Imputed at the peer-group median"),
        scored_zero=("缺失按最低分计", "Missing, scored at the bottom"),
        log_of_nonpositive=("非正数无法取对数", "Log of a non-positive value"),
        imputed_group_mean=("以所在组平均值插补", "Imputed at the group mean"),
        imputed_group_median=("以所在组中位数插补", "Imputed at the group median"),
        imputed_previous_period=("以上年数值插补", "Imputed with the previous year's value"),
        winsorised_high=("异常高值已缩尾", "High outlier winsorised"),
        winsorised_low=("异常低值已缩尾", "Low outlier winsorised"),
        outlier_log=("异常值过多，已取平移对数", "Too many outliers: shifted log taken"),
        transform_of_nonpositive=("非正数无法变换", "Non-positive value cannot be transformed"),
    ),
    Group.parameter: _g(
        engine=("计算引擎", "Engine"),
        period=("考核期", "Period"),
        uncertainty=("计算不确定性", "Uncertainty computed"),
        replicates=("重抽样次数", "Replicates"),
        level=("区间置信水平", "Interval level"),
        seed=("随机种子", "Random seed"),
        scheme_file=("方案文件", "Scheme file"),
        spark_master=("Spark 集群", "Spark master"),
        inputs=("输入文件目录", "Input files folder"),
        input_kinds=("输入文件种类", "Input file kinds"),
    ),
    Group.field: _g(
        unit_id=("单位编码", "Unit id"),
        unit_name=("单位名称", "Unit"),
        unit_type=("单位类型代码", "Unit type code"),
        unit_type_name=("单位类型", "Unit type"),
        peer_group=("同类组代码", "Peer group code"),
        peer_group_name=("同类组", "Peer group"),
        period=("考核期", "Period"),
        score=("得分", "Score"),
        score_low=("得分下限", "Score, low"),
        score_high=("得分上限", "Score, high"),
        rank=("排名", "Rank"),
        rank_low=("排名下限", "Rank, low"),
        rank_high=("排名上限", "Rank, high"),
        peer_rank=("组内排名", "Rank in peer group"),
        grade=("等次代码", "Grade code"),
        grade_name=("等次", "Grade"),
        grade_reason=("定等依据代码", "Grade reason code"),
        grade_reason_name=("定等依据", "Grade reason"),
        base_score=("加权基础分", "Weighted base score"),
        bonus=("加分", "Bonus"),
        deduction=("扣分", "Deduction"),
        veto=("一票否决项编码", "Veto item id"),
        veto_name=("一票否决项", "Veto item"),
        score_declared=("按申报权重得分", "Score (declared weights)"),
        rank_declared=("按申报权重排名", "Rank (declared weights)"),
        coverage=("数据覆盖率", "Data coverage"),
        flags=("预警标记代码", "Flag codes"),
        flag_names=("预警标记", "Flags"),
        value_flags=("数据处理代码", "Value flag codes"),
        value_flag_names=("数据处理", "Value flags"),
        reference=("参照值代码", "Reference code"),
        reference_name=("参照值", "Reference value"),
        section_name=("类别", "Section"),
        key_name=("项目", "Item"),
        scheme_warning=("方案问题提示", "Scheme warning"),
        indicator_id=("指标编码", "Indicator id"),
        indicator_name=("指标名称", "Indicator"),
        dimension_id=("维度编码", "Dimension id"),
        dimension_name=("维度名称", "Dimension"),
        evidence=("证据类型代码", "Evidence code"),
        evidence_name=("证据类型", "Evidence"),
        raw_value=("原始值", "Raw value"),
        transformed_value=("变换后值", "Transformed value"),
        rule=("计分规则代码", "Rule code"),
        rule_name=("计分规则", "Scoring rule"),
        declared_weight=("申报权重", "Declared weight"),
        weight=("有效权重", "Effective weight"),
        effective_weight=("有效权重", "Effective weight"),
        local_weight=("上级内权重", "Weight within parent"),
        contribution=("贡献分", "Contribution"),
        missing_policy=("缺失处理代码", "Missing-data rule code"),
        missing_policy_name=("缺失处理", "Missing-data rule"),
        imputed=("是否插补", "Imputed"),
        parent_id=("上级编码", "Parent id"),
        depth=("层级", "Depth"),
        responses=("回收份数", "Responses"),
        excluded_speeder=("剔除（答题过快）", "Excluded (too fast)"),
        excluded_straightline=("剔除（直线作答）", "Excluded (straight-lining)"),
        excluded_duplicate=("剔除（重复作答）", "Excluded (duplicate)"),
        excluded_out_of_scale=("剔除（超出量表）", "Excluded (out of scale)"),
        valid=("有效份数", "Valid responses"),
        effective_n=("有效样本量", "Effective sample size"),
        raw_index=("原始指数", "Raw index"),
        index_value=("满意度指数", "Satisfaction index"),
        se=("标准误", "Standard error"),
        ci_low=("置信区间下限", "Interval, low"),
        ci_high=("置信区间上限", "Interval, high"),
        top_box_share=("满意比例", "Top-box share"),
        small_sample=("小样本", "Small sample"),
        shrinkage=("收缩系数", "Shrinkage"),
        suppressed=("样本过少已隐去", "Suppressed (too few responses)"),
        flag=("标记代码", "Flag code"),
        flag_name=("标记", "Flag"),
        evidence_text=("依据", "Evidence"),
        node_id=("节点编码", "Node id"),
        node_kind=("节点类型代码", "Node kind code"),
        node_kind_name=("节点类型", "Node kind"),
        name=("名称", "Name"),
        name_zh=("中文名称", "Chinese name"),
        name_en=("英文名称", "English name"),
        direction=("方向代码", "Direction code"),
        direction_name=("方向", "Direction"),
        source=("数据来源", "Data source"),
        frequency=("报送频次代码", "Frequency code"),
        frequency_name=("报送频次", "Reporting frequency"),
        burden_minutes=("每次填报分钟", "Minutes per report"),
        trace_only=("纯留痕", "Trace-only"),
        linked_outcomes=("关联成效指标", "Linked outcomes"),
        severity=("严重程度代码", "Severity code"),
        severity_name=("严重程度", "Severity"),
        lint_rule=("检查规则代码", "Lint rule id"),
        lint_rule_name=("检查规则", "Lint rule"),
        indicator=("指标", "Indicator"),
        message=("说明", "Message"),
        value=("数值", "Value"),
        key=("项目代码", "Item code"),
        section=("类别代码", "Section code"),
        appeal_id=("申诉编号", "Appeal no."),
        run_id=("运行编号", "Run id"),
        item=("申诉事项", "Contested line"),
        reason=("申诉理由", "Reason"),
        status=("状态代码", "Status code"),
        status_name=("状态", "Status"),
        filed_by=("提交人", "Filed by"),
        filed_at=("提交时间", "Filed at"),
        resolution=("处理意见", "Resolution"),
        correction_batch=("更正批次", "Correction batch"),
        rescore_run_id=("重新计分运行", "Re-score run"),
        resolved_by=("处理人", "Resolved by"),
        resolved_at=("处理时间", "Resolved at"),
        tier=("梯队", "Tier"),
        tier_grade=("按梯队等次", "Grade by tier"),
        interval_source=("区间来源", "Interval from"),
        rank_median=("中位排名（自助法）", "Median rank (bootstrap)"),
        p_top10=("前 10% 概率", "P(top 10%)"),
        p_bottom10=("后 10% 概率", "P(bottom 10%)"),
        grade_probabilities=("各等次概率", "P(grade)"),
        mc_rank_median=("中位排名（权重模拟）", "Median rank (weights)"),
        mc_rank_p05=("排名 5%（权重模拟）", "Rank 5% (weights)"),
        mc_rank_p95=("排名 95%（权重模拟）", "Rank 95% (weights)"),
        grade_stability=("等次稳定性", "Grade stability"),
        firm=("等次稳健", "Firm grade"),
        mean_abs_rank_change=("平均名次变动", "Mean |Δrank|"),
        max_abs_rank_change=("最大名次变动", "Largest |Δrank|"),
        spearman=("斯皮尔曼相关", "Spearman ρ"),
        funnel=("漏斗图代码", "Funnel code"),
        funnel_name=("漏斗图", "Funnel"),
        sample_size=("样本量", "Sample size"),
        centre=("总体水平", "Overall level"),
        z=("z 值（仅抽样误差）", "z (sampling error only)"),
        z_adjusted=("z 值（离散校正后）", "z (overdispersion-corrected)"),
        phi=("离散系数 φ", "Dispersion φ"),
        tau2=("单位间方差 τ²", "Between-unit variance τ²"),
        overdispersed=("过度离散", "Overdispersed"),
        lo95=("95% 控制下限", "95% lower limit"),
        hi95=("95% 控制上限", "95% upper limit"),
        lo998=("99.8% 控制下限", "99.8% lower limit"),
        hi998=("99.8% 控制上限", "99.8% upper limit"),
        outside_95=("在 95% 控制限外", "Outside the 95% limits"),
        outside_998=("在 99.8% 控制限外", "Outside the 99.8% limits"),
        peer=("同类组代码", "Peer group code"),
        peer_name=("同类组", "Peer group"),
        observed=("实际得分", "Actual score"),
        expected=("预期得分", "Expected score"),
        value_added=("增值", "Value-added"),
        n_fit=("拟合单位数", "Units in the fit"),
        r2=("拟合优度 R²", "R²"),
        peer_units=("组内单位数", "Units in group"),
        peer_median=("组内中位数", "Group median"),
    ),
    Group.sheet: _g(
        summary=("汇总", "Summary"),
        breakdown=("指标明细", "Indicator breakdown"),
        dimensions=("维度得分", "Dimension scores"),
        survey_quality=("满意度调查质量", "Survey quality"),
        flags=("预警", "Flags"),
        scheme=("指标体系", "Scheme"),
        reference_values=("计分参照值", "Reference values"),
        lint=("方案体检", "Scheme health"),
        appeals=("申诉", "Appeals"),
        methodology=("方法说明", "Methodology"),
        league_table=("排名表", "League table"),
        sensitivity=("排名可靠性", "Sensitivity"),
        sensitivity_indicators=("去掉指标的影响", "Leave one out"),
        funnels=("漏斗图数据", "Funnel plots"),
        value_added=("增值评价", "Value-added"),
    ),
    Group.section: _g(
        run=("考核运行", "Run"),
        scheme=("考核方案", "Scheme"),
        data=("数据", "Data"),
        parameters=("计算参数", "Parameters"),
        appeals=("申诉", "Appeals"),
        notes=("说明", "Notes"),
        export=("导出", "Export"),
        uncertainty=("不确定性", "Uncertainty"),
        methods=("各指标与维度的方法", "Methods per indicator and node"),
    ),
    Group.meta: _g(
        run_id=("运行编号", "Run id"),
        period=("考核期", "Period"),
        created_at=("计分时间", "Scored at"),
        code_version=("程序版本", "Code version"),
        published=("已发布", "Published"),
        note=("备注", "Note"),
        scheme_id=("方案编码", "Scheme id"),
        scheme_version=("方案版本", "Scheme version"),
        scheme_name=("方案名称", "Scheme name"),
        scheme_hash_sha256=("方案 SHA-256", "Scheme SHA-256"),
        lint_errors=("形式主义严重问题数", "Lint errors"),
        scheme_warning=("方案问题提示", "Scheme warning"),
        lint_error=("严重问题", "Lint error"),
        burden_hours_per_unit_year=("每单位每年填报负担（小时）", "Reporting hours per unit per year"),
        trace_policy=("留痕权重政策", "Trace policy"),
        batch_ids=("所用数据批次", "Batches used"),
        batch=("数据批次", "Batch"),
        appeals=("申诉", "Appeals"),
        appeal=("申诉", "Appeal"),
        note_n=("说明", "Note"),
        generated_at=("导出时间", "Exported at"),
        run_warning=("结果提示", "Run warning"),
        uncertainty_method=("区间方法", "Interval method"),
        uncertainty_level=("置信水平", "Interval level"),
        uncertainty_replicates=("自助法重复次数", "Bootstrap replicates"),
        uncertainty_seed=("随机种子", "Random seed"),
        weight_draws=("权重模拟次数", "Weight draws"),
        tiers=("梯队", "Tiers"),
        rank_interval_coverage=("排名区间的局限", "Rank intervals: a limit"),
    ),
    Group.run_warning: _g(
        constant_indicator=("指标数值全部相同", "Constant indicator"),
        zscore_clamped=("z 分数被截断", "Z-scores clamped"),
        reweighted=("缺失数据重新分配权重", "Reweighted for missing data"),
        low_coverage=("数据覆盖率低", "Low data coverage"),
    ),
    Group.funnel: _g(
        satisfaction=("满意度指数", "Satisfaction index"),
        excluded_share=("问卷剔除比例", "Excluded survey share"),
    ),
    Group.aggregation: _g(
        arithmetic=("加权算术平均", "Weighted arithmetic mean"),
        geometric=("加权几何平均", "Weighted geometric mean"),
        harmonic=("加权调和平均", "Weighted harmonic mean"),
        generalised=("广义（幂）平均", "Generalised (power) mean"),
        median=("加权中位数", "Weighted median"),
        mazziotta_pareto=("马齐奥塔–帕雷托指数", "Mazziotta–Pareto index"),
        ratio=("两项之比", "Ratio of two sub-scores"),
    ),

}


def pair(group: Group, code: str) -> Label | None:
    """The code's label, None when the catalogue does not list it."""
    return CATALOGUE[group].get(code)


def label(group: Group, code: str | None, lang: str) -> str:
    """The code's name in `lang`; an unknown code stays as it is, None gives ""."""
    if code is None:
        return ""
    found = CATALOGUE[group].get(str(code))
    return found.get(lang) if found is not None else str(code)


def codes(group: Group) -> tuple[str, ...]:
    """Every code a group lists, in catalogue order."""
    return tuple(CATALOGUE[group])


def rows() -> list[tuple[str, str, str, str]]:
    """The whole catalogue as (group, code, zh, en) rows, for joining in SQL or polars."""
    return [(g.value, c, lab.zh, lab.en) for g, entries in CATALOGUE.items() for c, lab in entries.items()]


def boolean(value: bool | None, lang: str) -> str:
    """是/否, Yes/No; None gives ""."""
    return "" if value is None else label(Group.boolean, "true" if value else "false", lang)
