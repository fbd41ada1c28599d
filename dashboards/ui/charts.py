"""Plotly figures with one colour per grade and per evidence class, on every page alike.

Grades are coloured by their place in the scheme (evaluator.grades_palette, shared with the
exports), so a scheme's own codes (一类/二类/三类, A/B/C) get green → red too.
"""

from __future__ import annotations

import textwrap
from typing import Any

import plotly.graph_objects as go
import polars as pl

from evaluator.grades_palette import colour_of
from ui.i18n import t

EVIDENCE_COLOURS = {
    "outcome": "#1b7f3b",
    "satisfaction": "#4a90c2",
    "output": "#17a2a2",
    "process": "#8e6bbf",
    "trace": "#a0836a",
}
UNIT_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def grade_colours(df: pl.DataFrame, codes: list[str]) -> list[str]:
    """Each row's grade colour by the grade's place in the scheme (the exports' palette)."""
    return [colour_of(c, codes) for c in df["grade"].to_list()]


def _layout(fig: go.Figure, title: str | None = None, height: int = 360) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
    )
    return fig


def grade_bar(dist: pl.DataFrame, codes: list[str]) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=dist["grade_name"].to_list(),
            y=dist["units"].to_list(),
            text=dist["units"].to_list(),
            marker_color=grade_colours(dist, codes),
            customdata=dist["grade"].to_list(),  # a clicked bar filters the league table
            hovertemplate=t("h_grade_bar"),
        )
    )
    fig.update_yaxes(title=t("c_units"))
    return _layout(fig, height=300)


def rank_intervals(df: pl.DataFrame, codes: list[str]) -> go.Figure:
    """Each unit's rank as a dot with its interval as a bar: overlapping bars are not different.

    Every unit given is drawn (the bottom matters as much as the top), best at the top.
    """
    df = df.sort("rank", descending=True)
    # arrays, not lists (see `rank_scatter`): plotly checks and deep-copies lists element by
    # element, ~1 s for 2,000 units' names and hover data
    names = df["unit_name"].fill_null(df["unit_id"]).to_numpy()
    colours = grade_colours(df, codes)
    grade = df["grade_name"] if "grade_name" in df.columns else df["grade"]
    custom = df.select("rank_low", "rank_high", "score", grade.alias("grade"), "unit_id").to_numpy()
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=(df["rank_high"] - df["rank_low"]).to_numpy(),  # arrays: see `rank_scatter`
            base=df["rank_low"].to_numpy(),
            orientation="h",
            marker_color=colours,
            opacity=0.35,
            showlegend=False,
            customdata=custom,
            hovertemplate=t("h_rank_interval"),
        )
    )
    fig.add_trace(
        go.Scatter(
            y=names,
            x=df["rank"].to_numpy(),
            mode="markers",
            marker={"color": colours, "size": 9},
            name=t("c_rank"),
            showlegend=False,
            customdata=custom,
            hovertemplate=t("h_rank_point"),
        )
    )
    fig.update_xaxes(title=t("c_rank"), autorange="reversed")
    return _layout(fig, height=max(300, 22 * df.height + 60))


def picked(event: Any) -> str | None:
    """The last customdata (a unit id, a grade code) of the mark a reader clicked
    (`st.plotly_chart(..., on_select="rerun")`); None when nothing is picked."""
    points = list(getattr(getattr(event, "selection", None), "points", None) or [])
    for point in points:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if custom:
            return str(custom[-1] if isinstance(custom, list) else custom)
    return None


def unit_colours(unit_ids: list[str]) -> dict[str, str]:
    """One colour per unit, by its position in the selection, for every chart of a page."""
    return {u: UNIT_COLOURS[n % len(UNIT_COLOURS)] for n, u in enumerate(unit_ids)}


def wrap_label(text: str, width: int = 16) -> str:
    """Break a long axis label into lines (Plotly cuts long labels off instead of wrapping).

    Words stay whole; text without spaces (Chinese) is cut every `width // 2` characters, since
    each character is about twice as wide.
    """
    if " " not in text.strip():
        step = max(1, width // 2)
        return "<br>".join(text[i : i + step] for i in range(0, len(text), step))
    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False)) or text


