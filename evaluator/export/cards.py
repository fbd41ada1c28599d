"""Per-unit report cards (考核结果通知单): one printable, self-contained HTML page per unit.

Each card shows the unit's score, grade, rank and interval, a dimension radar against its peer
group's median, its strengths and weaknesses, the full indicator table, its flags and appeals,
and how the scheme keeps paperwork from counting. The data come from two set-based queries over
the whole run (`card_indicators`, `card_dimensions`); rendering is per unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from hashlib import sha1
from pathlib import Path
from typing import Any

import polars as pl

from evaluator.export.html import CARD_CSS, e, grade_class, measured, num, page, pct, radar_svg
from evaluator.export.tables import ExportContext, appeal_line, card_units, frame, lint_warning

T: dict[str, tuple[str, str]] = {
    "title": ("年度考核结果通知单", "Annual assessment report card"),
    "score": ("综合得分", "Score"),
    "grade": ("等次", "Grade"),
    "rank": ("排名", "Rank"),
    "peer_rank": ("同类组内排名", "Rank in peer group"),
    "interval": ("区间", "interval"),
    "of": ("共 {n} 个单位", "of {n} units"),
    "coverage": ("数据覆盖率", "Data coverage"),
    "adjust": ("加分 / 扣分", "Bonus / deduction"),
    "veto": (
        "一票否决：{item}（等次最高为“{cap}”）",
        "Veto: {item} (the grade can be at most “{cap}”)",
    ),
    "radar": ("各维度得分", "Dimension scores"),
    "unit": ("本单位", "This unit"),
    "peer_median": ("同类组中位数", "Peer median"),
    "strengths": ("优势（高于同类组中位数）", "Strengths (above peer median)"),
    "weaknesses": ("短板（低于同类组中位数）", "Weaknesses (below peer median)"),
    "none": ("无", "none"),
    "indicators": ("指标明细", "Indicator breakdown"),
    "dimension": ("维度", "Dimension"),
    "indicator": ("指标", "Indicator"),
    "evidence": ("证据类型", "Evidence"),
    "raw": ("原始值", "Raw value"),
    "ind_score": ("得分", "Score"),
    "median": ("组中位数", "Peer median"),
    "weight": ("权重", "Weight"),
    "contribution": ("贡献分", "Contribution"),
    "contribution_note": (
        "贡献分保留 {d} 位小数以便核对，合计即加权基础分；综合得分在此基础上计入加减分与否决，"
        "并保留 {sd} 位小数。",
        "Contributions are shown to {d} decimals so they can be checked; they add up to the "
        "weighted base score, to which bonus, deduction and veto are applied and which is then "
        "rounded to {sd} decimals for the score.",
    ),
    "total": ("合计（加权基础分）", "Total (weighted base score)"),
    "flags": ("预警提示", "Flags"),
    "appeals": ("申诉", "Appeals"),
    "appeal_how": (
        "如对本通知单中任一行（数值、缺失数据或事项）有异议，可向考核办提出申诉，注明运行编号 "
        "{run}、"
        "单位编码和指标或事项编码及理由（evaluator appeals file）。",
        "To contest any line of this card (a value, a missing datum or an event), file an "
        "appeal with "
        "the assessment office naming run {run}, your unit id and the indicator or event id, "
        "with a "
        "reason (evaluator appeals file).",
    ),
    "paperwork": ("本方案如何减少留痕负担", "How this scheme limits paperwork"),
    "paperwork_text": (
        "留痕类指标（只证明开会、发文、打卡、拍照等活动发生过）申报权重合计 {declared}，"
        "经留痕权重政策调整后实际计分权重 {effective}。未关联任何成效指标的纯留痕指标按 {factor} "
        "倍计权，"
        "留痕类合计不超过 {cap}，腾出的权重转给成效和群众满意度指标。",
        "Trace indicators (which only prove that meetings, documents, check-ins or photos "
        "happened) "
        "were declared at {declared} of the weight and count for {effective} after the trace "
        "policy. "
        "Trace-only indicators (linked to no outcome) are weighted ×{factor}, traces together are "
        "capped at {cap}, and the weight freed goes to outcome and satisfaction indicators.",
    ),
    "imputed": ("插补", "imputed"),
    "suppressed": ("已隐去", "suppressed"),
    "suppressed_note": (
        "标“已隐去”的满意度结果有效问卷少于 {min} 份，为保护受访者不予公开（综合得分照常计入）。",
        'Satisfaction results marked "suppressed" rest on fewer than {min} valid responses and '
        "are withheld to protect respondents (they still count in the score).",
    ),
    "missing": ("缺失", "missing"),
    "footer": (
        "运行 {run} · 方案 {scheme} {version}（SHA-256 {hash}…）· 生成于 {at}",
        "Run {run} · scheme {scheme} {version} (SHA-256 {hash}…) · generated {at}",
    ),
}


CHUNK_UNITS = 1000


def t(key: str, lang: str, **values: object) -> str:
    zh, en = T[key]
    return (zh if lang == "zh" else en).format(**values)


def safe_name(unit_id: str) -> str:
    """A file name for a unit id; ids with other characters get a short hash to stay unique."""
    if re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", unit_id) and unit_id not in (".", ".."):
        return unit_id
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]", "_", unit_id)[:60].strip(".") or "unit"
    return f"{cleaned}-{sha1(unit_id.encode('utf-8')).hexdigest()[:8]}"


def write_cards(
    ctx: ExportContext,
    out_dir: Path,
    advance: Callable[[str, int], None] = lambda _label, _n: None,
    only_unit: str | None = None,
) -> list[Path]:
    """One card per unit in `out_dir` (in ctx.lang), or only `only_unit`'s (a unit's export);
    returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = frame(ctx, "summary")
    common = _common(ctx, summary)  # counts and medians over every unit, as on every card
    if only_unit is not None:
        summary = summary.filter(pl.col("unit_id") == only_unit)
    flags = frame(ctx, "flags").partition_by("unit_id", as_dict=True)
    appeals = (
        ctx.appeals if ctx.appeals is not None else pl.DataFrame(schema={"unit_id": pl.String})
    ).partition_by("unit_id", as_dict=True)
    written = []
    # a chunk of units at a time: 20,000 cards never hold the whole breakdown in memory
    for chunk in summary.iter_slices(CHUNK_UNITS):
        card_units(ctx, chunk["unit_id"])
        indicators = frame(ctx, "card_indicators")
        empty_ind = indicators.clear()
        by_unit = indicators.partition_by("unit_id", as_dict=True)
        dimensions = frame(ctx, "card_dimensions").partition_by("unit_id", as_dict=True)
        for unit in chunk.iter_rows(named=True):
            key = (unit["unit_id"],)
            html = render_card(
                ctx,
                unit,
                by_unit.get(key, empty_ind),
                dimensions.get(key),
                flags.get(key),
                appeals.get(key),
                common,
            )
            path = out_dir / f"{safe_name(unit['unit_id'])}.html"
            path.write_text(html, encoding="utf-8")
            written.append(path)
        advance("cards", chunk.height)
    return written


