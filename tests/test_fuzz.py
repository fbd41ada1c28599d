"""Fuzzing the ingest readers (CSV, XLSX, Parquet) and the scheme loader with hypothesis.

Inputs mix every class of hostile input seen from outside (issue 11): wrong encodings (Latin-1,
Shift-JIS, UTF-16, random bytes), control characters and NUL bytes in ids, unclosed quotes,
ragged lines, columns named like the reader's own, duplicate or missing headers, huge, NaN and
infinite numbers, corrupted XLSX/Parquet bytes; for schemes: YAML tags, anchors and alias
bombs, deep nesting, huge numbers, tabs, full-width punctuation and random damage to the demo
scheme. The only outcomes allowed are a load, a clean rejection (IngestRejected/IngestError,
SchemeInvalid) and, for a rejection, every data table unchanged; anything else is a crash.

The counts (inputs tried, loaded, rejected, crashes, tables changed) are printed at the end of
the module and written as JSON to $EVALUATOR_FUZZ_REPORT when set. More examples:
EVALUATOR_FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.ingest import IngestError, IngestRejected, ingest_file
from evaluator.scheme import SchemeInvalid
from evaluator.scheme.loader import load_scheme_text
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("EVALUATOR_FUZZ_EXAMPLES", "80"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DATA_TABLES = ("units", "outcomes", "survey_responses", "targets", "events", "questions")
STATS: Counter[str] = Counter()
# a deep run (EVALUATOR_FUZZ_EXAMPLES=2000) outlasts the suite's 300 s per-test timeout
pytestmark = pytest.mark.timeout(max(300, EXAMPLES))

_TMP = tempfile.TemporaryDirectory(prefix="fuzz-")
WORK = Path(_TMP.name)
DB = WORK / "fuzz.duckdb"
os.environ.setdefault("EVALUATOR_SECRET", "fuzz")
_con = connect(DB)
ingest_file(_con, "units", ROOT / "tests" / "data" / "units.csv", db_path=DB)
ingest_file(_con, "questions", ROOT / "tests" / "data" / "questions.csv", db_path=DB)
_con.close()


def summary() -> str:
    """The counts, for conftest's terminal summary (and $EVALUATOR_FUZZ_REPORT)."""
    target = os.environ.get("EVALUATOR_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(dict(STATS), indent=2) + "\n")
    return "fuzz: " + ", ".join(f"{k} {v}" for k, v in sorted(STATS.items()))


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    return {t: tuple(con.execute(
        f"SELECT count(*), md5(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR))) "
        f"FROM {t} AS x").fetchall()[0]) for t in DATA_TABLES}


def try_ingest(area: str, kind: str, path: Path, encoding: str | None = None) -> None:
    """One fuzz input: load it; a crash or a changed table on rejection fails the test."""
    STATS[f"{area} tried"] += 1
    con = connect(DB)
    try:
        before = fingerprint(con)
        try:
            result = ingest_file(con, kind, path, db_path=DB, force=True,
                                 rejects=WORK / "rejects", encoding=encoding)
        except (IngestRejected, IngestError):
            STATS[f"{area} rejected"] += 1
            if fingerprint(con) != before:
                STATS[f"{area} tables changed"] += 1
                raise AssertionError(f"a rejected {kind} file changed a data table") from None
            return
        except Exception as exc:
            STATS[f"{area} crashes"] += 1
            raise AssertionError(f"crash on {path.name}: {type(exc).__name__}: {exc}") from exc
        STATS[f"{area} loaded"] += 1
        stored = con.execute(
            "SELECT row_count FROM load_batches WHERE batch_id = ?", [result.batch_id]
        ).fetchall()[0][0]
        table = {"surveys": "survey_responses"}.get(kind, kind)
        rows = con.execute(f"SELECT count(*) FROM {table} WHERE batch_id = ?",
                           [result.batch_id]).fetchall()[0][0]
        assert rows == stored == result.rows  # all of it, never part
    finally:
        con.close()


# --------------------------------------------------------------------------- cell and file parts

KINDS = {
    "units": ["unit_id", "name", "unit_type", "peer_group", "parent_id", "population"],
    "outcomes": ["unit_id", "period", "measure", "value"],
    "surveys": ["response_id", "unit_id", "period", "question", "answer", "respondent", "weight",
                "duration_s", "channel", "submitted_at"],
    "targets": ["unit_id", "period", "measure", "target"],
    "events": ["unit_id", "period", "event", "value", "note"],
    "questions": ["question", "scale_min", "scale_max", "text_zh", "text_en"],
}
hostile_text = st.sampled_from([
    "", " ", "0101", "0102", "0000", "2026", "2026Q1", "2026-03", "2026-13", "q_overall", "x",
    "a\x00b", "\x00", "tab\there", "line\nbreak", "cr\rhere", "\u2028", "\x7f", "\x85",
    '"', '""', '"quoted, with comma"', "a,b", "a;b", "1e308", "-1e308", "inf", "-inf", "NaN",
    "nan", "1.5", "-3", "12 分", "１２", "Québec", "東京", "青山镇", "💥", "=1+1", "@SUM(A1)",
    "\ufeffbom", "_row", "__row__", "__blank__", "x" * 300, "2026-03-01 08:30:00", "not a date",
])
cells = st.one_of(hostile_text, st.text(max_size=12))
# values that pass, per column, so that loads (and their all-or-nothing writes) are fuzzed too
GOOD = {
    "unit_id": ["0101", "0102", "0201"], "parent_id": ["C01", ""], "name": ["青山镇", "Québec"],
    "unit_type": ["township"], "peer_group": ["urban", ""], "population": ["1200", ""],
    "period": ["2026", "2026Q1", "2026-03"], "measure": ["m1", "m2", "income_growth_pct"],
    "value": ["1.5", "0", "-2", "1e6"], "target": ["3"], "event": ["award"], "note": ["说明", ""],
    "response_id": ["R1", "R2", "R3"], "question": ["q_overall", "q_service"],
    "answer": ["1", "3", "5"], "respondent": ["13900000000", ""], "weight": ["1", ""],
    "duration_s": ["120", ""], "channel": ["phone", ""], "submitted_at": ["2026-03-01 08:30:00"],
    "scale_min": ["1"], "scale_max": ["5"], "text_zh": ["题"], "text_en": ["q"],
}


def cell_for(column: str) -> st.SearchStrategy[str]:
    good = GOOD.get(column)
    return st.one_of(st.sampled_from(good), cells) if good else cells
encodings = st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "latin-1", "shift_jis",
                             "utf-16", "cp1252", "big5"])


