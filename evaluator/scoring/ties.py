"""Percentile ties of values that went through the maths library, decided alike on every engine.

A `percentile` rule counts the units with the same value, so a last-bit difference splits a
tie. Sums add in the same order on both engines (value-ordered folds), so their last bits agree;
the maths library does not: Spark's `LN`/`EXP`/`POWER` are Java's StrictMath, DuckDB's the C
library's. Monthly means one ulp apart (6.395 and 6.3950000000000005) have one natural log in C
(a tie on DuckDB) and two in StrictMath (none on Spark): on the 2,000-unit demo data that moved
8 `hotline_response` scores by 0.026 and 2 ranks. So the values of an indicator whose transform
calls the library (`log`, `shifted_log`, `box_cox`, and `outliers`, which may fall back to the
shifted log) are ranked on the value rounded to `TIE_DIGITS` = 12 significant digits: both
logs above round to 1.85551643503 on both engines. 12 digits are far more than any measured
input carries and far fewer than the 15–17 that the library's last bit disturbs. This moves
DuckDB's own results where C's log splits such a pair (14.2225 ± 2 ulps): 70 scores by up to
0.052 and 16 ranks on the 2,000-unit demo data; none on the shipped schemes' test data.

Other values keep exact ties: rounding them too would also merge values that DuckDB keeps apart
today (the trace-heavy scheme's monthly means 4.3275 ± 1 ulp at 2,000 units: 118 scores, 20
ranks would change), and their last bits are the same on both engines already.

The key is one sqlglot tree rendered by each engine: `ROUND(x · 10^d) / 10^d` with
`d = 11 − ⌊log₁₀|x|⌋`, an integer power of ten that both engines compute exactly (|d| ≤ 22),
then one IEEE multiply (or divide), one round to an integer and one divide: the same bits in
both dialects. Near a power of ten, where LOG10's last bit could move ⌊log₁₀|x|⌋ by one, both
digit counts round x to that power of ten. Zero, ±∞, NaN and |x| outside 10^±300 are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from evaluator.scheme.models import Indicator
from evaluator.scoring.engine import lit, sql

#: significant digits on which equal values are decided (percentile ties after a log-like
#: transform)
TIE_DIGITS = 12


def library_transformed(ind: Indicator) -> bool:
    """Whether the indicator's values may go through LN/EXP/POWER (engines differ in the last
    bit there)."""
    t = ind.transform
    return t is not None and (t.log or t.shifted_log or t.box_cox is not None or t.outliers)


def rank_key(indicators: Iterable[Indicator], column: str = "value") -> exp.Expression:
    """What percentile ranks compare: `tie_key(column)` for the library-transformed
    indicators, `column` itself for the others (a row per unit × indicator, `indicator_id`)."""
    ids = [i.id for i in indicators if library_transformed(i)]
    if not ids:
        return exp.column(column)
    return exp.Case().when(exp.column("indicator_id").isin(*[lit(i) for i in ids]),
                           tie_key(column)).else_(exp.column(column))


def tie_key(column: str) -> exp.Expression:
    """`column` (an identifier of ours, never scheme text) rounded to TIE_DIGITS digits."""
    x = column
    d = f"CAST({TIE_DIGITS - 1} - FLOOR(LOG10(ABS({x}))) AS INTEGER)"
    tree = sql(f"""
        CASE WHEN NOT (ABS({x}) > 1e-300 AND ABS({x}) < 1e300) THEN {x}
             WHEN {d} BETWEEN 0 AND 22 THEN ROUND({x} * POWER(10, {d})) / POWER(10, {d})
             WHEN {d} BETWEEN -22 AND -1 THEN ROUND({x} / POWER(10, -{d})) * POWER(10, -{d})
             ELSE {x} END""")
    return tree.transform(_log10)


def _log10(node: exp.Expression) -> exp.Expression:
    """LOG10(x) as itself: sqlglot writes it LOG(10, x), which DuckDB computes as ln x / ln 10
    (⌊log₁₀ 1000⌋ = 2); both engines' LOG10 give exact results at powers of ten."""
    if isinstance(node, exp.Log) and node.expression is not None and node.this == exp.Literal.number(10):
        return exp.Anonymous(this="LOG10", expressions=[node.expression.copy()])
    return node
