"""The unit profile's drill-down into one indicator: the loaded values behind it, its funnel."""

from __future__ import annotations

import polars as pl
import streamlit as st

from evaluator import readmodel as rm
from ui import charts
from ui.context import read
from ui.i18n import t
from ui.page import Ctx
from ui.tables import show


def drill_indicator(ctx: Ctx, unit: str, indicator: str, name: str) -> None:
    """What one indicator of `unit` was computed from; for the office, a survey indicator's
    funnel with this unit marked (the funnel shows every unit's unsuppressed index, so only the
    office, who may see small cells, gets it here)."""
    st.markdown(f"**{t('drill_title', name=name)}**")
    source: dict[str, object] = read(rm.indicator_source, ctx.viewer, ctx.run_id, indicator)
    if source["kind"] == "measure":
        st.caption(t("drill_measure", measure=source["measure"], rollup=source["rollup"]))
        raw: pl.DataFrame = read(rm.indicator_raw_values, ctx.viewer, ctx.run_id, unit, indicator)
        show(
            raw,
            {"period": "c_period", "measure": "c_measure", "value": "c_value",
             "batch_id": "c_batch", "file": "c_file", "source_row": "c_source_row"},
            download=f"unit_{unit}_{indicator}_values",
        )
        return
    if source["kind"] == "survey":
        questions = source.get("questions") or []
        st.caption(t("drill_survey", questions=", ".join(str(q) for q in questions)))  # type: ignore[attr-defined]
        if not ctx.viewer.office:
            return
        f = read(rm.funnel, ctx.viewer, ctx.run_id, indicator)
        if f is None:
            st.info(t("no_funnel"))
            return
        st.caption(t("funnel_note"))
        st.plotly_chart(charts.funnel(f.points, f.limits, f.centre, corrected=f.overdispersed,
                                      highlight=unit), width="stretch",
                        key=f"drill_funnel_{indicator}")
        return
    st.caption(t("drill_unknown"))