@st.composite
def table(draw) -> tuple[str, list[str], list[list[str]]]:
    kind = draw(st.sampled_from(sorted(KINDS)))
    cols = list(KINDS[kind])
    if draw(st.booleans()):
        cols = draw(st.permutations(cols))
    if draw(st.integers(0, 6)) == 0:
        cols = cols[: draw(st.integers(0, len(cols)))]  # missing columns
    extra = draw(st.lists(st.sampled_from(["_row", "__row__", "__blank__", "unit_id", "备注",
                                           "Unit ID", "", "a\x00b", "value"]), max_size=2))
    cols = cols + (extra if draw(st.integers(0, 2)) == 0 else [])
    mode = draw(st.sampled_from(["good", "mixed", "hostile"]))
    if mode == "good":  # loads, so that the all-or-nothing write is fuzzed too
        row = st.tuples(*(st.sampled_from(GOOD.get(c) or ["x"]) for c in cols)).map(list)
    elif mode == "mixed":
        row = st.tuples(*(cell_for(c) for c in cols)).map(list)
    else:
        row = st.lists(cells, min_size=len(cols), max_size=len(cols))
    rows = draw(st.lists(row, max_size=6))
    return kind, cols, rows


def _csv_text(cols: list[str], rows: list[list[str]], sep: str) -> str:
    buf = io.StringIO()
    import csv

    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows(rows)
    return buf.getvalue()


