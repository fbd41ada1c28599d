"""Overview: the run at a glance — who needs attention, grades, the whole league table, movers.

The bottom of the table is as visible as its top: every row is drawn (no scroll box), grades are
coloured, the units that need attention (lowest grade, vetoes, flags) have their own block, and
a row or a name opens that unit's profile.
"""

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st
from ui import charts
from ui.context import read
from ui.downloads import overview_downloads
from ui.filters import selection
from ui.i18n import t, value_label
from ui.page import start
from ui.state import remember
from ui.tables import show

from evaluator import readmodel as rm
from evaluator.grades_palette import colour_of

PROFILE = "views/unit.py"
BOTTOM = 5  # lowest-ranked units listed in the attention block
LISTED = 8  # vetoed or flagged units listed there; the table below has them all

ctx = start("overview_title")
league_all: pl.DataFrame = read(  # the same call as the unfiltered table below: one cache entry
    rm.league_table, ctx.viewer, ctx.run_id, lang=ctx.lang, unit_types=[], peer_groups=[],
    search=None, grades=[], flags=[], parents=[], sort="rank",
)
dist: pl.DataFrame = read(rm.grade_distribution, ctx.viewer, ctx.run_id, lang=ctx.lang)
codes: list[str] = read(rm.grade_codes, ctx.viewer, ctx.run_id)
d = ctx.decimals
grade_tags = {  # each grade's name in its colour (the grade palette, by the scheme's order)
    r["grade_name"]: colour_of(r["grade"], codes, light=True)
    for r in dist.sort("grade_order").to_dicts() if r["grade_name"] is not None
}



def without_empty_tiers(df: pl.DataFrame) -> pl.DataFrame:
    """Tiers only when `evaluator uncertainty` computed them; their grade only when the scheme
    grades by tier (`uncertainty.tier_grades`)."""
    return df.drop(c for c in ("tier", "tier_grade_name") if df[c].is_null().all())


if ctx.viewer.role == "unit":  # the published league table only: rank, score, grade, tier
    overview_downloads(ctx)  # above the table: with 2,000 rows, below it is out of sight
    st.subheader(t("league"))
    show(
        without_empty_tiers(league_all),
        {
            "rank": "c_rank",
            "tier": "c_tier",
            "unit_name": "c_unit_name",
            "unit_id": "c_unit_id",
            "score": "c_score",
            "grade_name": "c_grade",
            "tier_grade_name": "c_tier_grade",
        },
        decimals={"score": d},
        every_row=True,
        tags={"grade_name": grade_tags, "tier_grade_name": grade_tags},
    )
    st.page_link(PROFILE, label=t("page_unit"), icon=":material/arrow_forward:")
    st.stop()

worst = len(codes) - 1
attention = league_all.filter(
    (pl.col("grade_order") == worst) | pl.col("veto").is_not_null() | pl.col("flags").is_not_null()
)
best = dist.filter(pl.col("grade_order") == 0)
top = best["units"].sum()
# "优秀比例" only when the top grade is `excellent`; a scheme's own top grade is named
top_label = (
    t("m_top_grade")
    if not codes or codes[0] == "excellent"
    else t("m_top_grade_named", grade=best["grade_name"][0] if best.height else codes[0])
)
m = st.columns(4)
m[0].metric(t("m_units"), league_all.height)
mean_score: float = league_all.select(pl.col("score").mean().fill_null(0)).item()
m[1].metric(t("m_mean"), f"{mean_score:.{d}f}")
m[2].metric(top_label, f"{top / max(league_all.height, 1):.1%}")
m[3].metric(t("m_attention"), attention.height, help=t("m_attention_help"))
overview_downloads(ctx)


def _link(r: dict[str, Any], detail: str) -> None:
    """One unit in the attention block, linking to its profile."""
    st.page_link(
        PROFILE,
        label=t("attention_item", name=r["unit_name"] or r["unit_id"], detail=detail),
        query_params={"unit": r["unit_id"]},
        icon=":material/arrow_forward:",
    )


def _listed(title: str, column: str, detail: Callable[[dict[str, Any]], str]) -> None:
    """The units with `column` set (vetoed, flagged): the first LISTED, then how many more."""
    st.markdown(f"**{title}**")
    units = league_all.filter(pl.col(column).is_not_null())
    if units.is_empty():
        st.caption(t("attention_none"))
    for r in units.head(LISTED).to_dicts():
        _link(r, detail(r))
    if units.height > LISTED:
        st.caption(t("attention_more", n=units.height - LISTED))


st.subheader(t("attention"))
cols = st.columns(3)
with cols[0]:
    st.markdown(f"**{t('attention_bottom')}**")
    for r in league_all.filter(pl.col("rank").is_not_null()).tail(BOTTOM).reverse().to_dicts():
        score = f"{r['score']:.{d}f}" if r["score"] is not None else "—"
        _link(r, t("attention_score", rank=r["rank"], score=score, grade=r["grade_name"]))
with cols[1]:
    _listed(t("attention_veto"), "veto", lambda r: str(r["veto_name"]))
with cols[2]:
    _listed(
        t("attention_flags"),
        "flags",
        lambda r: t("list_sep").join(value_label(f.strip()) for f in r["flags"].split(",")),
    )

st.subheader(t("leaders"))
pair = st.columns(2)
with pair[0]:
    st.markdown(f"**{t('best')}**")
    for r in league_all.filter(pl.col("rank").is_not_null()).head(BOTTOM).to_dicts():
        _link(r, t("best_item", rank=r["rank"], score=f"{r['score']:.{d}f}"))
