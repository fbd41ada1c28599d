"""Imputation beyond the peer-group median: the mean or median of the unit's group (by a units
column: peer group, parent unit or unit type), or the unit's own value of the year before.

Runs after `values.build_values` has its pairs and coverage (`_sc_v0`), and only for schemes
that use these policies, so every other scheme's tables are built as before. As with
`peer_median`, only units scored on the indicator's dimension (`covered`) are imputed, from
the raw values of the units scored; a group without any value falls back to all units.
"""

from __future__ import annotations

import polars as pl

from evaluator.scheme.models import Indicator, MissingPolicy, Scheme
from evaluator.scoring.engine import Engine, create_temp, sql
from evaluator.scoring.panel import build_yearly_values

OTHER_POLICIES = (MissingPolicy.group_mean, MissingPolicy.group_median,
                  MissingPolicy.previous_period)
IMPUTED = "_sc_imputed"
GROUP_REFS = "_sc_impute_refs"


def imputed_indicators(scheme: Scheme) -> list[Indicator]:
    return [i for i in scheme.indicators() if i.missing in OTHER_POLICIES]


def build_imputations(engine: Engine, scheme: Scheme, period: str) -> bool:
    """`IMPUTED` (unit_id, indicator_id, value) for the missing values these policies fill,
    and `GROUP_REFS` (the group means/medians used). False when no indicator uses them."""
    inds = imputed_indicators(scheme)
    if not inds:
        return False
    engine.register("_sc_imp_meta", pl.DataFrame(
        [{"indicator_id": i.id, "by": i.impute_by} for i in inds],
        schema={"indicator_id": pl.String, "by": pl.String}))
    year = int(period)
    build_yearly_values(engine, [(i, (year - 1, year - 1)) for i in inds
                                 if i.missing is MissingPolicy.previous_period], "_sc_prev")
    create_temp(engine, "_sc_imp_keys", sql(
        """
        SELECT p.unit_id, p.indicator_id, p.raw_value, p.missing_policy,
               CASE m.by WHEN 'parent_id' THEN u.parent_id WHEN 'unit_type' THEN u.unit_type
                         ELSE u.peer_group END AS grp
        FROM _sc_pairs p JOIN _sc_imp_meta m ON m.indicator_id = p.indicator_id
        JOIN current_units u ON u.unit_id = p.unit_id
        """
    ))
    create_temp(engine, GROUP_REFS, sql(
        """
        SELECT indicator_id, grp, AVG(raw_value) AS mean, MEDIAN(raw_value) AS med
        FROM _sc_imp_keys WHERE raw_value IS NOT NULL AND grp IS NOT NULL
        GROUP BY indicator_id, grp
        UNION ALL
        SELECT indicator_id, NULL, AVG(raw_value), MEDIAN(raw_value)
        FROM _sc_imp_keys WHERE raw_value IS NOT NULL GROUP BY indicator_id
        """
    ))
    create_temp(engine, IMPUTED, sql(
        f"""
        SELECT k.unit_id, k.indicator_id,
               CASE k.missing_policy WHEN 'group_mean' THEN COALESCE(g.mean, a.mean)
                                     WHEN 'group_median' THEN COALESCE(g.med, a.med)
                                     ELSE pv.v0 END AS value
        FROM _sc_imp_keys k
        LEFT JOIN {GROUP_REFS} g ON g.indicator_id = k.indicator_id AND g.grp = k.grp
        LEFT JOIN {GROUP_REFS} a ON a.indicator_id = k.indicator_id AND a.grp IS NULL
        LEFT JOIN _sc_prev pv ON pv.unit_id = k.unit_id AND pv.indicator_id = k.indicator_id
        WHERE k.raw_value IS NULL
        """
    ))
    create_temp(engine, "_sc_v0_base", sql("SELECT * FROM _sc_v0"))
    create_temp(engine, "_sc_v0", sql(
        f"""
        SELECT v.unit_id, v.pg, v.indicator_id, v.dimension_id, v.evidence, v.missing_policy,
               v.measure, v.raw_value, v.unit_target, v.covered, v.unit_ix, v.node_ix,
               CASE WHEN v.imputed_value IS NULL AND v.covered THEN i.value
                    ELSE v.imputed_value END AS imputed_value,
               v.imputed OR COALESCE(v.covered AND i.value IS NOT NULL, FALSE) AS imputed
        FROM _sc_v0_base v
        LEFT JOIN {IMPUTED} i ON i.unit_id = v.unit_id AND i.indicator_id = v.indicator_id
        """
    ))
    return True


def group_refs_query() -> str:
    """Rows for `REFS`: the group means and medians these policies used (group in `pg`)."""
    return f"""
        SELECT r.indicator_id, r.grp AS pg, CAST(NULL AS VARCHAR) AS unit_id,
               CASE WHEN m.missing_policy = 'group_mean' THEN 'impute_group_mean'
                    ELSE 'impute_group_median' END AS name,
               CASE WHEN m.missing_policy = 'group_mean' THEN r.mean ELSE r.med END AS value
        FROM {GROUP_REFS} r
        JOIN (SELECT DISTINCT indicator_id, missing_policy FROM _sc_imp_keys
              WHERE missing_policy IN ('group_mean', 'group_median')) m
          ON m.indicator_id = r.indicator_id
        """