def _common(ctx: ExportContext, summary: pl.DataFrame) -> dict[str, Any]:
    """What every card repeats: unit counts, peer-group sizes, the paperwork note, the footer."""
    lang = ctx.lang
    w = frame(ctx, "weight_by_evidence")
    trace = w.filter(pl.col("evidence") == "trace")
    declared = float(trace["declared_weight"].sum()) if trace.height else 0.0
    effective = float(trace["effective_weight"].sum()) if trace.height else 0.0
    tp = ctx.scheme.trace_policy if ctx.scheme else None
    peer_sizes = dict(summary.group_by("peer_group").len().iter_rows())
    r = ctx.run
    return {
        "n": summary.height,
        "peer_sizes": peer_sizes,
        "codes": [g.code for g in ctx.scheme.grades] if ctx.scheme else [],
        "veto_caps": _veto_caps(ctx),
        "decimals": ctx.scheme.scale.decimals if ctx.scheme else 2,
        "paperwork": t(
            "paperwork_text",
            lang,
            declared=pct(declared),
            effective=pct(effective),
            factor=tp.trace_only_factor if tp else "—",
            cap=pct(tp.max_share) if tp else "—",
        ),
        "warning": lint_warning(ctx) if r.lint_errors else None,
        "footer": t(
            "footer",
            lang,
            run=r.run_id,
            scheme=r.scheme_id,
            version=r.scheme_version or "",
            hash=r.scheme_hash[:12],
            at=ctx.generated_at.isoformat(),
        ),
    }