def radar(dims: pl.DataFrame, colours: dict[str, str]) -> go.Figure:
    fig = go.Figure()
    for (unit, name), part in dims.group_by("unit_id", "unit_name", maintain_order=True):
        theta = [wrap_label(str(d), 14) for d in part["dimension_name"].to_list()]
        r = part["score"].to_list()
        colour = colours.get(str(unit), "#888")
        fig.add_trace(
            go.Scatterpolar(
                r=[*r, r[0]],
                theta=[*theta, theta[0]],
                name=str(name or unit),
                fill="toself",
                line={"color": colour, "width": 2},
                fillcolor=_tint(colour, 0.18),
                text=[*part["dimension_name"].to_list(), part["dimension_name"][0]],
                hovertemplate=t("h_radar"),
            )
        )
    spokes = max(dims["dimension_id"].n_unique(), 1)
    fig.update_layout(
        polar={  # first dimension at the top; the 0–100 scale between the first two spokes
            "radialaxis": {"range": [0, 100], "angle": 90 - 180 / spokes, "tickfont": {"size": 9}},
            "angularaxis": {"direction": "clockwise", "rotation": 90},
            "domain": {"x": [0.22, 0.78]},
        }
    )
    _layout(fig, height=460)
    fig.update_layout(legend={"orientation": "h", "y": -0.05})
    return fig


