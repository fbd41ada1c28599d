# ruff: noqa: E501  (label tables: Chinese text counts double width; splitting sentences hurts reading)
"""The dashboard's page text, in Chinese (default) and English.

Pages call `t("key")`; the language lives in the session and is switched in the sidebar on every
page. A missing key is a bug the tests catch (every key must have both languages). Names of
stored codes and fields (evidence classes, flags, grades, rules, roles, column headers of stored
fields…) come from the one label catalogue, `evaluator.labels`, shared with the exports, the
linter and the CLI; this table holds only the pages' own sentences.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from evaluator.labels import CATALOGUE, Group, label
from ui.state import prepare, remember, remembered, to_url

LANGS = {"zh": "中文", "en": "English"}


def _field(key: str) -> tuple[str, str]:
    """A column header that names a stored field: the catalogue's (zh, en) name of it."""
    found = CATALOGUE[Group.field][key]
    return found.zh, found.en

DEFAULT_LANG = "zh"

L: dict[str, tuple[str, str]] = {
    # app frame
    "app_title": ("绩效考核看板", "Performance dashboard"),
    "language": ("语言 / Language", "Language / 语言"),
    "run": ("考核运行", "Scoring run"),
    "run_option": (
        "{period} · {scheme} · {created} · {short} · {state}{note}",
        "{period} · {scheme} · {created} · {short} · {state}{note}",
    ),
    "run_published": ("已发布", "published"),
    "run_office": ("未发布", "not published"),
    "run_note": ("（备注：{note}）", " (note: {note})"),
    "run_newer": ("有更新的运行：{label}", "A newer run exists: {label}"),
    "snapshot_caption": ("数据快照：{time}", "Data snapshot: {time}"),
    "no_auth_banner": (
        "未启用登录（--no-auth）：任何能访问本机端口的人都能查看全部结果。仅在可信的本机环境使用。",
        "Login is off (--no-auth): anyone who can reach this port sees every result. "
        "Use only on a trusted machine.",
    ),
    "release_title": ("发布本次评分", "Release this run"),
    "release_confirm": ("我确认要更改该次评分的发布状态", "I confirm changing who sees this run"),
    "release": ("向领导和单位发布", "Release to leadership and units"),
    "withdraw": ("撤回发布", "Withdraw"),
    "withdraw_reason": ("撤回理由", "Reason for withdrawing"),
    "released": ("已向领导和单位发布。", "Released to leadership and units."),
    "withdrawn": ("已撤回：仅考核办可见。", "Withdrawn: the office only sees it again."),
    "suppressed_cell": ("已隐去（样本过少）", "suppressed (too few responses)"),
    "suppressed_note": (
        "{n} 项满意度结果的有效样本少于 {min} 份，为保护受访者已隐去。",
        "{n} satisfaction result(s) rest on fewer than {min} valid responses and are suppressed "
        "to protect respondents.",
    ),
    "suppressed_chart": (
        "图中未显示已隐去的满意度指标：{names}。",
        "Suppressed satisfaction indicators are left out of the chart: {names}.",
    ),
    "page_refused": (
        "您的角色无权使用此页面。",
        "Your role may not use this page.",
    ),
    "no_published_runs": (
        "尚无已发布的评分结果；考核办发布后即可查看。",
        "No run has been published yet; results appear once the office publishes one.",
    ),
    "page_overview": ("总览", "Overview"),
    "page_compare": ("单位对比", "Compare units"),
    "page_unit": ("单位画像", "Unit profile"),
    "page_scheme": ("方案体检", "Scheme health"),
    "page_quality": ("数据质量", "Data quality"),
    "page_sensitivity": ("敏感性", "Sensitivity"),
    "page_setup": ("开始使用", "Getting started"),
    "page_users": ("登录", "Sign in"),
    # empty states
    "no_db_title": ("还没有可查看的数据", "Nothing to show yet"),
    "no_db_body": (
        "看板读取数据库的只读快照，但尚未找到快照：`{path}`。\n\n"
        "请先导入数据并计分，例如：\n\n"
        "```\nevaluator demo --no-serve\n```\n"
        "或依次运行 `evaluator ingest --db DB --kind …` 与 `evaluator score --db DB --scheme … "
        "--period …`，然后重新运行 `evaluator dashboard --db DB`（每次计分后会自动发布新快照）。",
        "The dashboard reads a read-only snapshot of the database, and none was found: `{path}`.\n\n"
        "Load data and score it first, for example:\n\n"
        "```\nevaluator demo --no-serve\n```\n"
        "or `evaluator ingest --db DB --kind …` then `evaluator score --db DB --scheme … "
        "--period …`, and run `evaluator dashboard --db DB` again (every scoring run publishes a "
        "fresh snapshot).",
    ),
    "no_schema_body": (
        "快照 `{path}` 不是本系统的数据库（缺少考核表）。请确认 `--db` 指向 evaluator 创建的数据库。",
        "The snapshot `{path}` is not an evaluator database (the scoring tables are missing). "
        "Check that `--db` points at a database evaluator created.",
    ),
    "no_runs_title": ("数据已导入，但还没有计分结果", "Data is loaded but nothing is scored yet"),
    "no_runs_body": (
        "数据库中有 {units}、{outcomes}、{surveys}（{batches}），但还没有考核运行。"
        "请用适用于这些单位类型的考核方案计分：\n\n"
        "```\nevaluator score --db DB --scheme YOUR_SCHEME.yaml --period {period}\n```\n"
        "（方案文件的写法见 docs/scheme.md；`evaluator validate YOUR_SCHEME.yaml` 可先检查方案。）"
        "计分完成后刷新本页即可。",
        "The database holds {units}, {outcomes} and {surveys} ({batches}), but no scoring run "
        "yet. Score it with a scheme for these unit types:\n\n"
        "```\nevaluator score --db DB --scheme YOUR_SCHEME.yaml --period {period}\n```\n"
        "(how to write a scheme: docs/scheme.md; `evaluator validate YOUR_SCHEME.yaml` checks one first), "
        "then refresh this page.",
    ),
    "n_units": ("{n} 个单位", "{n} units"),
    "n_units_one": ("{n} 个单位", "{n} unit"),
    "n_outcomes": ("{n} 条成效数据", "{n} outcome values"),
    "n_outcomes_one": ("{n} 条成效数据", "{n} outcome value"),
    "n_answers": ("{n} 条问卷答案", "{n} survey answers"),
    "n_answers_one": ("{n} 条问卷答案", "{n} survey answer"),
    "n_batches": ("{n} 个导入批次", "{n} load batches"),
    "n_batches_one": ("{n} 个导入批次", "{n} load batch"),
    "empty_db_title": ("数据库是空的", "The database is empty"),
    "empty_db_body": (
        "还没有导入任何数据。可以先用演示数据体验：`evaluator demo`；"
        "或用 `evaluator ingest --db DB --kind units|outcomes|surveys FILE` 导入本地数据。",
        "No data was loaded yet. Try the demo data with `evaluator demo`, or load your own with "
        "`evaluator ingest --db DB --kind units|outcomes|surveys FILE`.",
    ),
    "users_title": ("需要配置登录用户", "Sign-in needs a user"),
    "users_body": (
        "看板默认要求登录，但应用库 `{path}` 中还没有可登录的用户，因此不显示考核结果。\n\n"
        "- 在服务器上添加第一个用户（按提示输入两次密码；脚本中可用 `--password-stdin`）：\n\n"
        "```\nevaluator users add 用户名 --role office --db {db}\n```\n"
        "- 角色：`office`（考核办）、`leadership`（领导）、`unit`（被考核单位，需加 `--unit 单位编码`）；"
        "`evaluator users list --db {db}` 查看已有用户。\n"
        "- 添加后刷新本页即可登录。如仅在本机查看，也可不登录：\n\n"
        "```\nevaluator dashboard --db {db} --no-auth\n```",
        "The dashboard requires sign-in by default, and the app store `{path}` has no user who can "
        "sign in yet, so no results are shown.\n\n"
        "- Add the first user on the server (you are asked for the password twice; scripts can use "
        "`--password-stdin`):\n\n"
        "```\nevaluator users add NAME --role office --db {db}\n```\n"
        "- Roles: `office` (assessment office), `leadership`, `unit` (an assessed unit; add "
        "`--unit UNIT_ID`); `evaluator users list --db {db}` shows who exists.\n"
        "- Then reload this page and sign in. To browse on this machine only, without sign-in:\n\n"
        "```\nevaluator dashboard --db {db} --no-auth\n```",
    ),
    "signin_title": ("登录", "Sign in"),
    "signin_name": ("用户名", "User name"),
    "signin_password": ("密码", "Password"),
    "signin_submit": ("登录", "Sign in"),
    "signin_failed": ("用户名或密码不正确，或该用户已停用。", "Wrong user name or password, or the user is disabled."),
    "signin_locked": (
        "该用户因多次登录失败已被锁定，请管理员用 `evaluator users unlock 用户名` 解锁。",
        "This user is locked after repeated failed sign-ins; an administrator unlocks it with "
        "`evaluator users unlock NAME`.",
    ),
    "signin_idle": (
        "长时间未操作，已自动退出，请重新登录。",
        "You were signed out after a while without activity; please sign in again.",
    ),
    "signin_throttled": (
        "该用户名近期登录失败次数过多，请 15 分钟后再试，或请管理员用 `evaluator users passwd` 重置密码。",
        "Too many failed attempts for this name; try again in 15 minutes, or ask an administrator "
        "to reset the password with `evaluator users passwd`.",
    ),
    "signin_store_error": (
        "无法读取应用库中的用户，请管理员检查 `evaluator users list`。",
        "The users in the app store cannot be read; an administrator should check "
        "`evaluator users list`.",
    ),
    "signin_help": (
        "账号由管理员在服务器上用 `evaluator users add` 创建；忘记密码请联系管理员（`evaluator users passwd`）。",
        "Accounts are created on the server with `evaluator users add`; forgotten passwords are "
        "reset by an administrator (`evaluator users passwd`).",
    ),
    "signed_in_as": ("已登录：{name}（{role}）", "Signed in: {name} ({role})"),
    "sign_out": ("退出登录", "Sign out"),
    "oidc_signin": ("使用单位统一身份认证登录", "Sign in with your organisation account"),
    "oidc_help": (
        "登录后按考核办维护的身份映射确定角色和单位；未列入映射的身份无法查看结果。",
        "After signing in, the office's identity mapping decides your role and unit; an "
        "identity it does not list sees no results.",
    ),
    "oidc_refused": (
        "已登录身份认证，但无权查看：{why}",
        "Signed in with the provider, but refused: {why}",
    ),
    # overview
    "overview_title": ("年度考核总览", "Year at a glance"),
    "run_caption": (
        "{scheme}（{version}）· 考核期 {period} · {units} 个单位 · 运行 {run_id}",
        "{scheme} (v{version}) · period {period} · {units} units · run {run_id}",
    ),
    "lint_banner": (
        "该方案存在 {n} 项严重的形式主义问题，结果需谨慎解读（见“方案体检”）。",
        "This scheme has {n} serious formalism finding(s); read the results with care "
        "(see Scheme health).",
    ),
    "m_units": ("参评单位", "Units scored"),
    "m_mean": ("平均得分", "Mean score"),
    "m_top_grade": ("优秀比例", "Share rated excellent"),
    "m_top_grade_named": ("最高等次（{grade}）比例", "Share in the top grade ({grade})"),
    "m_attention": ("需关注单位", "Need attention"),
    "m_attention_help": (
        "最低等次、被一票否决或有预警标记的单位数（去重）。",
        "Units in the lowest grade, vetoed or flagged (each counted once).",
    ),
    "attention": ("需要关注", "Needs attention"),
    "attention_bottom": ("排名最后", "Lowest ranked"),
    "attention_veto": ("一票否决", "Vetoed"),
    "attention_flags": ("预警标记", "Flagged"),
    "attention_none": ("无。", "None."),
    "attention_more": ("另有 {n} 个，见下方排名表的“预警”列。", "{n} more: see the league table below."),
    "attention_item": ("{name} · {detail}", "{name} · {detail}"),
    "attention_score": ("第 {rank} 名 · {score} 分 · {grade}", "#{rank} · {score} · {grade}"),
    "row_opens": ("点选一行可打开该单位画像。", "Select a row to open that unit's profile."),
    "c_veto": _field("veto_name"),
    "grade_dist": ("等次分布", "Grade distribution"),
    "league": ("排名表", "League table"),
    "filter_type": ("单位类型", "Unit type"),
    "filter_peer": ("同类组", "Peer group"),
    "choose": ("请选择", "Choose"),
    "search": ("按名称或编码搜索", "Search by name or id"),
    "filter_grade": ("等次", "Grade"),
    "filter_flag": ("预警标记", "Flag"),
    "filter_parent": ("上级单位", "Parent unit"),
    "sort_by": ("排序依据", "Sort by"),
    "grade_bar_hint": ("点击某一等次的柱子，下方排名表即只列该等次的单位。", "Click a grade's bar to list only its units in the league table below."),
    "filters_kept": (
        "筛选和排序会保留在地址栏中，切换页面后仍然有效。",
        "Filters and sort are kept in the address and stay when you change pages.",
    ),
    "leaders": ("最佳与进步最大", "Best and most improved"),
    "best": ("最佳", "Best"),
    "most_improved": ("进步最大（对比 {period}）", "Most improved (against {period})"),
    "best_item": ("第 {rank} 名 · {score} 分", "#{rank} · {score}"),
    "improved_item": (
        "{change:+.1f} 分 · 名次 {prev_rank} → {rank}",
        "{change:+.1f} points · rank {prev_rank} → {rank}",
    ),
    "download_xlsx": ("下载所示行（XLSX）", "Download the rows shown (XLSX)"),
    # drill-down on the unit profile
    "pick_dimension": ("按维度查看指标", "Show the indicators of"),
    "all_dimensions": ("全部维度", "every dimension"),
    "pick_indicator": ("查看某项指标的原始数据", "Open an indicator's raw values"),
    "pick_indicator_none": ("（不展开）", "(none)"),
    "drill_title": ("指标明细：{name}", "Behind the indicator: {name}"),
    "drill_measure": (
        "来自结果数据的度量 {measure}（汇总方式：{rollup}）；下表为本次评分读取的原始值及其来源文件行号。",
        "From the outcome measure {measure} (roll-up: {rollup}); below, the raw values this run "
        "read, with the file and row they came from.",
    ),
    "drill_survey": (
        "来自问卷题目 {questions}；样本与置信区间见下方“满意度”。",
        "From the survey questions {questions}; its sample and interval are under Satisfaction below.",
    ),
    "drill_unknown": ("无法读取本次评分的方案，无法展开该指标。", "The run's scheme cannot be read, so this indicator cannot be opened."),
    "this_unit": ("本单位", "This unit"),
    "c_value": ("原始值", "Raw value"),
    "c_source_row": ("文件行号", "Row in the file"),
    # downloads
    "dl_workbook": ("下载年度结果工作簿（XLSX）", "Download the year-end workbook (XLSX)"),
    "dl_summary": ("下载领导一页摘要（HTML，可打印）", "Download the one-page leadership summary (HTML, printable)"),
    "dl_note": (
        "文件按您的角色导出（与 evaluator export --audience 相同），语言与本页一致；单位较多时生成需要一些时间。",
        "Files are exported for your role (as evaluator export --audience does), in this page's "
        "language; with many units they take a while to make.",
    ),
    "dl_card_html": ("下载本单位考核结果通知单（HTML）", "Download this unit's report card (HTML)"),
    "dl_card_pdf": ("下载通知单（PDF）", "Download the report card (PDF)"),
    "dl_no_pdf": (
        "服务器未安装 Chromium，无法生成 PDF；HTML 通知单可直接用浏览器打印。",
        "No Chromium on the server, so no PDF; the HTML card prints from any browser.",
    ),
    # heat map
    "page_heatmap": ("热力图", "Heat map"),
    "heatmap_title": ("热力图：单位 × 维度或指标", "Heat map: units × dimensions or indicators"),
    "heatmap_intro": (
        "每格按所属等次的分数段着色（与排名表、导出文件同一配色）；筛选和排序与排名表共用，可直接打印。",
        "Each cell is coloured by the grade band its score falls in (the league table's and the "
        "exports' colours); filters and sort are shared with the league table; ready to print.",
    ),
    "heatmap_level": ("列", "Columns"),
    "heatmap_print": ("用浏览器打印本页（Ctrl+P）即得纸质热力图，侧栏和筛选框不会打印。", "Print this page from the browser (Ctrl+P) for a paper heat map; the sidebar and filters are left out."),
    "heatmap_open": ("打开单位画像", "Open a unit's profile"),
    "heatmap_rows": ("显示行", "Rows shown"),
    "heatmap_page": ("第 {first}–{last} 行（共 {total} 行）", "Rows {first}–{last} of {total}"),
    "heatmap_dimensions": ("一级维度", "Top-level dimensions"),
    "heatmap_indicators": ("全部指标", "Every indicator"),
    "heatmap_bands": ("分数段（0–100）：", "Score bands (0–100):"),
    "heatmap_no_bands": (
        "本方案只按比例（名额）定等次，没有分数线，因此热力图不着色。",
        "This scheme grades by quota only (no score floors), so the heat map has no bands.",
    ),
    "heatmap_indicator_note": (
        "指标得分为 0–100 的标准化得分；分数段按方案总分的等次分数线折算到 0–100。",
        "Indicator scores are 0–100; the bands are the scheme's grade floors placed on 0–100.",
    ),
    "trend_version": ("方案 {version}", "scheme {version}"),
    "trend_version_note": (
        "自 {period} 起按方案版本 {version} 评分（此前为 {before}），虚线两侧的得分不完全可比。",
        "From {period} scored under scheme version {version} (before: {before}): scores either "
        "side of the dashed line are not strictly comparable.",
    ),
    "rows_shown": ("显示 {n} / {total} 个单位", "Showing {n} of {total} units"),
    "rank_interval_note": (
        "排名区间来自不确定性分析：区间相互重叠的单位，名次差异在统计上并不可靠。",
        "Rank intervals come from the uncertainty analysis: units whose intervals overlap are not "
        "reliably different.",
    ),
    "rank_interval_chart": ("排名及其不确定区间（{n} 个单位）", "Rank with its uncertainty interval ({n} units)"),
    "movers": ("进退变化（对比 {period}）", "Movers (against {period})"),
    "risers": ("进步最大", "Biggest rises"),
    "fallers": ("退步最大", "Biggest falls"),
    "no_previous": (
        "没有同一方案更早考核期的运行，暂无进退对比。",
        "No earlier period was scored under this scheme, so there are no movers yet.",
    ),
    "no_movers": ("无变化。", "No changes."),
    "mover_line": (
        "**{name}**：{prev:.1f} → {score:.1f}（{change:+.1f} 分，名次 {prev_rank} → {rank}）。主要因素：{drivers}",
        "**{name}**: {prev:.1f} → {score:.1f} ({change:+.1f} points, rank {prev_rank} → {rank}). "
        "Mainly: {drivers}",
    ),
    "no_drivers": ("—", "—"),
    # compare
    "compare_title": ("单位对比", "Compare units"),
    "pick_units": ("选择 2–6 个单位", "Pick 2–6 units"),
    "pick_more": ("请至少选择 2 个单位。", "Pick at least two units."),
    "radar": ("各维度得分（0–100）", "Dimension scores (0–100)"),
    "ind_bars": ("分指标得分与同类组中位数", "Indicator scores beside the peer-group median"),
    "peer_median": ("同类组中位数", "Peer median"),
    "summary": ("对比摘要", "Summary"),
    "summary_line": (
        "**{name}** 在{strong}方面领先所选单位平均水平{weak_part}。",
        "**{name}** is ahead of the selected units' average in {strong}{weak_part}.",
    ),
    "summary_weak": ("，在{weak}方面相对落后", "; behind in {weak}"),
    "summary_none": ("**{name}** 各维度均不高于所选单位平均水平{weak_part}。",
                     "**{name}** is not ahead of the average in any dimension{weak_part}."),
    "gap_item": ("{dim}（{gap:+.1f}）", "{dim} ({gap:+.1f})"),
    "list_sep": ("、", ", "),
    # unit profile
    "unit_title": ("单位画像", "Unit profile"),
    "pick_unit": ("选择单位", "Pick a unit"),
    "m_score": ("总分", "Score"),
    "m_rank": ("排名", "Rank"),
    "m_rank_value": ("{rank} / {n}", "{rank} of {n}"),
    "m_grade": ("等次", "Grade"),
    "m_coverage": ("数据覆盖", "Data coverage"),
    "adjustments": (
        "加权基础分 {base}，加分 {bonus}，扣分 {deduction}{veto}",
        "Weighted base {base}, bonus {bonus}, deduction {deduction}{veto}",
    ),
    "veto_applied": ("；一票否决：{veto}", "; veto applied: {veto}"),
    "explain": ("得分明细（追溯到原始数据）", "How the score is made (down to the raw data)"),
    "contrib_chart": ("各指标贡献分", "Contribution of each indicator"),
    "trend": ("历年趋势", "Trend across periods"),
    "trend_single": ("只有一个考核期，暂无趋势。", "Only one period is scored: no trend yet."),
    "satisfaction": ("群众满意度（含置信区间与样本量）", "Citizen satisfaction (interval and sample size)"),
    "no_survey": ("本次运行没有该单位的问卷结果。", "No survey results for this unit in this run."),
    "sat_point": ("满意度指数", "Satisfaction index"),
    "exclusions": ("被剔除的问卷及原因", "Survey responses excluded, and why"),
    "flags_title": ("预警标记", "Flags"),
    "no_flags": ("该单位没有预警标记。", "No flags for this unit."),
    "unit_not_in_run": ("您的单位（{unit}）未参加本次考核运行。", "Your unit ({unit}) was not scored in this run."),
    "appeals_title": ("申诉", "Appeals"),
    "appeals_read_only": ("申诉只能由登录的被考核单位提出；此处仅供查看。", "Only a signed-in unit can file an appeal; this list is read-only."),
    "appeal_kind": ("提出申诉：针对", "Contest a line: about"),
    "appeal_kind_indicator": ("指标（数值或缺失数据）", "an indicator (a value or a missing datum)"),
    "appeal_kind_event": ("事项（否决、加分或扣分）", "an event (a veto, bonus or deduction)"),
    "appeal_indicator": ("指标", "Indicator"),
    "appeal_event": ("事项编号", "Event id"),
    "appeal_event_help": ("仅在申诉事项时填写，例如 safety_incident。", "Only when contesting an event, e.g. safety_incident."),
    "appeal_reason": ("申诉理由（必填）", "Reason (required)"),
    "appeal_submit": ("提出申诉", "Contest this line"),
    "appeal_reason_needed": ("请填写申诉理由。", "Give a reason for the appeal."),
    "appeal_line_needed": ("请选择指标或填写事项编号。", "Pick an indicator or enter an event id."),
    "appeal_no_store": ("无法读取申诉记录（应用库不可用）。", "Appeals cannot be read: the app store is not available."),
    "appeal_filed": ("已提出申诉 #{id}，等待考核办处理。", "Appeal #{id} filed; the assessment office will resolve it."),
    "appeal_status_open": ("待处理", "open"),
    "appeal_status_accepted": ("已采纳", "accepted"),
    "appeal_status_rejected": ("已驳回", "rejected"),
    "c_appeal_id": _field("appeal_id"),
    "c_appeal_item": _field("item"),
    "c_appeal_status": _field("status_name"),
    "c_filed_by": _field("filed_by"),
    "c_filed_at": _field("filed_at"),
    "c_resolution": _field("resolution"),
    "c_resolved_at": _field("resolved_at"),
    "c_appeal_reason": _field("reason"),
    # scheme health
    "scheme_title": ("方案体检：形式主义审查", "Scheme health: the formalism audit"),
    "m_indicators": ("指标数量", "Indicators"),
    "m_trace_share": ("留痕类权重", "Trace weight"),
    "m_trace_share_help": ("留痕类指标的权重占比：申报 → 留痕政策之后的有效权重。", "Share of the weight on trace indicators: declared → effective after the trace policy."),
    "m_burden": ("填报负担（小时/年）", "Burden (h/year)"),
    "m_burden_help": ("每个被考核单位每年为本方案填报所花的小时数（按各指标申报的分钟数与频次计算）。", "Hours each assessed unit spends per year reporting for this scheme (from each indicator's declared minutes and frequency)."),
    "m_burden_value": ("{h:.1f}", "{h:.1f}"),
    "m_reports": ("报送次数/年", "Reports a year"),
    "m_reports_help": ("每个被考核单位每年向考核办报送的次数。", "How many times a year each assessed unit reports to the office."),
    "m_lint": ("严重/警告", "Errors / warnings"),
    "m_lint_help": ("形式主义体检发现的严重问题与警告数。", "Formalism findings of severity error and warning."),
    "lint_findings": ("体检发现", "Findings"),
    "no_findings": ("未发现形式主义问题。", "No formalism findings."),
    "findings_full": ("查看全部发现的完整说明", "Read every finding in full"),
    "weights_chart": ("申报权重与有效权重（留痕政策之后）", "Declared vs effective weights (after the trace policy)"),
    "declared": ("申报权重", "Declared"),
    "effective": ("有效权重", "Effective"),
    "evidence_split": ("按证据类型的权重构成", "Weight by evidence class"),
    "top_burdens": ("填报负担最重的指标", "Heaviest reporting burdens"),
    "duplicates": ("重复索取的数据", "Data requested more than once"),
    "no_duplicates": ("没有重复索取的数据（一表报送）。", "No data is requested twice (one form, shared)."),
    "ranking_compare": ("按申报权重与按有效权重的排名对比", "Ranking under declared vs effective weights"),
    "ranking_compare_note": (
        "点越偏离对角线，说明留痕政策对该单位名次的影响越大；正值表示按成效计分后名次上升。",
        "The further a point lies from the diagonal, the more the trace policy moved that unit; a "
        "positive gain means it ranks higher once paperwork counts less.",
    ),
    "no_declared": ("本次运行未保存按申报权重的排名。", "This run stored no ranking under declared weights."),
    # data quality
    "quality_title": ("数据质量", "Data quality"),
    "batches": ("导入批次", "Load batches"),
    "m_batches": ("批次（接收/拒绝）", "Batches (accepted / rejected)"),
    "missing": ("缺失的单位—指标数据", "Missing unit–indicator values"),
    "no_missing": ("所有单位的所有指标都有数据。", "Every unit has a value for every indicator."),
    "missing_count": ("共 {n} 处缺失或插补。", "{n} value(s) missing or imputed."),
    "survey_exclusions": ("问卷剔除原因（全部单位）", "Survey exclusions by reason (all units)"),
    "funnel": ("满意度漏斗图", "Satisfaction funnel plot"),
    "funnel_note": (
        "横轴为有效样本量，纵轴为未经收缩的满意度指数。线条为围绕总体水平的控制限：虚线 95%，实线 99.8%。"
        "控制限计入受访者之间的抽样误差；单位之间的真实差异大于抽样误差（过度离散）时，还计入单位间差异，"
        "因此落在线外说明该单位与同类单位的差距超出了正常波动，而不只是超出抽样误差。",
        "Effective sample size across, unshrunk satisfaction index up. The lines are control limits "
        "around the overall level: dashed 95%, solid 99.8%. They allow for sampling error between "
        "respondents and, when units differ by more than that (overdispersion), for the real spread "
        "between units as well, so a unit outside them stands out from its peers, not merely from "
        "sampling noise.",
    ),
    "funnel_indicator": ("满意度指标", "Satisfaction indicator"),
    "funnel_outside": ("{total} 个单位中有 {n} 个落在 99.8% 控制限之外。", "{n} of {total} units lie outside the 99.8% limits."),
    "no_funnel": ("本次运行没有问卷数据。", "This run has no survey data."),
    "centre": ("总体水平", "Overall level"),
    "limit95": ("95% 控制限", "95% limits"),
    "limit998": ("99.8% 控制限", "99.8% limits"),
    "units_inside": ("单位（99.8% 控制限内）", "Units inside the 99.8% limits"),
    "units_outside": ("单位（99.8% 控制限外）", "Units outside the 99.8% limits"),
    "limit998_raw": ("99.8% 控制限（仅抽样误差）", "99.8% limits (sampling error only)"),
    "funnel_corrected": (
        "单位之间的差异大于抽样误差（过度离散，φ = {phi}）：控制限已按 Spiegelhalter（2005）的加性随机效应方法"
        "加宽，单位间方差 τ² = {tau2}；点线为仅按抽样误差计算的 99.8% 控制限。",
        "Units differ by more than sampling error (overdispersion, φ = {phi}): the limits are widened "
        "by Spiegelhalter's (2005) additive random-effects method, between-unit variance "
        "τ² = {tau2}; the dotted lines are the sampling-only 99.8% limits.",
    ),
    "funnel_plain": (
        "单位之间的差异未超出抽样误差所能解释的范围（φ = {phi}），控制限仅按抽样误差计算。",
        "Units differ no more than sampling error explains (φ = {phi}): the limits come from "
        "sampling error alone.",
    ),
    "excl_funnel": ("问卷剔除比例漏斗图", "Funnel plot of the excluded survey share"),
    "excl_funnel_note": (
        "横轴为单位收到的问卷数，纵轴为被剔除问卷（答题过快、直线作答、重复作答）的比例。"
        "远在上方控制限之外的单位，其问卷很可能被集中刷填；“问卷异常”标记按其自身规则判定。",
        "Responses a unit received across, the share dropped as speeders, straight-liners or "
        "duplicates up. A unit far above the upper limits most likely had its survey stuffed; the "
        "survey-stuffing flag applies its own rule.",
    ),
    "excl_share_axis": ("剔除比例（%）", "Excluded share (%)"),
    "responses_axis": ("收到的问卷数", "Responses received"),
    "h_excl_point": (
        "%{text}<br>剔除比例 %{y:.1f}%<br>问卷 %{x:.0f} 份<extra></extra>",
        "%{text}<br>excluded share %{y:.1f}%<br>%{x:.0f} responses<extra></extra>",
    ),
    "h_limit_responses": (
        "{name}<br>问卷 %{x:.0f} 份时：%{y:.1f}%<extra></extra>",
        "{name}<br>at %{x:.0f} responses: %{y:.1f}%<extra></extra>",
    ),
    # chart hover texts (plotly templates: %{…} are filled in by the browser)
    "h_grade_bar": ("%{x}：%{y} 个单位<extra></extra>", "%{x}: %{y} units<extra></extra>"),
    "h_rank_interval": (
        "%{y}<br>排名区间：第 %{customdata[0]}–%{customdata[1]} 名<extra></extra>",
        "%{y}<br>rank interval: %{customdata[0]}–%{customdata[1]}<extra></extra>",
    ),
    "h_rank_point": (
        "%{y}<br>排名：第 %{x} 名（区间 %{customdata[0]}–%{customdata[1]}）<br>"
        "得分 %{customdata[2]:.2f} · %{customdata[3]}<extra></extra>",
        "%{y}<br>rank %{x} (interval %{customdata[0]}–%{customdata[1]})<br>"
        "score %{customdata[2]:.2f} · %{customdata[3]}<extra></extra>",
    ),
    "h_radar": (
        "%{fullData.name}<br>%{text}：%{r:.1f} 分（0–100）<extra></extra>",
        "%{fullData.name}<br>%{text}: %{r:.1f} points (0–100)<extra></extra>",
    ),
    "h_ind_bar": (
        "%{fullData.name}<br>%{text}<br>指标得分 %{y:.1f}（0–100）<br>原始值 %{customdata}<extra></extra>",
        "%{fullData.name}<br>%{text}<br>indicator score %{y:.1f} (0–100)<br>raw value %{customdata}<extra></extra>",
    ),
    "h_peer_median": (
        "%{text}<br>同类组（%{customdata}）中位数：%{y:.1f} 分<extra></extra>",
        "%{text}<br>median of peer group %{customdata}: %{y:.1f} points<extra></extra>",
    ),
    "h_contribution": (
        "%{y}<br>贡献 %{x:.{d}f} 分 · {ev}<br>指标得分 %{customdata[0]:.1f}，有效权重 %{customdata[1]:.1f}%<extra></extra>",
        "%{y}<br>contributes %{x:.{d}f} points · {ev}<br>indicator score %{customdata[0]:.1f}, effective weight %{customdata[1]:.1f}%<extra></extra>",
    ),
    "h_trend": (
        "考核期 %{x}<br>得分 %{y:.{d}f}<br>第 %{customdata[0]} / %{customdata[1]} 名 · %{customdata[2]}<extra></extra>",
        "period %{x}<br>score %{y:.{d}f}<br>rank %{customdata[0]} of %{customdata[1]} · %{customdata[2]}<extra></extra>",
    ),
    "h_satisfaction": (
        "%{y}<br>满意度指数 %{x:.1f}（95% 置信区间 %{customdata[0]:.1f}–%{customdata[1]:.1f}）<br>有效样本量 %{customdata[2]:.0f}<extra></extra>",
        "%{y}<br>satisfaction index %{x:.1f} (95% interval %{customdata[0]:.1f}–%{customdata[1]:.1f})<br>effective n %{customdata[2]:.0f}<extra></extra>",
    ),
    "h_exclusion": ("%{x}：剔除 %{y} 份问卷<extra></extra>", "%{x}: %{y} responses excluded<extra></extra>"),
    "h_weight_declared": ("%{y}<br>申报权重 %{x:.1f}%<extra></extra>", "%{y}<br>declared weight %{x:.1f}%<extra></extra>"),
    "h_weight_effective": (
        "%{y}<br>有效权重（留痕政策之后）%{x:.1f}%<extra></extra>",
        "%{y}<br>effective weight (after the trace policy) %{x:.1f}%<extra></extra>",
    ),
    "h_rank_scatter": (
        "%{text}<br>按申报权重第 %{x} 名 → 按有效权重第 %{y} 名<extra></extra>",
        "%{text}<br>rank %{x} under declared weights → %{y} under effective weights<extra></extra>",
    ),
    "h_limit": ("{name}<br>有效样本量 %{x:.0f} 时：%{y:.1f}<extra></extra>", "{name}<br>at effective n %{x:.0f}: %{y:.1f}<extra></extra>"),
    "h_centre": ("总体水平：%{y:.1f}<extra></extra>", "overall level: %{y:.1f}<extra></extra>"),
    "h_funnel_point": (
        "%{text}<br>满意度指数（未收缩）%{y:.1f}<br>有效样本量 %{x:.0f}<extra></extra>",
        "%{text}<br>satisfaction index (unshrunk) %{y:.1f}<br>effective n %{x:.0f}<extra></extra>",
    ),
    "trend_axis": (
        "纵轴至少覆盖总分量程的五分之一（百分制下 20 分），小幅波动不会被放大成“断崖”。",
        "The vertical axis spans at least a fifth of the score scale (20 points on 0–100), so a "
        "small dip does not look like a collapse.",
    ),
    # sensitivity
    "sens_title": ("敏感性：排名有多可靠", "Sensitivity: how firm is each rank"),
    "sens_none": (
        "本次运行没有计算不确定性，因此没有排名区间。计算方法：\n\n"
        "```\nevaluator score --db DB --scheme SCHEME --period {period} --uncertainty\n```\n"
        "（对问卷受访者重抽样并在权重不确定范围内模拟，得到每个单位的得分与排名区间。）",
        "This run computed no uncertainty, so there are no rank intervals. To compute them:\n\n"
        "```\nevaluator score --db DB --scheme SCHEME --period {period} --uncertainty\n```\n"
        "(resamples survey respondents and simulates weight uncertainty to give every unit a score "
        "and rank interval).",
    ),
    "sens_chart": ("排名区间", "Rank intervals"),
    "sens_params": ("计算参数", "Settings used"),
    "sens_own_summary": (  # a unit user sees its own interval only
        "本单位排名 {rank}，名次区间 {low}–{high}（宽 {width} 名）。",
        "Your unit ranks {rank}, within an interval of {low}–{high} ({width} places wide).",
    ),
    "sens_summary": (
        "中位排名区间宽度 {median:.0f} 名；{firm} 个单位的名次区间宽度不超过 2 名。",
        "Median rank interval width {median:.0f} places; {firm} unit(s) have an interval of at most "
        "2 places.",
    ),
    # columns
    "c_rank": _field("rank"),
    "c_rank_interval": ("排名区间", "Rank interval"),
    "c_prev_score": ("上期得分", "Last period's score"),
    "c_prev_rank": ("上期排名", "Last period's rank"),
    "c_score_change": ("得分变化", "Score change"),
    "c_rank_change": ("名次变化（+ 为上升）", "Rank change (+ = up)"),
    "c_parent": ("上级单位", "Parent unit"),
    "c_unit_id": _field("unit_id"),
    "c_unit_name": _field("unit_name"),
    "c_unit_type": _field("unit_type_name"),
    "c_peer_group": _field("peer_group_name"),
    "c_score": _field("score"),
    "c_grade": _field("grade_name"),
    "c_flags": _field("flag_names"),
    "c_coverage": _field("coverage"),
    "c_dimension": _field("dimension_name"),
    "c_indicator": _field("indicator_name"),
    "c_evidence": _field("evidence_name"),
    "c_raw_value": _field("raw_value"),
    "c_rule": _field("rule_name"),
    "c_ind_score": ("指标得分", "Indicator score"),
    "c_declared_weight": _field("declared_weight"),
    "c_weight": _field("effective_weight"),
    "c_contribution": _field("contribution"),
    "c_imputed": _field("imputed"),
    "c_period": _field("period"),
    "c_responses": _field("responses"),
    "c_valid": _field("valid"),
    "c_effective_n": _field("effective_n"),
    "c_index": _field("index_value"),
    "c_ci": ("95% 置信区间", "95% interval"),
    "c_small_sample": _field("small_sample"),
    "c_reason": ("原因", "Reason"),
    "c_count": ("份数", "Responses"),
    "c_flag": _field("flag_name"),
    "c_evidence_text": _field("evidence_text"),
    "c_severity": _field("severity_name"),
    "c_lint_rule": _field("lint_rule_name"),
    "c_message": _field("message"),
    "c_change": ("变化", "Change"),
    "c_source": ("数据", "Data"),
    "c_indicators": ("指标", "Indicators"),
    "c_rank_declared": _field("rank_declared"),
    "c_rank_gain": ("名次变化", "Rank gain"),
    "c_score_declared": _field("score_declared"),
    "c_batch": ("批次", "Batch"),
    "c_kind": ("类型", "Kind"),
    "c_file": ("文件", "File"),
    "c_status": _field("status_name"),
    "c_rows": ("行数", "Rows"),
    "c_loaded_at": ("导入时间", "Loaded at"),
    "c_missing_status": ("情况", "Status"),
    "c_units": ("单位数", "Units"),
    "c_score_interval": ("得分区间", "Score interval"),
    "c_hours": ("小时/年", "Hours per year"),
    "c_spread": ("区间宽度", "Width"),
    "c_policy": _field("missing_policy_name"),
    "c_source_kind": ("来源", "Source"),
    "c_item": ("指标数据 / 问卷题目", "Measure / question"),
    "c_with_data": ("有数据的单位", "Units with data"),
    "c_without_data": ("缺数据的单位", "Units without"),
    "coverage_title": ("已导入数据的覆盖情况（尚无考核运行）", "What the loaded data covers (no run yet)"),
    "coverage_note": (
        "按考核期列出每项成效数据和问卷题目有数据的单位数；计分后本页按方案逐个单位、逐个指标列出缺失。",
        "Units with a value for each measure and survey question, by period; once scored, this "
        "page lists the missing unit–indicator pairs of the run's scheme.",
    ),
    "no_rows": ("没有符合条件的记录。", "No rows match."),
    # domain labels (roles; coded values come through `value_label`) from the one catalogue
    **{f"role_{code}": (lab.zh, lab.en) for code, lab in CATALOGUE[Group.role].items()},
    # scheme health: one form for all (evaluator forms --report)
    "of_title": ("一表报送：各方案重复索取的数据与报送负担", "One form for all: data asked twice across schemes, and the reporting burden"),
    "of_caption": (
        "比较本期间已计分的方案：{schemes}。数据目录：{registry}。“之前”为各方案各自采集（按申报的频次与每次分钟数），“之后”为每年一张采集表、每项数据只填一次（evaluator forms），从已有系统读取的数据不再由单位填报。",
        "Compares the schemes scored for this period: {schemes}. Measure registry: {registry}. "
        "“Before” is each scheme collecting its own (declared frequency and minutes per report); "
        "“after” is one form a year asking each figure once (evaluator forms); figures read from "
        "existing systems are no longer reported by the units.",
    ),
    "of_no_registry": ("无（所有申报了填报工作量的数据项均按单位填报计）", "none (every measure with declared reporting work counts as unit-reported)"),
    "of_single": (
        "本期间只对一个方案计分。对其他部门的方案计分（如 indicators/discipline_township.yaml）后，这里显示跨方案的重复与节省。",
        "Only one scheme was scored for this period. Score other offices' schemes (e.g. "
        "indicators/discipline_township.yaml) to see the overlap and savings across schemes.",
    ),
    "of_forms": ("每单位每年报表份数（之前 → 之后）", "Forms per unit per year (before → after)"),
    "of_fields": ("每单位每年填报项（之前 → 之后）", "Fields per unit per year (before → after)"),
    "of_hours": ("每单位每年填报小时（之前 → 之后）", "Hours per unit per year (before → after)"),
    "of_hours_value": ("{before:.1f} → {after:.1f} 小时", "{before:.1f} → {after:.1f} h"),
    "of_saved": ("{n} 个单位每年共节省约 {h:,.0f} 小时。", "{n} units save about {h:,.0f} hours a year in all."),
    "of_measures": ("各数据项：谁在索取、多久一次、一张表之后", "Each measure: who asks, how often, and with one form"),
    "of_repeated": ("被多个指标索取的数据（逐项比较）", "Data requested by several indicators (item by item)"),
    "of_excess": ("报送频次高于计分所需（计分每年只用一个值）", "Reported more often than scoring uses (one value a year)"),
    "c_measure": ("数据项", "Measure"),
    "c_measure_name": _field("name"),
    "c_origin": ("来源", "Origin"),
    "c_schemes": ("索取方案", "Schemes asking"),
    "c_requests": ("索取次数", "Requests"),
    "c_reports_before": ("之前：年报送次数", "Before: reports/year"),
    "c_reports_after": ("之后：年报送次数", "After: reports/year"),
    "c_hours_before": ("之前：小时/年", "Before: hours/year"),
    "c_hours_after": ("之后：小时/年", "After: hours/year"),
    "c_scheme": ("方案", "Scheme"),
    "c_frequency": ("频次", "Frequency"),
    "c_reports": ("年报送次数", "Reports/year"),
    "c_excess": ("多余次数", "Excess reports"),
    "c_disclosure": ("公开情况", "Disclosure"),
    # scheme editor (dashboards/views/scheme_editor.py)
    "page_editor": ("方案编辑", "Scheme editor"),
    "se_open": ("打开方案", "Open a scheme"),
    "se_open_button": ("打开", "Open"),
    "se_blank": ("空白方案", "Blank scheme"),
    "se_saved_version": ("已保存版本：{id} v{version}（{author}，{time}）", "Saved version: {id} v{version} ({author}, {time})"),
    "se_open_failed": ("无法打开：{error}", "Cannot open: {error}"),
    "se_upload": ("或上传填好的方案模板（.xlsx）", "Or upload a filled scheme template (.xlsx)"),
    "se_upload_failed": ("上传的模板有 {n} 处错误，未载入：", "The uploaded template has {n} error(s) and was not loaded:"),
    "se_based_on": ("草稿来源：{origin}", "Draft opened from: {origin}"),
    "se_download": ("下载方案模板（.xlsx）", "Download the scheme template (.xlsx)"),
    "se_invalid": ("草稿有 {n} 处错误，修改后才能预览和保存：", "The draft has {n} error(s); fix them to preview and save:"),
    "se_valid": ("草稿有效：{n} 项指标。", "The draft is valid: {n} indicators."),
    "se_m_indicators": ("指标数", "Indicators"),
    "se_m_trace": ("留痕权重（申报→计分）", "Trace weight (declared → effective)"),
    "se_m_burden": ("每单位每年报送工时", "Reporting hours per unit per year"),
    "se_m_reports": ("每单位每年报送次数", "Reports per unit per year"),
    "se_m_lint": ("严重问题 / 全部提示", "Errors / all findings"),
    "se_findings": ("形式主义检查（{n} 项）", "Formalism lint ({n} findings)"),
    "se_weights": ("申报权重与有效权重（%）", "Declared vs effective weights (%)"),
    "se_node": ("节点", "Node"),
    "se_kind": ("类型", "Kind"),
    "se_declared": ("申报权重 %", "Declared %"),
    "se_effective": ("有效权重 %", "Effective %"),
    "se_row": ("第 {n} 行", "row {n}"),
    "se_tab_tree": ("指标体系", "Indicators"),
    "se_tab_settings": ("方案设置", "Settings"),
    "se_tab_grades": ("等次", "Grades"),
    "se_tab_items": ("否决与加减分", "Vetoes, bonuses, deductions"),
    "se_tab_preview": ("影响预览", "What would change"),
    "se_tab_save": ("保存与版本", "Save and versions"),
    "se_problems": ("问题", "Problems"),
    "se_setting": ("设置项", "Setting"),
    "se_meaning": ("含义", "Meaning"),
    "se_value": ("值", "Value"),
    "se_all_columns": ("显示全部列（计分参数、数据转换、检查屏蔽等）", "Show every column (rule parameters, transforms, lint silencing …)"),
    "se_edit_one": ("修改一项指标", "Edit one indicator"),
    "se_indicator": ("指标", "Indicator"),
    "se_weight": ("权重（分值）", "Weight (points)"),
    "se_parent": ("所属维度", "Dimension"),
    "se_apply": ("应用", "Apply"),
    "se_up": ("上移", "Move up"),
    "se_down": ("下移", "Move down"),
    "se_remove": ("删除", "Remove"),
    "se_add_one": ("新增指标", "Add an indicator"),
    "se_new_id": ("编号（英文字母、数字、下划线）", "Id (letters, digits, _)"),
    "se_add": ("新增", "Add"),
    "se_preview_help": (
        "用最新载入的数据按草稿计分（只读，不保存任何结果），与当前选定的考核运行对比名次和等次。",
        "Scores the latest loaded data with the draft (read-only; nothing is stored) and compares ranks and grades with the selected run.",
    ),
    "se_preview_invalid": ("先修正草稿中的错误。", "Fix the draft's errors first."),
    "se_preview_no_run": ("还没有可对比的考核运行：先计分一次。", "There is no run to compare with yet: score once first."),
    "se_preview_button": ("按草稿试算", "Score the draft"),
    "se_pv_units": ("单位数", "Units"),
    "se_pv_grades": ("等次变化的单位", "Units changing grade"),
    "se_pv_moved": ("名次变化的单位", "Units changing rank"),
    "se_pv_time": ("试算耗时", "Preview time"),
    "se_pv_reused": ("复用指标得分，仅重新合成", "indicator scores reused, aggregation only"),
    "se_pv_rescored": ("复用其余指标得分，重算 {n} 个指标", "indicator scores reused, {n} indicators rescored"),
    "se_pv_rescored_one": ("复用其余指标得分，重算 {n} 个指标", "indicator scores reused, {n} indicator rescored"),
    "se_pv_full": ("从数据完整计算", "computed from the data"),
    "se_c_unit_id": _field("unit_id"),
    "se_c_unit_name": _field("unit_name"),
    "se_c_rank_run": ("当前名次", "Rank now"),
    "se_c_rank_draft": ("草稿名次", "Draft rank"),
    "se_c_rank_move": ("名次变化（+为上升）", "Rank move (+ is up)"),
    "se_c_grade_run": ("当前等次", "Grade now"),
    "se_c_grade_draft": ("草稿等次", "Draft grade"),
    "se_c_score_run": ("当前得分", "Score now"),
    "se_c_score_draft": ("草稿得分", "Draft score"),
    "se_save_help": ("另存为新版本：写入方案文件夹 {folder}（不会覆盖已有文件），并记入版本记录。", "Save as a new version: written to the schemes folder {folder} (never over an existing file) and recorded in the version log."),
    "se_save_invalid": ("草稿有错误，不能保存。", "The draft has errors and cannot be saved."),
    "se_save_no_db": ("看板未指定数据库（--db），无法记录版本。", "The dashboard has no database (--db), so versions cannot be recorded."),
    "se_version": ("版本号", "Version"),
    "se_note": ("修改说明", "Note"),
    "se_save_button": ("另存为新版本", "Save as a new version"),
    "se_saved": ("已保存：{path}（SHA-256 {sha}…）", "Saved: {path} (SHA-256 {sha}…)"),
    "se_versions": ("已保存的版本", "Saved versions"),
    "se_no_versions": ("还没有保存过版本。", "No version saved yet."),
    "se_c_vid": ("序号", "No."),
    "se_c_scheme": ("方案", "Scheme"),
    "se_c_author": ("保存人", "Author"),
    "se_c_time": ("保存时间（UTC）", "Saved at (UTC)"),
    "se_c_file": ("文件", "File"),
    "se_diff_old": ("对比：旧版本", "Compare: older version"),
    "se_diff_new": ("新版本", "newer version"),
    "se_same": ("两个版本内容相同。", "The two versions are identical."),
    "rw_title": ("结果提示：计算无误但可能误导的结果", "Run warnings: results that are right but may mislead"),
    "rw_caption": ("随本次计分保存，命令行计分时已打印，导出的方法说明与 manifest.json 中也有。", "Stored with the run, printed by `evaluator score`, and listed in exports' methodology sheet and manifest.json."),
    "rw_none": ("本次计分没有需要提示的情况（无常数指标、无截断的 z 分数、无缺失重分配权重、无低覆盖单位）。", "Nothing in this run needs a warning (no constant indicator, clamped z-score, reweighting for missing data, or unit on low coverage)."),
    "rw_all": ("查看全部 {n} 条提示", "All {n} warnings"),
    "c_warning": ("提示类型", "Warning"),
    # sensitivity: bootstrap, weight Monte-Carlo, leave-one-out (evaluator uncertainty)
    "sens_boot_caption": (
        "自助法：{replicates} 次重复抽样（受访者在本单位内重抽样，并按方案申报的测量误差抽取成效数据），置信水平 {level:.0%}，随机种子 {seed}。区间为重复样本的百分位区间；排名区间通常偏窄（见方法说明）。",
        "Bootstrap: {replicates} replicates (respondents resampled within their unit, outcome "
        "data drawn from their declared measurement error), level {level:.0%}, seed {seed}. "
        "Intervals are percentiles of the replicates; rank intervals tend to be too narrow "
        "(see the methodology).",
    ),
    "sens_ci_caption": (
        "区间来自问卷满意度指数的 95% 置信区间（未做自助法）。运行 `evaluator uncertainty --run {run}` 可得到自助法区间、梯队与权重敏感性。",
        "Intervals from the survey indices' 95% confidence bounds (no bootstrap). Run "
        "`evaluator uncertainty --run {run}` for bootstrap intervals, tiers and weight sensitivity.",
    ),
    "sens_weights": ("权重敏感性（蒙特卡洛）", "Weight sensitivity (Monte-Carlo)"),
    "sens_weights_caption": (
        "{draws} 次抽取：每个权重在申报值 ±{range:.0%} 内{kind}变动{agg}。中位排名与 5%–95% 排名范围；等次稳定性为保持本次等次的抽取比例，≥{firm:.0%} 视为稳健。",
        "{draws} draws: each weight varies within ±{range:.0%} of its declared value{kind}{agg}. "
        "Median rank and 5–95% rank range; grade stability is the share of draws keeping the "
        "run's grade, firm at ≥ {firm:.0%}.",
    ),
    "sens_kind_dirichlet": ("（按狄利克雷分布围绕申报份额）", " (Dirichlet around the declared shares)"),
    "sens_kind_uniform": ("（均匀分布）", " (uniformly)"),
    "sens_agg_varied": ("，各维度随机采用算术或几何平均", ", and each dimension is aggregated arithmetically or geometrically at random"),
    "sens_agg_fixed": ("，各维度按方案规定的方式合成", ", each dimension aggregated as the scheme says"),
    "sens_firm_summary": (
        "{firm} 个单位的等次稳健；{dependent} 个单位的等次取决于权重的选择。",
        "{firm} unit(s) have a firm grade; {dependent} unit(s) have a grade that depends on the "
        "choice of weights.",
    ),
    "sens_loo": ("逐一去掉指标", "Leave one indicator out"),
    "sens_loo_caption": (
        "去掉一个指标（其余权重不变）后排名的变化：平均与最大名次变动、与本次排名的斯皮尔曼相关系数。",
        "How the ranking moves when one indicator is dropped (other weights as declared): mean "
        "and largest change of rank, Spearman correlation with the run's ranking.",
    ),
    "sens_grade_probs": ("各等次概率（自助法）", "Probability of each grade (bootstrap)"),
    "c_tier": ("梯队", "Tier"),
    "c_tier_grade": ("按梯队等次", "Grade by tier"),
    "c_p_top10": ("前 10% 概率", "P(top 10%)"),
    "c_p_bottom10": ("后 10% 概率", "P(bottom 10%)"),
    "c_rank_median": ("中位排名", "Median rank"),
    "c_rank_range": ("排名 5%–95%", "Rank 5–95%"),
    "c_grade_stability": ("等次稳定性", "Grade stability"),
    "c_firm": ("等次稳健", "Firm grade"),
    "c_mean_abs_rank_change": ("平均名次变动", "Mean |Δrank|"),
    "c_max_abs_rank_change": ("最大名次变动", "Largest |Δrank|"),
    "c_spearman": ("斯皮尔曼相关", "Spearman ρ"),
    "c_indicator_id": ("指标", "Indicator"),
    # unit profile: value-added beside the raw score (docs/fairness.md)
    "va_title": ("增值评价与同类比较", "Value-added and peer comparison"),
    "va_note": (
        "“预期得分”为与本单位情况相同（方案声明的背景因素：{covariates}）的单位按全体单位最小二乘拟合应得的分数；"
        "增值 = 实际得分 − 预期得分，正值表示好于同等条件的单位。考核结果仍以实际得分为准。",
        "“Expected” is the score of a unit in the same context (the scheme's declared covariates: "
        "{covariates}), fitted across all units by least squares; value-added = actual − expected, "
        "positive when the unit does better than units like it. The actual score remains the score "
        "of record.",
    ),
    "va_peers_only": (
        "本方案未声明背景因素，只给出同类单位中的排名与中位数。",
        "The scheme declares no context covariates: only the rank and median within the peer group "
        "are shown.",
    ),
    "c_va_observed": ("实际得分", "Actual score"),
    "c_va_expected": ("预期得分", "Expected score"),
    "c_value_added": ("增值", "Value-added"),
    "c_peer": ("同类组", "Peer group"),
    "c_peer_rank": ("组内排名", "Rank in group"),
    "c_peer_units": ("组内单位数", "Units in group"),
    "c_peer_median": ("组内中位数", "Group median"),
    "cov_population": ("人口", "population"),
    "cov_log_population": ("人口（对数）", "population (log)"),
    "cov_peer_group": ("同类组", "peer group"),
    "cov_unit_type": ("单位类型", "unit type"),
    "cov_parent_id": ("上级单位", "parent unit"),
    "cov_population_band": ("人口规模段", "population band"),
}