@st.composite
def csv_bytes(draw) -> tuple[str, bytes, str | None]:
    kind, cols, rows = draw(table())
    text = _csv_text(cols, rows, draw(st.sampled_from([",", ",", ";", "\t"])))
    damage = draw(st.sampled_from(["none", "none", "none", "unclosed_quote", "ragged", "crlf",
                                   "truncate", "random", "nul"]))
    if damage == "unclosed_quote":
        text = text.rstrip("\n") + ',"never closed\n0101,2026,m,1\n'
    elif damage == "ragged":
        text += "0101,2026,m,1,2,3,4,5,6,7,8,9\n"
    elif damage == "crlf":
        text = text.replace("\n", "\r\n")
    elif damage == "nul":
        text = text.replace(",", ",\x00", 1)
    encoding = draw(st.one_of(st.just("utf-8"), encodings))
    data = text.encode(encoding, errors="replace")
    if damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "random":
        data = draw(st.binary(min_size=0, max_size=4096))
    given_encoding = draw(st.sampled_from([None] * 6 + ["cp1252", "gb18030", "shift_jis",
                                                        "utf-16", "utf-8", "rot13", "nope"]))
    return kind, data, given_encoding


@FUZZ
@given(csv_bytes())
def test_fuzz_csv(case: tuple[str, bytes, str | None]) -> None:
    kind, data, encoding = case
    path = WORK / "fuzz.csv"
    path.write_bytes(data)
    try_ingest("csv", kind, path, encoding)


@st.composite
def frame(draw) -> tuple[str, pl.DataFrame]:
    kind, cols, rows = draw(table())
    cols = [c if c else "blank" for c in cols]
    seen: Counter[str] = Counter()
    unique = []
    for c in cols:  # spreadsheet writers need unique headers; readers see duplicates otherwise
        seen[c] += 1
        unique.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
    data = {c: [r[i] for r in rows] for i, c in enumerate(unique)}
    df = pl.DataFrame(data, schema={c: pl.String for c in unique})
    if draw(st.booleans()) and df.width:  # typed columns, as Parquet from other tools
        col = unique[draw(st.integers(0, len(unique) - 1))]
        df = df.with_columns(pl.col(col).cast(pl.Float64, strict=False))
    return kind, df


@FUZZ
@given(frame(), st.sampled_from(["none", "none", "truncate", "flip"]), st.data())
def test_fuzz_parquet(case: tuple[str, pl.DataFrame], damage: str, data) -> None:
    kind, df = case
    path = WORK / "fuzz.parquet"
    df.write_parquet(path)
    _damage(path, damage, data)
    try_ingest("parquet", kind, path)


@FUZZ
@given(frame(), st.sampled_from(["none", "none", "truncate", "flip"]), st.data())
def test_fuzz_xlsx(case: tuple[str, pl.DataFrame], damage: str, data) -> None:
    kind, df = case
    path = WORK / "fuzz.xlsx"
    # control characters cannot be stored in XLSX cells; the writer would refuse them
    clean = df.with_columns(pl.col(pl.String).str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f]",
                                                              "?"))
    clean = clean.rename({c: c.replace("\x00", "?") for c in clean.columns})
    clean.write_excel(path)
    _damage(path, damage, data)
    try_ingest("xlsx", kind, path)


def _damage(path: Path, damage: str, data) -> None:
    """Truncate or flip bytes. Positions are drawn as fractions: a writer's output length may
    vary between runs (XLSX stores the time), and hypothesis needs the same draws on replay."""
    raw = bytearray(path.read_bytes())
    where = st.integers(0, 1 << 16)
    if damage == "truncate":
        raw = raw[: len(raw) * data.draw(where) >> 16]
    elif damage == "flip" and raw:
        for _ in range(data.draw(st.integers(1, 8))):
            i = (len(raw) - 1) * data.draw(where) >> 16
            raw[i] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))


# --------------------------------------------------------------------------- schemes

DEMO = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
SNIPPETS = [
    "!!python/object/new:os.system [echo hi]", "!!python/name:os.system", "!!binary aGk=",
    "&a [1, 2]", "*a", "*missing", "[" * 300 + "]" * 300, "{a: " * 100 + "1" + "}" * 100,
    "1e308", "-1e308", ".inf", ".nan", "\t", "：", "，", "\x00", "? complex key", "--- \n",
    "<<: *a", "!!set {a, b}", "9" * 400, "'unterminated", '"\\x', "- - - - - -",
]