def _tint(colour: str, alpha: float) -> str:
    """`#rrggbb` as a translucent rgba(), so overlapping areas stay readable."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def indicator_bars(df: pl.DataFrame, colours: dict[str, str]) -> go.Figure:
    fig = go.Figure()
    for n, ((unit, name), part) in enumerate(
        df.group_by("unit_id", "unit_name", maintain_order=True)
    ):
        x = [wrap_label(str(i), 18) for i in part["indicator_name"].to_list()]
        fig.add_trace(
            go.Bar(
                x=x,
                y=part["score"].to_list(),
                name=str(name or unit),
                marker_color=colours.get(str(unit), "#888"),
                offsetgroup=str(n),
                text=part["indicator_name"].to_list(),
                textposition="none",
                customdata=[_number(v) for v in part["raw_value"].to_list()],
                hovertemplate=t("h_ind_bar"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=part["peer_median"].to_list(),
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 18,
                    "color": "#222",
                    "line": {"width": 3},
                },
                name=t("peer_median"),
                legendgroup="median",
                legendrank=2000,  # after the units in the legend
                showlegend=n == 0,
                offsetgroup=str(n),
                text=part["indicator_name"].to_list(),
                customdata=[str(g or "—") for g in part["peer_group"].to_list()],
                hovertemplate=t("h_peer_median"),
            )
        )
    fig.update_layout(barmode="group", scattermode="group")
    fig.update_yaxes(range=[0, 105], title=t("c_ind_score"))
    fig.update_xaxes(tickangle=-40, automargin=True)
    _layout(fig, height=520)
    # the legend above the plot: below it, it collides with the rotated indicator names
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    fig.update_layout(margin={"t": 40})
    return fig


def contributions(df: pl.DataFrame, evidence_labels: dict[str, str], decimals: int = 2
                  ) -> go.Figure:
    """Points each indicator adds to the total, coloured by evidence class."""
    df = df.sort("contribution", nulls_last=True)
    fig = go.Figure()
    for ev, part in df.group_by("evidence", maintain_order=True):
        label = evidence_labels.get(str(ev[0]), str(ev[0]))
        fig.add_trace(
            go.Bar(
                y=part["indicator_name"].to_list(),
                x=part["contribution"].to_list(),
                orientation="h",
                name=label,
                marker_color=EVIDENCE_COLOURS.get(str(ev[0]), "#888"),
                customdata=list(zip(part["score"].to_list(), (part["weight"] * 100).to_list(),
                                    strict=True)),
                hovertemplate=t("h_contribution").replace("{ev}", label).replace(
                    "{d}", str(decimals + 2)),
            )
        )
    fig.update_layout(barmode="stack", yaxis={"categoryorder": "total ascending"})
    fig.update_xaxes(title=t("c_contribution"))
    return _layout(fig, height=max(320, 24 * df.height + 80))


def trend(df: pl.DataFrame, scale: tuple[float, float] = (0.0, 100.0), decimals: int = 2
          ) -> go.Figure:
    """Score per period with its rank. The y-axis spans at least a fifth of the score scale
    (20 points on 0–100), so a 0.4-point dip does not look like a collapse."""
    lo, hi = scale
    span = (hi - lo) / 5
    values = [v for v in df["score"].to_list() if v is not None]
    low, high = (min(values), max(values)) if values else (lo, hi)
    if high - low < span:
        mid = (low + high) / 2
        low, high = mid - span / 2, mid + span / 2
        if low < lo:
            low, high = lo, lo + span
        if high > hi:
            low, high = hi - span, hi
    pad = (high - low) * 0.08
    grades = df["grade_name"] if "grade_name" in df.columns else df["grade"]
    fig = go.Figure(
        go.Scatter(
            x=df["period"].to_list(),
            y=df["score"].to_list(),
            mode="lines+markers+text",
            text=[f"#{r}" for r in df["rank"].to_list()],
            textposition="top center",
            line={"color": UNIT_COLOURS[0]},
            name=t("c_score"),
            customdata=list(zip(df["rank"].to_list(), df["units_scored"].to_list(),
                                [str(g or "—") for g in grades.to_list()], strict=True)),
            hovertemplate=t("h_trend").replace("{d}", str(decimals)),
        )
    )
    fig.update_xaxes(type="category", title=t("c_period"))
    fig.update_yaxes(title=t("c_score"), range=[max(lo, low - pad), min(hi, high + pad)])
    if "version_changed" in df.columns:  # a dashed line before each point scored under a new version
        for n, (changed, version) in enumerate(
            zip(df["version_changed"].to_list(), df["scheme_version"].to_list(), strict=True)
        ):
            if changed:
                fig.add_vline(x=n - 0.5, line={"color": "#888", "dash": "dash", "width": 1},
                              annotation_text=t("trend_version", version=version or "—"),
                              annotation_position="top right")
    return _layout(fig, height=300)


def satisfaction_ci(df: pl.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=df["index_value"].to_list(),
            y=df["indicator_name"].to_list(),
            mode="markers",
            marker={"size": 11, "color": EVIDENCE_COLOURS["satisfaction"]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (df["ci_high"] - df["index_value"]).to_list(),
                "arrayminus": (df["index_value"] - df["ci_low"]).to_list(),
            },
            customdata=list(zip(df["ci_low"].to_list(), df["ci_high"].to_list(),
                                df["effective_n"].to_list(), strict=True)),
            hovertemplate=t("h_satisfaction"),
            name=t("sat_point"),
        )
    )
    fig.update_xaxes(range=[0, 100], title=t("sat_point"))
    return _layout(fig, height=max(240, 40 * df.height + 100))


def simple_bar(labels: list[str], values: list[float], hover: str, colour: str = "#a0836a"
               ) -> go.Figure:
    """Counts per category; `hover` is a translated plotly hover template (%{x}, %{y})."""
    fig = go.Figure(go.Bar(x=labels, y=values, text=values, marker_color=colour,
                           hovertemplate=hover))
    return _layout(fig, height=280)


def weights(df: pl.DataFrame) -> go.Figure:
    names = df["indicator_name"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=(df["declared_weight"] * 100).to_list(),
            orientation="h",
            name=t("declared"),
            marker_color="#bbbbbb",
            hovertemplate=t("h_weight_declared"),
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=(df["effective_weight"] * 100).to_list(),
            orientation="h",
            name=t("effective"),
            marker_color=[EVIDENCE_COLOURS.get(e, "#888") for e in df["evidence"].to_list()],
            hovertemplate=t("h_weight_effective"),
        )
    )
    fig.update_layout(barmode="group", yaxis={"autorange": "reversed"})
    fig.update_xaxes(title="%")
    return _layout(fig, height=max(320, 34 * df.height + 80))


def rank_scatter(df: pl.DataFrame) -> go.Figure:
    n = max(df["rank"].max() or 1, df["rank_declared"].max() or 1)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[1, n],
            y=[1, n],
            mode="lines",
            line={"color": "#ccc", "dash": "dot"},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            # arrays, not lists (as in `funnel`): 20,000 units are ~4 s of plotly checks as lists
            x=df["rank_declared"].to_numpy(),
            y=df["rank"].to_numpy(),
            mode="markers",
            text=df["unit_name"].to_numpy(),
            hovertemplate=t("h_rank_scatter"),
            # RdBu is near-white at 0: an outline keeps units that did not move visible
            marker={"color": df["rank_gain"].to_numpy(), "colorscale": "RdBu", "cmid": 0, "size": 8,
                    "line": {"color": "#555", "width": 1}},
            showlegend=False,
        )
    )
    fig.update_xaxes(title=t("c_rank_declared"), autorange="reversed")
    fig.update_yaxes(title=t("c_rank"), autorange="reversed")
    return _layout(fig, height=420)


def funnel(
    points: pl.DataFrame,
    limits: pl.DataFrame,
    centre: float,
    *,
    corrected: bool = False,
    x_title: str | None = None,
    y_title: str | None = None,
    hover: str | None = None,
    limit_hover: str | None = None,
    percent: bool = False,
    highlight: str | None = None,
) -> go.Figure:
    """A unit's value (`value`) against its sample size (`n`), the 95% and 99.8% limits drawn
    around the centre; units inside and outside the 99.8% limits are separate legend entries.
    When the limits were widened for overdispersion (`corrected`), the sampling-only 99.8% limits
    are drawn too, dotted, so a reader sees what the correction changed. `percent` shows a share
    0–1 as a percentage. `highlight` (a unit id) is ringed and named, for the unit profile's
    drill-down."""
    scale = 100.0 if percent else 1.0
    # numpy arrays, not lists: plotly checks a list element by element (~3 s for 20,000 points
    # at province), an array at once, and sends numbers as typed arrays
    n = limits["n"].to_numpy()
    fig = go.Figure()
    lines = [("limit95", "dash", "#888", ("lo95", "hi95")),
             ("limit998", "solid", "#888", ("lo998", "hi998"))]
    if corrected:
        lines.append(("limit998_raw", "dot", "#bbb", ("lo998_raw", "hi998_raw")))
    for key, dash, colour, cols in lines:
        for i, col in enumerate(cols):
            fig.add_trace(
                go.Scatter(
                    x=n,
                    y=(limits[col] * scale).to_numpy(),
                    mode="lines",
                    line={"color": colour, "dash": dash},
                    name=t(key),
                    legendgroup=key,
                    showlegend=i == 0,
                    hovertemplate=(limit_hover or t("h_limit")).replace("{name}", t(key)),
                )
            )
    fig.add_trace(
        go.Scatter(
            x=[n[0], n[-1]],
            y=[centre * scale, centre * scale],
            mode="lines",
            line={"color": "#444"},
            name=t("centre"),
            hovertemplate=t("h_centre"),
        )
    )
    for outside, colour, key in ((False, "#4a90c2", "units_inside"),
                                 (True, "#c23b32", "units_outside")):
        part = points.filter(pl.col("outside_998") == outside)
        fig.add_trace(
            go.Scatter(
                x=part["n"].to_numpy(),
                y=(part["value"] * scale).to_numpy(),
                mode="markers",
                text=part["unit_name"].to_numpy(),
                name=t(key),
                marker={"size": 8, "color": colour},
                hovertemplate=hover or t("h_funnel_point"),
            )
        )
    mine = points.filter(pl.col("unit_id") == highlight) if highlight else points.clear()
    if mine.height:
        fig.add_trace(
            go.Scatter(
                x=mine["n"].to_list(),
                y=(mine["value"] * scale).to_list(),
                mode="markers",
                text=mine["unit_name"].to_list(),
                name=t("this_unit"),
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 2}},
                hovertemplate=hover or t("h_funnel_point"),
            )
        )
    fig.update_xaxes(title=x_title or t("c_effective_n"))
    fig.update_yaxes(title=y_title or t("sat_point"))
    fig = _layout(fig, height=460)
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      margin={"t": 40})
    return fig


def _number(value: object) -> str:
    """A raw value for a hover text: up to 4 significant decimals, never 68.70356988."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)
