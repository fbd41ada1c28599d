"""Tree rewrites every engine applies before rendering, so that order statistics come out bit
for bit the same on all of them (docs/scale-out.md, "Same numbers").

`MEDIAN(x)` and `QUANTILE_CONT(x, q)` interpolate between two order statistics, and engines do
it with different arithmetic: DuckDB computes `lo·(1 − d) + hi·d` with a fused multiply-add (as
its compiler built it), Spark `(c − rn)·lo + (rn − f)·hi`. The last bits differ, and a median
that decides an imputation or a speeder cut-off must not. So both are rewritten into the same
explicit steps over the sorted non-NULL values `s` (n of them, 0-based):

    rn = (n − 1) · q,  f = floor(rn),  c = ceil(rn)
    result = s[f] when f = c, else s[f] + (s[c] − s[f]) · (rn − f)

Each step is one IEEE operation in either engine (no fusing across SQL operators), so the
result is the same double everywhere. NULL when there are no values, as the aggregates are.
"""

from __future__ import annotations

from typing import cast

import sqlglot
from sqlglot import exp

#: the sorted non-NULL values of `__x` as an array, per dialect, and how to read element i (0-based)
_SORTED = {
    "duckdb": "LIST_SORT(LIST(CAST(__x AS DOUBLE)) FILTER (WHERE __x IS NOT NULL))",
    "spark": "ARRAY_SORT(COLLECT_LIST(CAST(__x AS DOUBLE)))",
}
_AT = {"duckdb": "{arr}[CAST({i} AS BIGINT) + 1]", "spark": "{arr}[CAST({i} AS INT)]"}


def _quantile(x: exp.Expression, q: exp.Expression, dialect: str) -> exp.Expression:
    arr = _SORTED[dialect]
    rn = "((COUNT(__x) - 1) * CAST(__q AS DOUBLE))"
    lo = _AT[dialect].format(arr=arr, i=f"FLOOR({rn})")
    hi = _AT[dialect].format(arr=arr, i=f"CEIL({rn})")
    tree = sqlglot.parse_one(
        f"CASE WHEN COUNT(__x) = 0 THEN NULL WHEN FLOOR({rn}) = CEIL({rn}) THEN {lo} "
        f"ELSE {lo} + ({hi} - {lo}) * ({rn} - FLOOR({rn})) END",
        read=dialect,
    )
    parts = {"__x": x, "__q": q}

    def fill(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and n.name in parts and not n.table:
            return parts[n.name].copy()
        return n

    return tree.transform(fill)


def portable_quantiles(expr: exp.Expression, dialect: str) -> exp.Expression:
    """`expr` with every MEDIAN / QUANTILE_CONT aggregate spelled out as above, for `dialect`."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Median):
            return _quantile(node.this, exp.Literal.number(0.5), dialect)
        if isinstance(node, exp.PercentileCont) and node.expression is not None:
            return _quantile(node.this, node.expression, dialect)
        return node

    return cast(exp.Expression, expr.transform(rewrite))