def lang() -> str:
    value = remembered("lang")
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, **values: Any) -> str:
    zh, en = L[key]
    text = zh if lang() == "zh" else en
    return text.format(**values) if values else text


def counted(key: str, n: int) -> str:
    """`n` with its noun, singular when n is 1 (`key_one`), e.g. "1 load batch", "3 load batches"."""
    return t(f"{key}_one" if n == 1 and f"{key}_one" in L else key, n=f"{n:,}")


# The catalogue's code lists the pages name by a short word; "" searches UNNAMED in order.
GROUPS: dict[str, Group] = {
    "rule": Group.rule,
    "kind": Group.batch_kind,
    "policy": Group.missing_policy,
    "source": Group.source,
    "origin": Group.measure_origin,
    "freq": Group.frequency,
    "unit_type": Group.unit_type,
    "peer_group": Group.peer_group,
}
UNNAMED = (Group.evidence, Group.flag, Group.severity, Group.exclusion, Group.batch_status,
           Group.value_status, Group.boolean)


def value_label(value: str | None, group: str = "") -> str:
    """A stored code (evidence, flag, status, reason, scoring rule…) in the reader's language,
    from the label catalogue (`evaluator.labels`).

    `group` names the code list when the same code means different things (`rule`: scoring
    rules, `kind`: load batch kinds, `policy`: missing-data rules). Unknown codes stay as they are.
    """
    if value is None:
        return ""
    for g in (GROUPS[group],) if group else UNNAMED:
        if value in CATALOGUE[g]:
            return label(g, value, lang())
    return value


def ensure_lang() -> str:
    """Start a session in the language the URL asks for (`?lang=en`), else Chinese; afterwards
    the session's choice wins (page navigation clears the URL, never the choice)."""
    if remembered("lang") not in LANGS:
        wanted = st.query_params.get("lang", DEFAULT_LANG)
        remember("lang", wanted if wanted in LANGS else DEFAULT_LANG)
    return lang()


def language_switch() -> None:
    """The zh/en switch, shown in the sidebar of every page; kept in the URL so reloads keep it."""
    ensure_lang()
    st.sidebar.radio(
        L["language"][0],
        options=list(LANGS),
        format_func=LANGS.__getitem__,
        horizontal=True,
        **prepare("lang", lang(), lambda v: v in LANGS),
    )
    to_url("lang", lang())
