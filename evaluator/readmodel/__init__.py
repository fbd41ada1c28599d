"""Every query the dashboard runs, read-only and keyed on a run id, one module per page area.

Pages call only these functions (through `dashboards.ui.context.read`, a typed cached wrapper), and each
takes the `Viewer` (role, unit) so who may see what is enforced here, in SQL, in one place. Nothing here
scores: it reads the stored run tables and reshapes them. Results are polars DataFrames whose columns
are stable ids; the dashboard translates headers.
"""

from __future__ import annotations

from evaluator.readmodel.compare import compare_summary, dimension_scores, indicator_comparison, unit_choices
from evaluator.readmodel.data_quality import (
    Funnel,
    batches,
    data_coverage,
    excluded_share_funnel,
    funnel,
    missing_pairs,
    satisfaction_indicators,
)
from evaluator.readmodel.drill import indicator_raw_values, indicator_source
from evaluator.readmodel.fairness import unit_value_added, value_added_covariates
from evaluator.readmodel.heatmap import CELL, LEVELS, Heatmap, band_of, heatmap, heatmap_columns, score_bands
from evaluator.readmodel.labels import (
    SchemeLabels,
    grade_codes,
    min_responses,
    scheme_labels,
    score_decimals,
    score_scale,
)
from evaluator.readmodel.overview import (
    DIM,
    SORTS,
    UNIT_LEAGUE_COLUMNS,
    filter_options,
    grade_distribution,
    league_table,
    movers,
    parent_names,
    previous_period,
    top_dimensions,
)
from evaluator.readmodel.runs import DbState, db_state, latest_run_id, list_runs, previous_run_id, run_info
from evaluator.readmodel.scheme_health import (
    SchemeHealth,
    SchemeOverlap,
    declared_vs_effective_ranking,
    duplicate_table,
    lint_findings,
    lint_rule_names,
    scheme_health,
    scheme_overlap,
    weights,
)
from evaluator.readmodel.sensitivity import (
    grade_probabilities,
    indicator_sensitivity,
    rank_ranges,
    uncertainty_settings,
    weight_sensitivity,
)
from evaluator.readmodel.unit import (
    file_unit_appeal,
    survey_exclusions,
    unit_appeals,
    unit_flags,
    unit_indicators,
    unit_satisfaction,
    unit_summary,
    unit_trend,
)
from evaluator.readmodel.viewer import OFFICE, ROLES, Forbidden, Viewer
from evaluator.runs import RunInfo

__all__ = [
    "OFFICE",
    "indicator_raw_values",
    "indicator_source",
    "CELL",
    "LEVELS",
    "Heatmap",
    "band_of",
    "heatmap",
    "heatmap_columns",
    "score_bands",
    "min_responses",
    "file_unit_appeal",
    "unit_appeals",
    "UNIT_LEAGUE_COLUMNS",
    "DIM",
    "SORTS",
    "parent_names",
    "previous_period",
    "top_dimensions",
    "RunInfo",
    "ROLES",
    "Forbidden",
    "Viewer",
    "DbState",
    "Funnel",
    "SchemeHealth",
    "SchemeLabels",
    "SchemeOverlap",
    "batches",
    "compare_summary",
    "data_coverage",
    "db_state",
    "declared_vs_effective_ranking",
    "dimension_scores",
    "duplicate_table",
    "filter_options",
    "funnel",
    "excluded_share_funnel",
    "unit_value_added",
    "value_added_covariates",
    "grade_codes",
    "grade_distribution",
    "indicator_comparison",
    "latest_run_id",
    "league_table",
    "lint_findings",
    "lint_rule_names",
    "list_runs",
    "missing_pairs",
    "movers",
    "previous_run_id",
    "rank_ranges",
    "grade_probabilities",
    "indicator_sensitivity",
    "uncertainty_settings",
    "weight_sensitivity",
    "run_info",
    "satisfaction_indicators",
    "scheme_health",
    "scheme_labels",
    "scheme_overlap",
    "score_decimals",
    "score_scale",
    "survey_exclusions",
    "unit_choices",
    "unit_flags",
    "unit_indicators",
    "unit_satisfaction",
    "unit_summary",
    "unit_trend",
    "weights",
]
