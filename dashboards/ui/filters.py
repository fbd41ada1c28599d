"""The league-table selection (filters, search, sort), shared by the overview and the heat map.

Kept like the run: in session keys that outlive a page and in the address (`?peer=rural,urban
&grade=poor&sort=dim__governance`), so a filtered view survives page changes and can be sent
as a link. Only values the run offers are accepted from the address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import streamlit as st

from evaluator import readmodel as rm
from ui.context import read
from ui.i18n import t, value_label
from ui.page import Ctx
from ui.state import prepare, to_url

# name kept in the session, option list of rm.filter_options, label key, address parameter
LISTS = (
    ("f_types", "unit_type", "filter_type", "type"),
    ("f_peers", "peer_group", "filter_peer", "peer"),
    ("f_grades", "grade", "filter_grade", "grade"),
    ("f_flags", "flag", "filter_flag", "flag"),
    ("f_parents", "parent_id", "filter_parent", "parent"),
)
SORT_LABELS = {"rank": "c_rank", "score": "c_score", "score_change": "c_score_change",
               "rank_change": "c_rank_change"}


@dataclass(frozen=True)
class Selection:
    """What the reader chose: read-model keyword arguments of `rm.league_table`."""

    unit_types: list[str]
    peer_groups: list[str]
    grades: list[str]
    flags: list[str]
    parents: list[str]
    search: str | None
    sort: str


def _split(text: str) -> list[str]:
    return [v for v in text.split(",") if v]


def _within(allowed: list[str]) -> Callable[[Any], bool]:
    """A check that a remembered choice is a list of values the run offers."""
    return lambda v: isinstance(v, list) and set(v) <= set(allowed)


def names(ctx: Ctx, options: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Each filter value's name in the page's language (made now: a format_func may be called
    outside the script run)."""
    grades = read(rm.grade_distribution, ctx.viewer, ctx.run_id, lang=ctx.lang)
    parents = read(rm.parent_names, ctx.viewer, ctx.run_id)
    return {
        "unit_type": {v: value_label(v, "unit_type") for v in options["unit_type"]},
        "peer_group": {v: value_label(v, "peer_group") for v in options["peer_group"]},
        "grade": dict(zip(grades["grade"], grades["grade_name"], strict=True)),
        "flag": {v: value_label(v) for v in options["flag"]},
        "parent_id": {p: f"{parents.get(p) or p} ({p})" for p in options["parent_id"]},
    }


def selection(ctx: Ctx, dims: pl.DataFrame, extra: dict[str, str] | None = None) -> Selection:
    """Draw the filters, search and sort; return what is chosen (also written to the address).

    `dims` (rm.top_dimensions) adds one sort choice per top-level dimension, `extra` more
    (column id → name: the heat map's indicators).
    """
    options: dict[str, list[str]] = read(rm.filter_options, ctx.viewer, ctx.run_id)
    named = names(ctx, options)
    chosen: dict[str, list[str]] = {}
    lists = [f for f in LISTS if options[f[1]]]
    cols = st.columns(max(len(lists), 1))  # a row of filters, then sort and search below
    for col, (name, group, label, param) in zip(cols, lists, strict=False):
        widget = prepare(name, [], _within(options[group]), param=param, parse=_split)
        col.multiselect(t(label), options[group], placeholder=t("choose"), select_all=False,
                        format_func=named[group].__getitem__, **widget)
        chosen[group] = list(st.session_state[widget["key"]] or [])
        to_url(param, ",".join(chosen[group]) or None)
    sorts = {k: t(v) for k, v in SORT_LABELS.items()}  # (office and leadership pages only)
    sorts |= {rm.DIM + d: n for d, n in zip(dims["dimension_id"], dims["dimension_name"],
                                            strict=True)}
    sorts |= extra or {}
    widget = prepare("f_sort", "rank", lambda v: v in sorts, param="sort")
    cols = st.columns([1, 2])
    cols[0].selectbox(t("sort_by"), list(sorts), format_func=sorts.__getitem__, **widget)
    sort = str(st.session_state[widget["key"]])  # the remembered choice when this page offers it
    to_url("sort", None if sort == "rank" else sort)
    widget = prepare("f_search", "", lambda v: isinstance(v, str), param="q")
    cols[-1].text_input(t("search"), **widget)
    search = str(st.session_state[widget["key"]] or "").strip()
    to_url("q", search or None)
    return Selection(
        unit_types=chosen.get("unit_type", []), peer_groups=chosen.get("peer_group", []),
        grades=chosen.get("grade", []), flags=chosen.get("flag", []),
        parents=chosen.get("parent_id", []), search=search or None,
        sort=sort,
    )
