"""One colour scale for grades, shared by the dashboard and every export.

Schemes name their own grade codes (excellent/good/…, 一类/二类/三类, A/B/C), so a grade is
coloured by its place in the scheme's order, never by its code: the best grade green, the worst
red, the ones between along green → amber → orange → red (four grades: deep green, green, orange,
red). `light=True` gives the same hue mixed with
white, for cell and badge backgrounds where dark text must stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence

BEST = "#1b7f3b"  # deep green
GOOD = "#7cb342"  # a light, clear green (the second of four grades; never an olive mix)
MIDDLE = "#e0a526"  # amber
POOR = "#e0702c"  # orange
WORST = "#c23b32"  # red
UNKNOWN = "#8c8c8c"  # a code the scheme does not list (grey, never mistaken for a rank)
LIGHT_MIX = 0.65  # share of white in the light variant
# Colours along the scale (0 = best, 1 = worst). Mixing green straight into amber passes through
# olive, so the scale has a stop at each of the places four- and five-grade schemes land on and
# mixes only neighbouring, similar colours.
STOPS: tuple[tuple[float, str], ...] = (
    (0.0, BEST), (1 / 3, GOOD), (0.5, MIDDLE), (2 / 3, POOR), (1.0, WORST),
)


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
    (t0, c0), (t1, c1) = next(
        (a, b) for a, b in zip(STOPS, STOPS[1:], strict=False) if t <= b[0] + 1e-12
    )
    rgb = _mix(_rgb(c0), _rgb(c1), (t - t0) / (t1 - t0))
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