def _veto_caps(ctx: ExportContext) -> dict[str, str]:
    """Each veto item's grade cap, by the grade's name in the card's language."""
    if ctx.scheme is None:
        return {}
    names = {g.code: g.name.get(ctx.lang) for g in ctx.scheme.grades}
    return {v.id: names.get(v.max_grade, v.max_grade) for v in ctx.scheme.vetoes}


def render_card(
    ctx: ExportContext,
    unit: dict[str, Any],
    ind: pl.DataFrame,
    dims: pl.DataFrame | None,
    flags: pl.DataFrame | None,
    appeals: pl.DataFrame | None,
    common: dict[str, Any],
) -> str:
    """The HTML of one unit's card."""
    lang, r, d = ctx.lang, ctx.run, common["decimals"]
    name = unit["unit_name"] or unit["unit_id"]
    title = f"{t('title', lang)} · {name}"
    out = [
        f"<h1>{e(t('title', lang))}</h1>",
        f'<p class="sub"><b>{e(name)}</b> ({e(unit["unit_id"])}) · {e(unit["unit_type_name"])}'
        f"{' · ' + e(unit['peer_group_name']) if unit['peer_group'] else ''} · "
        f"{e(r.scheme_name(lang))} · {e(r.period)}</p>",
    ]
    if common["warning"]:
        out.append(f'<div class="warn" id="lint-warning">⚠ {e(common["warning"])}</div>')
    out.append(_kpis(unit, common, lang, d))
    if unit["veto"]:
        cap = common["veto_caps"].get(unit["veto"], "—")
        out.append(f'<div class="warn" id="veto">{e(t("veto", lang, item=unit["veto_name"], cap=cap))}</div>')
    out.append('<div class="cols"><div>')
    out.append(f"<h2>{e(t('radar', lang))}</h2>")
    if dims is not None and dims.height:
        hidden = f" ({t('suppressed', lang)})"
        out.append(
            radar_svg(
                [
                    str(x or y) + (hidden if h else "")
                    for x, y, h in zip(
                        dims["dimension_name"], dims["dimension_id"], dims["suppressed"], strict=True
                    )
                ],
                dims["score"].to_list(),
                dims["peer_median"].to_list(),
                (t("unit", lang), t("peer_median", lang)),
            )
        )
    out.append("</div><div>")
    out.append(_strengths(ind, lang))
    out.append("</div></div>")
    out.append(_indicator_table(ind, lang, d, unit["base_score"]))
    if flags is not None and flags.height:
        out.append(f"<h2>{e(t('flags', lang))}</h2><ul>")
        out += [
            f"<li><b>{e(name)}</b>{'：' if lang == 'zh' else ': '}{e(ev or '')}</li>"
            for name, ev in zip(flags["flag_name"], flags["evidence"], strict=True)
        ]
        out.append("</ul>")
    out.append('<div class="cols"><div>')
    out.append(f"<h2>{e(t('paperwork', lang))}</h2><p class='note'>{e(common['paperwork'])}</p>")
    out.append("</div><div>")
    out.append(f"<h2>{e(t('appeals', lang))}</h2>")
    if appeals is not None and appeals.height:
        out.append(
            "<ul>"
            + "".join(
                f"<li>#{a['appeal_id']} {e(appeal_line(a, lang == 'zh'))}</li>"
                for a in appeals.iter_rows(named=True)
            )
            + "</ul>"
        )
    out.append(f"<p class='note'>{e(t('appeal_how', lang, run=r.run_id))}</p>")
    out.append("</div></div>")
    out.append(f"<footer>{e(common['footer'])}</footer>")
    return page(title, "".join(out), lang, CARD_CSS)


