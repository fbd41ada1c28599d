"""The leadership summary (领导摘要): one printable page per language on how the year went.

Grade distribution, top and bottom units with their intervals, biggest movers since the previous
period, show-off flags (high paperwork, weak results) and the scheme's own health (trace weight,
reporting burden, lint errors). Figures come from the same queries as the workbook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from evaluator.export.headers import sheet_name
from evaluator.export.html import COMPACT_CSS, e, grade_class, hbar, num, page, pct
from evaluator.export.runinfo import burden_hours
from evaluator.export.tables import ExportContext, frame, lint_warning

T: dict[str, tuple[str, str]] = {
    "title": ("年度考核结果领导摘要", "Leadership summary of annual results"),
    "units": ("{n} 个单位", "{n} units"),
    "grades": ("等次分布", "Grade distribution"),
    "top": ("前 {k} 名", "Top {k}"),
    "bottom": ("后 {k} 名", "Bottom {k}"),
    "unit": ("单位", "Unit"),
    "score": ("得分", "Score"),
    "rank": ("排名", "Rank"),
    "grade": ("等次", "Grade"),
    "interval": ("得分区间", "Score interval"),
    "rank_interval": ("排名区间", "Rank interval"),
    "movers": ("较上期变化最大（{prev} → {cur}）", "Biggest movers ({prev} → {cur})"),
    "no_movers": ("无上一期可比结果。", "No earlier period to compare with."),
    "change": ("变化", "Change"),
    "showoff": (
        "“干得好不如晒得好”预警：留痕多、实效弱",
        "Show-off flags: much paperwork, weak results",
    ),
    "no_showoff": ("本期无此类预警。", "No unit was flagged this period."),
    "why": ("依据", "Why"),
    "more_showoff": (
        "另有 {n} 个单位被标记，见工作簿“{sheet}”表及各单位通知单。",
        "{n} more unit(s) flagged: see the workbook's “{sheet}” sheet and their report cards.",
    ),
    "health": ("方案体检", "Scheme health"),
    "trace_share": (
        "留痕类指标权重（申报 → 实际计分）",
        "Trace indicator weight (declared → effective)",
    ),
    "burden": ("每单位每年填报负担（小时）", "Reporting burden per unit per year (hours)"),
    "n_ind": ("指标数", "Indicators"),
    "lint": ("方案严重问题数", "Scheme lint errors"),
    "no_interval": (
        "未计算不确定性区间（score --uncertainty）。",
        "Uncertainty intervals were not computed (score --uncertainty).",
    ),
    "footer": (
        "运行 {run} · 方案 {scheme}（SHA-256 {hash}…）· 生成于 {at}",
        "Run {run} · scheme {scheme} (SHA-256 {hash}…) · generated {at}",
    ),
}
TOP_K = 10
MOVERS_K = 5
LINT_ITEMS = 3  # lint errors named in the banner; the rest are counted
SHOWOFF_K = 5  # rows of the show-off table: the summary must stay one printed page


def t(key: str, lang: str, **values: object) -> str:
    zh, en = T[key]
    return (zh if lang == "zh" else en).format(**values)


def league_sizes(units: int, k: int = TOP_K) -> tuple[int, int]:
    """How many units the top and bottom lists show: at most `k` each, no unit in both."""
    return min(k, (units + 1) // 2), min(k, units // 2)


def write_summary(ctx: ExportContext, path: Path) -> Path:
    path.write_text(render_summary(ctx), encoding="utf-8")
    return path


def render_summary(ctx: ExportContext) -> str:
    lang, r = ctx.lang, ctx.run
    scores = frame(ctx, "summary")
    codes = (
        [g.code for g in ctx.scheme.grades]
        if ctx.scheme
        else sorted(c for c in scores["grade"].unique().to_list() if c is not None)
    )
    d = ctx.scheme.scale.decimals if ctx.scheme else 2
    out = [
        f"<h1>{e(t('title', lang))}</h1>",
        f"<p class='sub'>{e(r.scheme_name(lang))} · {e(r.period)} · "
        f"{e(t('units', lang, n=scores.height))}</p>",
    ]
    if r.lint_errors:
        warning = lint_warning(ctx, limit=LINT_ITEMS)
        out.append(f'<div class="warn" id="lint-warning">⚠ {e(warning)}</div>')
    out.append('<div class="cols"><div>')
    out.append(_grades(ctx, scores, codes, lang))
    out.append("</div><div>")
    out.append(_health(ctx, lang))
    out.append("</div></div>")
    ranked = scores.filter(pl.col("score").is_not_null())
    k_top, k_bottom = league_sizes(ranked.height)
    out.append('<div class="cols"><div>')
    out.append(_league(ranked.head(k_top), t("top", lang, k=k_top), codes, lang, d, "top"))
    out.append("</div><div>")
    if k_bottom:
        out.append(
            _league(
                ranked.tail(k_bottom).reverse(), t("bottom", lang, k=k_bottom), codes, lang, d, "bottom"
            )
        )
    out.append("</div></div>")
    if ranked.height and ranked["score_low"].null_count() == ranked.height:
        out.append(f"<p class='note'>{e(t('no_interval', lang))}</p>")
    out.append(_movers(ctx, lang, d))
    out.append(_showoff(ctx, scores, lang))
    out.append(
        "<footer>"
        + e(
            t(
                "footer",
                lang,
                run=r.run_id,
                scheme=r.scheme_id,
                hash=r.scheme_hash[:12],
                at=ctx.generated_at.isoformat(),
            )
        )
        + "</footer>"
    )
    return page(t("title", lang), "".join(out), lang, COMPACT_CSS)


def _grades(ctx: ExportContext, scores: pl.DataFrame, codes: list[str], lang: str) -> str:
    """Every grade of the scheme, best first, with its count (zero counts shown too)."""
    counts = scores.group_by("grade").len()
    names = {g.code: g.name.get(lang) for g in ctx.scheme.grades} if ctx.scheme else {}
    known = pl.DataFrame({"grade": codes}, schema={"grade": pl.String})
    extra = counts.filter(~pl.col("grade").is_in(codes)).select("grade")
    table = pl.concat([known, extra]).join(counts, on="grade", how="left", maintain_order="left")
    total = max(scores.height, 1)
    body = "".join(
        f"<tr><td><span class='grade {grade_class(code, codes)}'>{e(names.get(code, code))}"
        f"</span></td><td class='n'>{n or 0}</td><td class='n'>{pct((n or 0) / total)}</td>"
        f"<td>{hbar((n or 0) / total)}</td></tr>"
        for code, n in table.iter_rows()
    )
    return f"<h2>{e(t('grades', lang))}</h2><table id='grades'><tbody>{body}</tbody></table>"


def _health(ctx: ExportContext, lang: str) -> str:
    w = frame(ctx, "weight_by_evidence")
    trace = w.filter(pl.col("evidence") == "trace")
    declared = float(trace["declared_weight"].sum()) if trace.height else 0.0
    effective = float(trace["effective_weight"].sum()) if trace.height else 0.0
    burden = num(burden_hours(ctx.scheme), 1) if ctx.scheme else "—"
    rows = [
        (t("n_ind", lang), str(int(w["indicators"].sum()) if w.height else 0)),
        (t("trace_share", lang), f"{pct(declared)} → {pct(effective)}"),
        (t("burden", lang), burden),
        (t("lint", lang), str(ctx.run.lint_errors)),
    ]
    body = "".join(f"<tr><td>{e(k)}</td><td class='n'>{e(v)}</td></tr>" for k, v in rows)
    return f"<h2>{e(t('health', lang))}</h2><table id='health'><tbody>{body}</tbody></table>"


def _league(
    rows: pl.DataFrame, title: str, codes: list[str], lang: str, d: int, table_id: str
) -> str:
    head = "".join(
        f"<th{c}>{e(t(k, lang))}</th>"
        for k, c in (
            ("rank", " class=n"),
            ("unit", ""),
            ("score", " class=n"),
            ("interval", " class=n"),
            ("grade", ""),
        )
    )
    body = []
    for u in rows.iter_rows(named=True):
        interval = (
            f"{num(u['score_low'], d)}–{num(u['score_high'], d)}"
            if u["score_low"] is not None and u["score_high"] is not None
            else "—"
        )
        rank = str(u["rank"]) + (
            f" ({u['rank_low']}–{u['rank_high']})"
            if u["rank_low"] is not None and u["rank_high"] is not None
            else ""
        )
        body.append(
            f"<tr><td class='n'>{e(rank)}</td><td>{e(u['unit_name'] or u['unit_id'])}</td>"
            f"<td class='n'>{num(u['score'], d)}</td><td class='n'>{e(interval)}</td>"
            f"<td><span class='grade {grade_class(u['grade'], codes)}'>"
            f"{e(u['grade_name'] or u['grade'])}</span></td></tr>"
        )
    rows_html = "".join(body)
    table = (
        f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>"
    )
    return f"<h2>{e(title)}</h2>{table}"


def _movers(ctx: ExportContext, lang: str, d: int) -> str:
    m = frame(ctx, "movers")
    if not m.height:
        title = e(t("movers", lang, prev="—", cur=ctx.run.period))
        return f"<h2>{title}</h2><p class='note'>{e(t('no_movers', lang))}</p>"
    prev = m["previous_period"][0]
    up = m.filter(pl.col("score_change") > 0).head(MOVERS_K)
    down = m.filter(pl.col("score_change") < 0).sort("score_change").head(MOVERS_K)

    def table(rows: pl.DataFrame) -> str:
        body = "".join(
            f"<tr><td>{e(u['unit_name'] or u['unit_id'])}</td><td "
            f"class='n'>{num(u['previous_score'], d)} → "
            f"{num(u['score'], d)}</td><td class='n {'up' if u['score_change'] > 0 else 'down'}'>"
            f"{u['score_change']:+.{d}f}</td><td class='n'>{u['previous_rank']} → "
            f"{u['rank']}</td></tr>"
            for u in rows.iter_rows(named=True)
        )
        head = "".join(f"<th>{e(t(k, lang))}</th>" for k in ("unit", "score", "change", "rank"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    return (
        f"<h2>{e(t('movers', lang, prev=prev, cur=ctx.run.period))}</h2><div class='cols' "
        "id='movers'>"
        f"<div>{table(up)}</div><div>{table(down)}</div></div>"
    )


def _showoff(ctx: ExportContext, scores: pl.DataFrame, lang: str) -> str:
    """Show-off units, best rank first: rank, name and the evidence in this language only."""
    flags = (
        frame(ctx, "flags")
        .filter(pl.col("flag") == "show_off")
        .join(scores.select("unit_id", "unit_name", "score", "rank"), on="unit_id", how="left")
        .sort("rank", nulls_last=True)
    )
    out = [f"<h2>{e(t('showoff', lang))}</h2>"]
    if not flags.height:
        out.append(f"<p class='note'>{e(t('no_showoff', lang))}</p>")
        return "".join(out)
    rows: list[dict[str, Any]] = list(flags.head(SHOWOFF_K).iter_rows(named=True))
    head = (
        f"<th class='n'>{e(t('rank', lang))}</th><th>{e(t('unit', lang))}</th>"
        f"<th>{e(t('why', lang))}</th>"
    )
    out.append(
        f"<table id='showoff'><thead><tr>{head}</tr></thead><tbody>"
        + "".join(
            f"<tr><td class='n'>{e(u['rank'])}</td><td class='name'>{e(u['unit_name'] or u['unit_id'])}"
            f"</td><td class='note'>{e(u['evidence'] or '')}</td></tr>"
            for u in rows
        )
        + "</tbody></table>"
    )
    if flags.height > SHOWOFF_K:
        more = t("more_showoff", lang, n=flags.height - SHOWOFF_K, sheet=sheet_name("flags", lang))
        out.append(f"<p class='note'>{e(more)}</p>")
    return "".join(out)
