"""One colour scale for grades, shared by the dashboard and every export.

Schemes name their own grade codes (excellent/good/…, 一类/二类/三类, A/B/C), so a grade is
coloured by its place in the scheme's order, never by its code: the best grade green, the worst
red, the ones between interpolated through amber. `light=True` gives the same hue mixed with
white, for cell and badge backgrounds where dark text must stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence

BEST = "#1b7f3b"  # green
MIDDLE = "#e0a526"  # amber
WORST = "#c23b32"  # red
UNKNOWN = "#8c8c8c"  # a code the scheme does not list (grey, never mistaken for a rank)
LIGHT_MIX = 0.7  # share of white in the light variant


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(255.0, c))):02x}" for c in rgb)


def _mix(a: Sequence[float], b: Sequence[float], share_b: float) -> tuple[float, ...]:
    return tuple(x + (y - x) * share_b for x, y in zip(a, b, strict=True))


def grade_colour(position: int, count: int, *, light: bool = False) -> str:
    """Colour of the grade at `position` (0 = best) among `count` grades: green → amber → red.

    One grade alone is green; two are green and red; more are spaced evenly along the scale.
    """
    t = 0.0 if count <= 1 else min(max(position, 0), count - 1) / (count - 1)
    if t <= 0.5:
        rgb = _mix(_rgb(BEST), _rgb(MIDDLE), t * 2)
    else:
        rgb = _mix(_rgb(MIDDLE), _rgb(WORST), (t - 0.5) * 2)
    if light:
        rgb = _mix(rgb, (255.0, 255.0, 255.0), LIGHT_MIX)
    return _hex(rgb)


def grade_colours(codes: Sequence[str], *, light: bool = False) -> dict[str, str]:
    """Every grade code of a scheme (best first) with its colour."""
    return {code: grade_colour(n, len(codes), light=light) for n, code in enumerate(codes)}


def colour_of(code: str | None, codes: Sequence[str], *, light: bool = False) -> str:
    """The colour of one code; grey for a code the scheme does not list (or None)."""
    if code is None or code not in codes:
        return _hex(_mix(_rgb(UNKNOWN), (255.0, 255.0, 255.0), LIGHT_MIX)) if light else UNKNOWN
    return grade_colour(list(codes).index(code), len(codes), light=light)
