"""The show-off detector on hand-made run tables in a real DuckDB, checked against a numpy
re-implementation of the documented formula (docs/fairness.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from helpers.surveys import make_scheme
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.flags import SHOW_OFF_K, SHOW_OFF_TRIM, compute_flags
from evaluator.store import connect
from evaluator.store.indicators import delete_run, insert_rows

RUN = "run-1"
Row = tuple[str, str, str, float | None, float | None]  # unit, indicator, evidence, raw, score


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One store for the module: every call replaces the run's scores and flags."""
    c = connect(":memory:")
    yield c
    c.close()


def store(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> None:
    delete_run(con, RUN)
    frame = pl.DataFrame(rows, schema={"unit_id": pl.String, "indicator_id": pl.String,
                                       "evidence": pl.String, "raw_value": pl.Float64,
                                       "score": pl.Float64}, orient="row")
    con.register("new_scores", frame.to_arrow())
    # run_indicator_scores is a view over three tables (migration 9): stored through the store
    insert_rows(con, f"(SELECT '{RUN}' AS run_id, unit_id, indicator_id, 'd' AS dimension_id, "
                "evidence, raw_value, NULL::DOUBLE AS transformed_value, 'min_max' AS rule, score, "
                "0.1 AS declared_weight, 0.1 AS weight, 0.0 AS local_weight, "
                "NULL::DOUBLE AS contribution, NULL AS missing_policy, FALSE AS imputed, "
                "NULL AS flags FROM new_scores)")
    con.unregister("new_scores")


def show_off(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> dict[str, tuple[str, str]]:
    store(con, rows)
    compute_flags(DuckDBEngine(con), make_scheme(), RUN)
    got = con.execute("SELECT unit_id, evidence, evidence_zh FROM run_flags "
                      "WHERE run_id = ? AND flag = 'show_off'", [RUN]).fetchall()
    return {u: (en, zh) for u, en, zh in got}


def league(n: int = 12) -> list[Row]:
    """u00..u11: substance falls with the unit number, paperwork is ordinary and unrelated —
    except u10 (4× the paperwork, weak results: the show-off) and u11 (4× the paperwork, but
    strong results: a busy unit that also delivers)."""
    rows: list[Row] = []
    for i in range(n):
        u = f"u{i:02d}"
        result = 95.0 if u == "u11" else 100.0 - 8 * i
        busy = 4.0 if u in {"u10", "u11"} else 1.0
        rows += [(u, "meetings", "trace", busy * (10 + (7 * i) % 5), 100.0),
                 (u, "photos", "trace", busy * (30 + (3 * i) % 4), 50.0),
                 (u, "income", "outcome", 1.0, result),
                 (u, "sat", "satisfaction", 80.0, result - 2)]
    return rows


def reference_z(rows: list[Row]) -> dict[str, float]:
    """The documented formula in numpy: robust residual z of each unit."""
    frame = pl.DataFrame(rows, schema=["u", "i", "e", "raw", "score"], orient="row")
    units = sorted(set(frame["u"]))

    def robust_sd(dev: np.ndarray) -> float:
        mad = 1.4826 * float(np.median(np.abs(dev)))
        return mad if mad > 0 else 1.2533 * float(np.mean(np.abs(dev)))

    trace = frame.filter(pl.col("e") == "trace")
    zs = []
    for _, grp in trace.group_by("i"):
        x = np.sign(grp["raw"].to_numpy()) * np.log1p(np.abs(grp["raw"].to_numpy()))
        dev = x - np.median(x)
        zs.append(pl.DataFrame({"u": grp["u"], "z": dev / robust_sd(dev)}))
    t_of = dict(pl.concat(zs).group_by("u").agg(pl.col("z").mean()).iter_rows())
    sub = (frame.filter(pl.col("e") != "trace").group_by("u", "e").agg(pl.col("score").mean())
           .group_by("u").agg(pl.col("score").mean()))
    s_of = dict(sub.iter_rows())
    t = np.array([t_of[u] for u in units])
    s = np.array([s_of[u] for u in units])
    b, a = np.polyfit(s, t, 1)
    r = t - (a + b * s)
    keep = np.abs(r - np.median(r)) <= SHOW_OFF_TRIM * robust_sd(r - np.median(r))
    b, a = np.polyfit(s[keep], t[keep], 1)
    r = t - (a + b * s)
    z = (r - np.median(r)) / robust_sd(r - np.median(r))
    return dict(zip(units, z.tolist(), strict=True))


def test_flags_the_show_off_not_the_busy_unit_that_delivers(con) -> None:
    got = show_off(con, league())
    assert set(got) == {"u10"}
    en, zh = got["u10"]
    z = reference_z(league())
    assert z["u10"] > SHOW_OFF_K and z["u11"] > SHOW_OFF_K  # u11 is spared by its substance
    assert f"{z['u10']:.1f} robust SDs above the line fitted across 12 units" in en
    assert f"高出按12个单位拟合的实绩—留痕关系线 {z['u10']:.1f} 个稳健标准差" in zh
    assert "mean outcome score 20.0, mean satisfaction score 18.0" in en
    assert "threshold 3.0" in en and "阈值 3.0" in zh
    assert "substance below the median unit's 63.0" in en and "中位数 63.0" in zh
    assert en.isascii() and not zh.isascii()


def test_adapts_to_the_spread_of_the_data(con) -> None:
    """The same 4× paperwork stands out among steady units, not among units that vary wildly."""
    wild = [(u, i, e, raw * (1 + 3 * (int(u[1:]) % 3)) if e == "trace" else raw, score)
            for u, i, e, raw, score in league() if u != "u11"]
    assert "u10" in show_off(con, [r for r in league() if r[0] != "u11"])
    assert show_off(con, wild) == {}


def test_a_measure_most_units_tie_on_still_counts(con) -> None:
    """MAD = 0 (all units but u10 report 0 photos; u10's meetings are ordinary): the mean
    absolute deviation gives the spread, so the photos still speak."""
    ordinary = {(u, i): raw for u, i, _, raw, _ in league()}
    rows = [(u, i, e, (40.0 if u == "u10" else 0.0) if i == "photos"
             else ordinary[("u09", i)] if (u, i) == ("u10", "meetings") else raw, s)
            for u, i, e, raw, s in league() if u != "u11"]
    got = show_off(con, rows)
    assert set(got) == {"u10"}
    assert "highest photos" in got["u10"][0]


def test_needs_enough_units(con) -> None:
    assert show_off(con, [r for r in league() if r[0] in {"u06", "u07", "u08", "u10"}]) == {}


def test_no_trace_or_no_substance_no_flag(con) -> None:
    assert show_off(con, [r for r in league() if r[2] != "trace"]) == {}
    assert show_off(con, [r for r in league() if r[2] == "trace"]) == {}


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.2, 5), shift=st.floats(-20, 20),
       noise=st.lists(st.floats(0.5, 2), min_size=12, max_size=12))