@st.composite
def scheme_text(draw) -> str:
    how = draw(st.sampled_from(["mutate", "mutate", "mutate", "bomb", "random", "deep"]))
    if how == "random":
        return draw(st.text(max_size=400))
    if how == "bomb":
        width, levels = draw(st.integers(2, 12)), draw(st.integers(1, 10))
        text = "a0: &a0 [" + ",".join(["x"] * width) + "]\n"
        for i in range(1, levels + 1):
            text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]\n"
        return DEMO + "\n" + text
    if how == "deep":
        depth = draw(st.integers(10, 3000))
        return DEMO + "\nextra: " + draw(st.sampled_from(["[", "{a: ", "- "])) * depth + "\n"
    lines = DEMO.splitlines()
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "insert", "append", "number", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(SNIPPETS)))
        elif op == "append":
            lines[i] += " " + draw(st.sampled_from(SNIPPETS))
        elif op == "number":
            lines[i] = lines[i].replace("0.", draw(st.sampled_from(["1e308", "-0.", "NaN", "9e9"])),
                                        1)
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@FUZZ
@given(scheme_text())
def test_fuzz_scheme_loader(text: str) -> None:
    STATS["scheme tried"] += 1
    try:
        load_scheme_text(text, "fuzz.yaml")
    except SchemeInvalid as exc:
        STATS["scheme rejected"] += 1
        assert exc.issues and all(i.message for i in exc.issues)
        return
    except Exception as exc:
        STATS["scheme crashes"] += 1
        raise AssertionError(f"crash: {type(exc).__name__}: {exc}") from exc
    STATS["scheme valid"] += 1


# --------------------------------------------------------------------------- --db and the CLI


@FUZZ
@given(st.sampled_from(["random", "csv", "truncated_duckdb", "duckdb_magic", "empty"]),
       st.binary(max_size=512))
def test_fuzz_db_file(kind: str, noise: bytes) -> None:
    """Whatever file `--db` names, the store opens it as a DuckDB database or refuses it."""
    from evaluator.store import StoreError

    STATS["db tried"] += 1
    path = WORK / "fuzzdb.duckdb"
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    data = {"random": noise, "csv": b"unit_id,name\n0101,x\n" + noise, "empty": b"",
            "truncated_duckdb": DB.read_bytes()[: 4096 + len(noise)],
            "duckdb_magic": b"\0" * 8 + b"DUCK" + noise}[kind]
    path.write_bytes(data)
    try:
        connect(path).close()
    except StoreError:
        STATS["db rejected"] += 1
        return
    except Exception as exc:
        STATS["db crashes"] += 1
        raise AssertionError(f"crash: {type(exc).__name__}: {exc}") from exc
    STATS["db opened"] += 1


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 10))
@given(csv_bytes(), st.sampled_from(["none", "input", "db", "txt", "folder", "csv"]),
       st.sampled_from([[], ["--map", "x=unit_id"], ["--map", "bad"], ["--map", "MAPFILE"]]))
def test_fuzz_cli_ingest(case: tuple[str, bytes, str | None], rejects: str,
                         mapping: list[str]) -> None:
    """The real command: exit 0 or 1 with a message, never a traceback or "internal error";
    the input, the database, the map file and other files are never overwritten by rejects."""
    from typer.testing import CliRunner

    from evaluator.cli import app

    STATS["cli tried"] += 1
    kind, data, encoding = case
    path = WORK / "cli.csv"
    path.write_bytes(data)
    mapfile = WORK / "map.txt"
    mapfile.write_text("unit_id=unit_id\n")
    txt = WORK / "notes.txt"
    txt.write_text("keep")
    target = {"none": None, "input": path, "db": DB, "txt": txt, "folder": WORK / "rj",
              "csv": WORK / "rj.csv"}[rejects]
    args = ["ingest", "--db", str(DB), "--kind", kind, str(path), "--force"]
    args += ["--rejects", str(target)] if target else []
    args += [str(mapfile) if m == "MAPFILE" else m for m in mapping]
    args += ["--encoding", encoding] if encoding else []
    result = CliRunner().invoke(app, args, catch_exceptions=False)  # a bug must not read as 1
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, \
        result.output
    assert path.read_bytes() == data and txt.read_text() == "keep"
    assert mapfile.read_text() == "unit_id=unit_id\n"
    if rejects in ("input", "db"):
        assert result.exit_code == 1  # refused (its inputs named), whatever else is wrong
    STATS["cli rejected" if result.exit_code else "cli loaded"] += 1
