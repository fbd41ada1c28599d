"""How a workbook sheet prints: A4, portrait or landscape, a legible scale, repeated headers.

A sheet is fitted to one page wide only when that keeps the type legible (at least
`MIN_SCALE`); a wider sheet prints across pages at that scale, each page repeating the header
row and the identifying columns (unit id and name), so no 23-column table shrinks to 4.5 pt.
Technical columns (codes with their names beside them) are hidden, so they never print.
"""

from __future__ import annotations

from dataclasses import dataclass

A4 = 9  # the paper code Excel and LibreOffice use for A4
MARGIN_IN = 0.4  # left/right margin, inches
PORTRAIT_MM = 210 - 2 * 25.4 * MARGIN_IN
LANDSCAPE_MM = 297 - 2 * 25.4 * MARGIN_IN
MIN_SCALE = 75  # percent of 11 pt: about 8 pt, still legible on paper
LINE_PT = 15  # height of one wrapped line of 11-point text


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped cell `width` characters wide needs (a CJK character is two wide).

    Excel and LibreOffice do not grow a row for wrapped text written by a library, so a sheet
    that wraps sets its row heights from this, or its lines print on top of each other."""
    chars = sum(2 if ord(c) >= 0x2E80 else 1 for c in text)
    return max(1, -(-chars // max(int(width) - 1, 1)))


def column_mm(width: float) -> float:
    """Printed width of an Excel column `width` characters wide (7 px a character + 5 px)."""
    return (7 * width + 5) * 25.4 / 96


@dataclass(frozen=True)
class PageSetup:
    landscape: bool
    fit_width: bool  # fit every printed column on one page wide (scale ≥ MIN_SCALE)
    scale: int  # print scale when not fitted
    repeat_columns: int  # identifying columns repeated on every page across (0 = none)


def page_setup(widths: list[float], hidden: set[int], id_columns: int) -> PageSetup:
    """The print layout of a sheet whose printed columns have these widths."""
    total = sum(column_mm(w) for i, w in enumerate(widths) if i not in hidden)
    if total <= PORTRAIT_MM:
        return PageSetup(False, True, 100, 0)
    if total * MIN_SCALE / 100 <= LANDSCAPE_MM:
        return PageSetup(True, True, 100, 0)
    return PageSetup(True, False, MIN_SCALE, id_columns)