def _kpis(unit: dict[str, Any], common: dict[str, Any], lang: str, d: int) -> str:
    score = num(unit["score"], d)
    if unit["score_low"] is not None and unit["score_high"] is not None:
        score += (
            f'<div class="l">{e(t("interval", lang))} {num(unit["score_low"], d)}–'
            f"{num(unit['score_high'], d)}</div>"
        )
    rank = f"{e(unit['rank'])}"
    rank_sub = t("of", lang, n=common["n"])
    if unit["rank_low"] is not None and unit["rank_high"] is not None:
        rank_sub += f" · {t('interval', lang)} {unit['rank_low']}–{unit['rank_high']}"
    grade = (
        f'<span class="grade {grade_class(unit["grade"], common["codes"])}">'
        f"{e(unit['grade_name'] or unit['grade'])}</span>"
    )
    peer_n = common["peer_sizes"].get(unit["peer_group"], common["n"])
    bonus, deduction = unit["bonus"] or 0, unit["deduction"] or 0  # both stored as points >= 0
    adjust = (f"{'+' if bonus else ''}{num(bonus, d)} / "  # no "−0.00" where nothing was deducted
              f"{'−' if deduction else ''}{num(deduction, d)}")
    cells = [
        (t("score", lang), f'<span id="score">{score}</span>'),
        (t("grade", lang), grade),
        (t("rank", lang), f'{rank}<div class="l">{e(rank_sub)}</div>'),
        (
            t("peer_rank", lang),
            f'{e(unit["peer_rank"])}<div class="l">{e(t("of", lang, n=peer_n))}</div>',
        ),
        (t("coverage", lang), pct(unit["coverage"])),
        (t("adjust", lang), f'<span class="small">{adjust}</span>'),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="l">{e(label)}</div><div class="v">{value}</div></div>'
            for label, value in cells
        )
        + "</div>"
    )


def _strengths(ind: pl.DataFrame, lang: str) -> str:
    out = []
    for key, col in (("strengths", "strength_rank"), ("weaknesses", "weakness_rank")):
        top = ind.filter(pl.col(col) <= 3).sort(col)
        out.append(f"<h2>{e(t(key, lang))}</h2>")
        if not top.height:
            out.append(f"<p class='note'>{e(t('none', lang))}</p>")
            continue
        cls = "up" if key == "strengths" else "down"
        out.append(
            "<ul>"
            + "".join(
                f"<li>{e(row['indicator_name'] or row['indicator_id'])}: {num(row['score'], 1)} "
                f"<span class='{cls}'>({row['vs_peer']:+.1f})</span></li>"
                for row in top.iter_rows(named=True)
            )
            + "</ul>"
        )
    return "".join(out)


def _indicator_table(ind: pl.DataFrame, lang: str, d: int, base: float | None) -> str:
    """Every indicator line; contributions get 2 more decimals than the scale so they add up."""
    head = ("indicator", "evidence", "raw", "ind_score", "median", "weight", "contribution")
    rows = []
    for row in ind.iter_rows(named=True):
        raw = measured(row["raw_value"]) if row["raw_value"] is not None else t("missing", lang)
        if row["suppressed"]:  # a small survey cell: withheld, and said so
            raw = t("suppressed", lang)
        elif row["imputed"]:
            raw += f" ({t('imputed', lang)})"
        rows.append(
            f"<tr{' class=suppressed' if row['suppressed'] else ''}>"
            f"<td>{e(row['indicator_name'] or row['indicator_id'])}</td>"
            f"<td>{e(row['evidence_name'] or '')}</td><td class='n'>{e(raw)}</td>"
            f"<td class='n'>{num(row['score'], 1)}</td><td "
            f"class='n'>{num(row['peer_median'], 1)}</td>"
            f"<td class='n'>{pct(row['weight'])}</td><td "
            f"class='n'>{num(row['contribution'], d + 2)}</td></tr>"
        )
    ths = "".join(f"<th{' class=n' if i > 1 else ''}>{e(t(h, lang))}</th>" for i, h in enumerate(head))
    total = (
        f"<tfoot><tr><th colspan='6'>{e(t('total', lang))}</th>"
        f"<th class='n' id='base-score'>{num(base, d + 2)}</th></tr></tfoot>"
    )
    hidden = ind.filter(pl.col("suppressed"))
    why = (  # in the same paragraph: the card still prints on one A4 page
        f" <span id='suppressed-note'>"
        f"{e(t('suppressed_note', lang, min=hidden['min_responses'][0]))}</span>"
        if hidden.height
        else ""
    )
    return (
        f"<h2>{e(t('indicators', lang))}</h2><table id='indicators'><thead><tr>{ths}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody>{total}</table>"
        f"<p class='note'>{e(t('contribution_note', lang, d=d + 2, sd=d))}{why}</p>"
    )