def test_flags_do_not_depend_on_the_score_scale(con, scale: float, shift: float,
                                                noise: list[float]) -> None:
    """Substance enters only through a fitted line: an affine change of every score (another
    score scale) leaves the flags as they were, whatever the paperwork."""
    base = [(u, i, e, raw * noise[int(u[1:])] if e == "trace" else raw, s)
            for u, i, e, raw, s in league()]
    moved = [(u, i, e, raw, None if s is None else s * scale + shift) if e != "trace"
             else (u, i, e, raw, s) for u, i, e, raw, s in base]
    before, after = set(show_off(con, base)), set(show_off(con, moved))
    assert before == after
    z = reference_z(base)
    assert before <= {u for u, v in z.items() if v > SHOW_OFF_K}


def test_evidence_numbers_parse(con) -> None:
    """Every number in the evidence is a plain decimal (no NaN, no exponent)."""
    en, zh = show_off(con, league())["u10"]
    for text in (en, zh):
        assert "nan" not in text.lower() and "e+" not in text
        assert len(re.findall(r"-?\d+\.\d", text)) >= 6


def test_the_evidence_names_the_trace_indicator_as_the_scheme_does(demo_build) -> None:
    """The show-off evidence quotes the unit's most extreme trace indicator by its scheme name in
    each language (readers of a card know "会议次数", not `meetings_held`)."""
    from evaluator.scheme import load_scheme
    from evaluator.store import connect

    scheme = load_scheme(Path(__file__).resolve().parents[1] / "indicators/demo_township.yaml").scheme
    traces = [i for i in scheme.indicators() if i.evidence == "trace"]
    con = connect(demo_build.db, read_only=True)
    try:
        got = con.execute("SELECT evidence, evidence_zh FROM run_flags WHERE flag = 'show_off'"
                          ).fetchall()
    finally:
        con.close()
    assert got, "the demo has show-offs: without them this proves nothing"
    for en, zh in got:
        assert any(f"highest {i.name.en} " in en for i in traces), en
        assert any(f"最高为 {i.name.zh} " in zh for i in traces), zh
        assert not any(f" {i.id} " in en + zh for i in traces)
