"""Shared pieces of the printable HTML outputs: page shell, CSS, numbers, inline SVG charts.

Everything is inline (no scripts, fonts or images fetched), so a card opens offline, prints on A4,
and is identical in every browser.
"""

from __future__ import annotations

import math
from html import escape

from evaluator.grades_palette import colour_of, grade_colour

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "WenQuanYi Micro Hei", "Segoe UI", Arial, sans-serif; color: #1b1b1b; margin: 0 auto;
       max-width: 190mm;
       font-size: 10.5pt; line-height: 1.45; -webkit-print-color-adjust: exact;
       print-color-adjust: exact; }
h1 { font-size: 17pt; margin: 0 0 2px; color: #1f4e78; }
h2 { font-size: 12pt; margin: 14px 0 6px; color: #1f4e78; border-bottom: 1px solid #c9d6e3;
     padding-bottom: 2px; }
.sub { color: #555; margin: 0 0 10px; }
.warn { border: 2px solid #c00000; background: #fff1f0; color: #7a0000; padding: 8px 10px;
        margin: 8px 0; border-radius: 4px; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.kpi { flex: 1 1 0; min-width: 28mm; border: 1px solid #c9d6e3; border-radius: 4px;
       padding: 6px 8px; }
.kpi .v { font-size: 16pt; font-weight: 700; overflow-wrap: anywhere; }
.kpi .l { color: #555; font-size: 9pt; }
.cols { display: flex; gap: 12px; align-items: flex-start; }
.cols > div { flex: 1 1 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border-bottom: 1px solid #e1e7ee; padding: 3px 5px; text-align: left;
         vertical-align: top; }
th { background: #eef3f8; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; }
tr { page-break-inside: avoid; }
.up { color: #1e7b34; } .down { color: #b00020; }
.grade { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 700;
         white-space: nowrap; }
.note { color: #444; font-size: 9pt; }
footer { margin-top: 14px; color: #777; font-size: 8pt; border-top: 1px solid #ddd;
         padding-top: 4px; }
@media print { .noprint { display: none; } h2 { page-break-after: avoid; } }
"""


def e(value: object) -> str:
    """HTML-escaped text; None shows as an em dash."""
    return "—" if value is None else escape(str(value))


def num(value: float | int | None, decimals: int | None = None) -> str:
    """A number for people: fixed decimals when given, else by magnitude."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 1 or a == 0:
        return f"{value:.2f}"
    return f"{value:.3f}"


def measured(value: float | int | None) -> str:
    """A measured value as people write it: counts without decimals (66, not 66.00), rates below
    1 with three significant digits (0.00598), the rest with at most two decimals (68.7)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def pct(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{decimals}f}%"


# A report card prints on one A4 page for a scheme of about twenty indicators.
CARD_CSS = """
@page { size: A4; margin: 9mm 12mm; }
body { line-height: 1.3; }
h1 { font-size: 16pt; }
h2 { margin: 7px 0 3px; }
ul { margin: 2px 0; }
.kpis { gap: 6px; margin: 6px 0; }
.kpi { flex: 1 1 auto; padding: 4px 7px; }
.kpi .v { font-size: 14pt; }
.kpi .v .grade { font-size: 12pt; }
.kpi .v .small { font-size: 10.5pt; }
.cols svg { max-height: 54mm; }
th, td { padding: 1px 5px; }
.warn { margin: 6px 0; padding: 5px 9px; }
footer { margin-top: 8px; }
"""

# The leadership summary is one printed A4 page: tighter margins, type and table rows.
COMPACT_CSS = """
@page { size: A4; margin: 9mm 10mm; }
body { font-size: 9.5pt; line-height: 1.3; max-width: 190mm; }
h1 { font-size: 15pt; }
h2 { font-size: 10.5pt; margin: 7px 0 3px; }
.sub { margin: 0 0 4px; }
.warn { padding: 4px 8px; margin: 4px 0; font-size: 8.5pt; }
table { font-size: 8.5pt; }
th, td { padding: 1px 4px; }
.grade { padding: 0 6px; }
.note { font-size: 8.5pt; margin: 3px 0; }
footer { margin-top: 6px; }
"""


def page(title: str, body: str, lang: str, extra_css: str = "") -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}{extra_css}</style></head><body>{body}</body></html>\n"
    )


GRADE_SLOTS = 12  # schemes with more grades share the 12-step scale


def _grade_slot(position: int, count: int) -> tuple[int, int]:
    if count <= GRADE_SLOTS:
        return position, count
    return round(position * (GRADE_SLOTS - 1) / (count - 1)), GRADE_SLOTS


def grade_class(code: str | None, codes: list[str]) -> str:
    """CSS class of a grade badge: its place in the scheme's order (colours: grades_palette)."""
    if code is None or code not in codes:
        return "gx"
    return "g{}-{}".format(*_grade_slot(codes.index(code), len(codes)))


CSS += "".join(  # one rule per place in a scheme of 1…GRADE_SLOTS grades, from the shared palette
    f".g{i}-{n} {{ background: {grade_colour(i, n, light=True)}; }}"
    for n in range(1, GRADE_SLOTS + 1)
    for i in range(n)
) + f".gx {{ background: {colour_of(None, [], light=True)}; }}\n"


def wrap_label(label: str, width: int = 16, lines: int = 2) -> list[str]:
    """A chart label on at most `lines` lines of about `width` characters (a CJK character counts
    double); words are kept whole in English, the last line ends in … when it had to be cut."""
    def size(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    words = label.split() if " " in label else list(label)
    joiner = " " if " " in label else ""
    out: list[str] = [""]
    for word in words:
        candidate = f"{out[-1]}{joiner}{word}" if out[-1] else word
        if size(candidate) <= width or not out[-1]:
            out[-1] = candidate
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: max(1, len(out[-1]) - 1)] + "…"
    return out


def radar_svg(
    labels: list[str],
    values: list[float | None],
    reference: list[float | None],
    legend: tuple[str, str],
    size: int = 240,
) -> str:
    """Dimension radar on 0–100: the unit (filled) against the peer median (dashed).

    With fewer than three dimensions a radar is meaningless, so bars are drawn instead.
    """
    n = len(labels)
    if n < 3:
        return bars_svg(labels, values, reference, legend)
    pad = 105  # room for labels (up to three lines of about 16 characters) left and right
    width, height = size + 2 * pad, size + 56
    cx, cy, r = width / 2, size / 2 + 18, size / 2 - 30

    def point(i: int, v: float | None, scale: float = 1.0) -> tuple[float, float]:
        a = -math.pi / 2 + 2 * math.pi * i / n
        k = max(0.0, min(100.0, v or 0.0)) / 100 * r * scale
        return cx + k * math.cos(a), cy + k * math.sin(a)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-label="{e(legend[0])}">'
    ]
    for ring in (25, 50, 75, 100):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        parts.append(f'<polygon points="{pts}" fill="none" stroke="#d5dde6" stroke-width="1"/>')
    for i, label in enumerate(labels):
        x, y = point(i, 100)
        lx, ly = point(i, 100, 1.1)
        anchor = "middle" if abs(lx - cx) < 8 else ("start" if lx > cx else "end")
        lines = wrap_label(label, 16, 3)
        # above the chart the last line sits on the axis end; below it the first; beside it centred
        extra = len(lines) - 1
        ly += (-4 - 14 * extra) if ly < cy - 8 else (10 if ly > cy + 8 else 4 - 7 * extra)
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="#d5dde6"/>')
        spans = "".join(
            f'<tspan x="{lx:.1f}" dy="{0 if n == 0 else 14}">{e(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="13" text-anchor="{anchor}">'
            f"<title>{e(label)}</title>{spans}</text>"
        )
    ref = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(reference)))
    own = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(values)))
    parts.append(
        f'<polygon points="{ref}" fill="none" stroke="#7f7f7f" stroke-width="1.5" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<polygon points="{own}" fill="#2e75b6" fill-opacity="0.28" stroke="#1f4e78" stroke-width="2"/>'
    )
    y0 = height - 10
    x0 = cx - 120
    parts.append(
        f'<rect x="{x0}" y="{y0 - 8}" width="14" height="9" fill="#2e75b6" fill-opacity="0.5" '
        f'stroke="#1f4e78"/><text x="{x0 + 20}" y="{y0}" font-size="12">{e(legend[0])}</text>'
        f'<line x1="{x0 + 130}" y1="{y0 - 4}" x2="{x0 + 148}" y2="{y0 - 4}" stroke="#7f7f7f" '
        f'stroke-width="1.5" stroke-dasharray="4 3"/>'
        f'<text x="{x0 + 154}" y="{y0}" font-size="12">{e(legend[1])}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(
    labels: list[str],
    values: list[float | None],
    reference: list[float | None],
    legend: tuple[str, str],
    width: int = 300,
) -> str:
    """Horizontal 0–100 bars with a tick at the reference value."""
    row = 26
    h = row * len(labels) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" width="{width}" '
        f'height="{h}" role="img" aria-label="{e(legend[0])}">'
    ]
    for i, (label, v, ref) in enumerate(zip(labels, values, reference, strict=True)):
        y = i * row + 4
        w = max(0.0, min(100.0, v or 0.0)) * (width - 110) / 100
        parts.append(
            f'<text x="0" y="{y + 9}" font-size="10">{e(label)}</text>'
            f'<rect x="100" y="{y}" width="{w:.1f}" height="14" fill="#2e75b6"/>'
        )
        if ref is not None:
            rx = 100 + max(0.0, min(100.0, ref)) * (width - 110) / 100
            parts.append(
                f'<line x1="{rx:.1f}" y1="{y - 2}" x2="{rx:.1f}" y2="{y + 16}" '
                'stroke="#333" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def hbar(share: float, colour: str = "#2e75b6", width_mm: float = 50) -> str:
    """A CSS bar for tables (grade distribution)."""
    w = max(0.0, min(1.0, share)) * width_mm
    return (
        f'<span style="display:inline-block;height:9px;width:{w:.1f}mm;background:{colour};'
        'vertical-align:middle"></span>'
    )