with pair[1]:
    improved = league_all.filter(pl.col("score_change") > 0).sort(
        "score_change", "rank", descending=[True, False]).head(BOTTOM)
    prev_period = read(rm.previous_period, ctx.viewer, ctx.run_id)
    st.markdown(f"**{t('most_improved', period=prev_period or '—')}**")
    if prev_period is None:
        st.caption(t("no_previous"))
    elif improved.is_empty():
        st.caption(t("attention_none"))
    for r in improved.to_dicts():
        _link(r, t("improved_item", change=r["score_change"], prev_rank=r["prev_rank"],
                   rank=r["rank"]))

left, right = st.columns([1, 2])
with left:
    st.subheader(t("grade_dist"))
    bar = st.plotly_chart(charts.grade_bar(dist, codes), width="stretch", on_select="rerun",
                          selection_mode="points", key="ov_grade_pick")
    grade = charts.picked(bar)  # a bar filters the league table by its grade (once per click)
    if grade is not None and grade != st.session_state.get("ov_grade_seen"):
        remember("f_grades", [grade])
    st.session_state["ov_grade_seen"] = grade
    st.caption(t("grade_bar_hint"))
with right:
    previous = read(rm.previous_run_id, ctx.viewer, ctx.run_id)
    prev_info = read(rm.run_info, ctx.viewer, previous) if previous is not None else None
    if previous is None or prev_info is None:
        st.subheader(t("movers", period="—"))
        st.info(t("no_previous"))
    else:
        st.subheader(t("movers", period=prev_info.period))
        moves: pl.DataFrame = read(rm.movers, ctx.viewer, ctx.run_id, previous, lang=ctx.lang)
        halves = st.columns(2)
        for col, direction, key in ((halves[0], "up", "risers"), (halves[1], "down", "fallers")):
            with col:
                st.markdown(f"**{t(key)}**")
                part = moves.filter(pl.col("direction") == direction) if moves.height else moves
                if part.is_empty():
                    st.write(t("no_movers"))
                for r in part.to_dicts():
                    st.markdown(
                        "- "
                        + t(
                            "mover_line",
                            name=r["unit_name"] or r["unit_id"],
                            prev=r["prev_score"],
                            score=r["score"],
                            change=r["change"],
                            prev_rank=r["prev_rank"],
                            rank=r["rank"],
                            drivers=r["drivers"] or t("no_drivers"),
                        )
                    )

st.subheader(t("league"))
dims: pl.DataFrame = read(rm.top_dimensions, ctx.viewer, ctx.run_id, lang=ctx.lang)
sel = selection(ctx, dims)
league: pl.DataFrame = read(
    rm.league_table,
    ctx.viewer,
    ctx.run_id,
    lang=ctx.lang,
    unit_types=sel.unit_types,
    peer_groups=sel.peer_groups,
    search=sel.search,
    grades=sel.grades,
    flags=sel.flags,
    parents=sel.parents,
    sort=sel.sort,
)
has_interval = league["rank_low"].is_not_null().any()
league = league.with_columns(
    pl.when(pl.col("rank_low").is_not_null())
    .then(pl.format("{}–{}", "rank_low", "rank_high"))
    .alias("rank_interval")
)
st.caption(t("rows_shown", n=league.height, total=league_all.height) + " · " + t("row_opens")
           + " " + t("filters_kept"))
shown = without_empty_tiers(league if has_interval else league.drop("rank_interval"))
dim_columns = {rm.DIM + d: n for d, n in zip(dims["dimension_id"], dims["dimension_name"], strict=True)}
picked = show(
    shown,
    {
        "rank": "c_rank",
        "rank_interval": "c_rank_interval",
        "tier": "c_tier",
        "unit_name": "c_unit_name",
        "unit_id": "c_unit_id",
        "score": "c_score",
        "grade_name": "c_grade",
        "tier_grade_name": "c_tier_grade",
        "prev_score": "c_prev_score",
        "rank_change": "c_rank_change",
        "veto_name": "c_veto",
        "flags": "c_flags",  # before the long tail of columns, so it is not cut off
        **dim_columns,
        "peer_group": "c_peer_group",
        "unit_type": "c_unit_type",
        "parent_name": "c_parent",
    },
    coded={"flags": "", "peer_group": "peer_group", "unit_type": "unit_type"},
    decimals={"score": d, "prev_score": d} | dict.fromkeys(dim_columns, 1),
    wide=("flags",),
    every_row=True,
    tags={"grade_name": grade_tags, "tier_grade_name": grade_tags},
    select="ov_pick",
    download="league_table",
)
rows = picked.selection.rows if picked is not None else []
if rows:  # a row opens that unit's profile
    st.switch_page(PROFILE, query_params={"unit": str(shown["unit_id"][rows[0]])})
if has_interval:
    st.caption(t("rank_interval_note"))
    with_iv = league.filter(pl.col("rank_low").is_not_null())
    st.subheader(t("rank_interval_chart", n=with_iv.height))
    mark = st.plotly_chart(charts.rank_intervals(with_iv, codes), width="stretch",
                           on_select="rerun", selection_mode="points", key="ov_iv_pick")
    opened = charts.picked(mark)
    if opened is not None:  # a mark opens that unit's profile, as a row does
        st.switch_page(PROFILE, query_params={"unit": opened})
