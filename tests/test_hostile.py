"""Issue 11 regressions, each through the CLI: the store, the parsers and sign-in under hostile
input and faults. (Bad ingest files, one class each, are in test_ingest_rejects.CASES; the fuzz
tests in test_fuzz.py mix all classes.)"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.ingest import DATA, cli, fingerprint, ingest, load_base

from evaluator import users as u
from evaluator.appstore import app_db_path
from evaluator.cli.serve_cmds import _port_free
from evaluator.demo_data import generate
from evaluator.pseudonym import Pseudonymiser
from evaluator.snapshot import snapshot_path

ROOT = Path(__file__).resolve().parent.parent
SCHEME = ROOT / "indicators" / "demo_township.yaml"
PW = "correct-horse-battery"


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


# --------------------------------------------------------------------------- --db must be DuckDB


@pytest.mark.parametrize("name,content", [
    ("units.csv", b"unit_id,name,unit_type\n0101,x,township\n"),
    ("data.tsv", b"unit_id\tname\n0101\tx\n"),
    ("data.json", b'[{"unit_id": "0101"}]'),
    ("data.parquet", None),
    ("empty.duckdb", b""),
])
def test_db_that_is_not_a_duckdb_file_is_refused_before_any_work(tmp_path: Path, name, content):
    db = tmp_path / name
    if content is None:
        pl.DataFrame({"unit_id": ["0101"]}).write_parquet(db)
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    for args in (("ingest", "--db", db, "--kind", "units", DATA / "units.csv"),
                 ("score", "--db", db, "--scheme", SCHEME, "--period", "2026"),
                 ("export", "--db", db, "--format", "csv", "--out", tmp_path / "x"),
                 ("publish", "--db", db)):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "not a DuckDB database" in result.output, result.output
        _no_traceback(result)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no key, no rejects, no snapshot


# --------------------------------------------------------------------------- --rejects


def _db_and_a_bad_outcomes_file(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "r.duckdb"
    load_base(db)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit_id,period,measure,value\n0101,2026,x,abc\n")
    return db, bad


def test_rejects_never_overwrites_an_input(tmp_path: Path):
    db, bad = _db_and_a_bad_outcomes_file(tmp_path)
    mapping = tmp_path / "map.txt"
    mapping.write_text("value=value\n")
    before = fingerprint(db)
    for target in (bad, db, mapping):
        original = target.read_bytes()
        result = ingest(db, "outcomes", bad, "--rejects", target, "--map", mapping)
        assert result.exit_code == 1 and "is an input of this command" in result.output, \
            result.output
        assert target.read_bytes() == original
    assert fingerprint(db) == before


def test_rejects_naming_an_existing_non_csv_file_is_explained(tmp_path: Path):
    db, bad = _db_and_a_bad_outcomes_file(tmp_path)
    other = tmp_path / "notes.txt"
    other.write_text("keep me")
    result = ingest(db, "outcomes", bad, "--rejects", other)
    assert result.exit_code == 1 and "not a .csv" in result.output, result.output
    _no_traceback(result)
    assert other.read_text() == "keep me"


# --------------------------------------------------------------------------- odd input files


def test_a_symlink_to_a_system_file_is_refused(tmp_path: Path):
    db = tmp_path / "s.duckdb"
    load_base(db)
    link = tmp_path / "env.csv"
    link.symlink_to("/proc/self/environ")
    before = fingerprint(db)
    result = ingest(db, "outcomes", link)
    assert result.exit_code == 1 and "not a regular data file" in result.output, result.output
    _no_traceback(result)
    assert fingerprint(db) == before


def test_a_column_named_like_the_readers_own_is_just_an_extra_column(tmp_path: Path):
    db = tmp_path / "x.duckdb"
    load_base(db)
    path = tmp_path / "o.csv"
    path.write_text("unit_id,period,measure,value,_row,__row__,__blank__\n"
                    "0101,2026,extra_m,1.5,9,9,9\n")
    result = ingest(db, "outcomes", path)
    assert result.exit_code == 0, result.output
    assert "ignored columns: _row, __row__" in result.output
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT value, source_row FROM outcomes WHERE measure = 'extra_m'").fetchall()
    con.close()
    assert row == [(1.5, 2)]


def test_outcomes_before_units_give_one_message(tmp_path: Path):
    db = tmp_path / "o.duckdb"
    files = generate(tmp_path / "demo", units=8, seed=3)
    result = ingest(db, "outcomes", files.path("outcomes"))
    assert result.exit_code == 1
    assert "1 problem(s)" in result.output and "no units are loaded yet" in result.output
    assert result.output.count("✗") == 1, result.output


def test_encoding_option_reads_latin1_verbatim(tmp_path: Path):
    db = tmp_path / "e.duckdb"
    path = tmp_path / "u.csv"
    path.write_bytes("unit_id,name,unit_type\nQC1,Québec,township\n".encode("latin-1"))
    refused = ingest(db, "units", path)
    assert refused.exit_code == 1 and "--encoding" in refused.output
    assert "cp1252 → 'QC1,Québec,township'" in refused.output, refused.output
    result = ingest(db, "units", path, "--encoding", "cp1252")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT name, encoding FROM units JOIN load_batches USING (batch_id)"
                       ).fetchall() == [("Québec", "cp1252")]
    con.close()
    for name in ("klingon", "rot13", "base64"):  # not a name, or not a text encoding
        unknown = ingest(db, "units", path, "--encoding", name, "--force")
        assert unknown.exit_code == 1 and "unknown encoding" in unknown.output, unknown.output
    wrong = ingest(db, "units", path, "--encoding", "utf-16", "--force")  # no BOM: not UTF-16
    assert wrong.exit_code == 1 and "not valid utf-16" in wrong.output, wrong.output
    _no_traceback(wrong)


def test_gb18030_everyday_chinese_is_still_recognised(tmp_path: Path):
    db = tmp_path / "g.duckdb"
    result = ingest(db, "units", DATA / "units_gb18030.csv")
    assert result.exit_code == 0, result.output


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_during_the_load_is_explained_and_changes_nothing(tmp_path: Path):
    """A file-size limit makes every write past it fail as a full disk would (EFBIG/ENOSPC)."""
    db = tmp_path / "full.duckdb"
    load_base(db)
    con = duckdb.connect(str(db))
    con.execute("CHECKPOINT")
    con.close()
    n = 400_000
    big = tmp_path / "big.csv"
    pl.DataFrame({"unit_id": ["0101"] * n, "period": ["2026"] * n,
                  "measure": [f"m{i}" for i in range(n)], "value": [1.0] * n}).write_csv(big)
    before = fingerprint(db)
    limit = db.stat().st_size + (1 << 20)
    proc = subprocess.run(
        [sys.executable, "-m", "evaluator", "ingest", "--db", str(db), "--kind", "outcomes",
         str(big)], capture_output=True, text=True, preexec_fn=_limit_file_size(limit),
        env={**os.environ, "EVALUATOR_INGEST_CHUNK_ROWS": "200000"}, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "disk is full" in proc.stderr, proc.stderr
    assert "report" not in proc.stderr and "internal error" not in proc.stderr
    assert fingerprint(db) == before


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_grown_file_after_the_next_open(tmp_path: Path):
    db = tmp_path / "grow.duckdb"
    load_base(db)
    con = duckdb.connect(str(db))
    con.execute("CHECKPOINT")
    con.close()
    size0 = db.stat().st_size
    n = 1_000_000
    big = tmp_path / "big.csv"
    pl.DataFrame({"unit_id": ["0101"] * n, "period": ["2026"] * n,
                  "measure": [f"m{i}" for i in range(n)], "value": [1.0] * n}).write_csv(big)
    marker = tmp_path / "written"
    proc = subprocess.Popen(
        [sys.executable, "-m", "evaluator", "ingest", "--db", str(db), "--kind", "outcomes",
         str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "EVALUATOR_INGEST_CHUNK_ROWS": "900000",
             "EVALUATOR_INGEST_PAUSE": f"{marker}:120"})
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    grown = db.stat().st_size
    assert grown > size0 + (2 << 20)  # the uncommitted rows were written into the file
    result = ingest(db, "units", DATA / "units_004.csv")  # any write command opens it
    assert result.exit_code == 0, result.output
    assert db.stat().st_size < size0 + (512 << 10), (size0, grown, db.stat().st_size)


# --------------------------------------------------------------------------- side files


def _load_units(db: Path, units: int) -> None:
    files = generate(db.parent / f"demo_{db.name}", units=units, seed=units)
    assert ingest(db, "units", files.path("units")).exit_code == 0


def test_two_databases_with_one_stem_keep_their_own_side_files(tmp_path: Path):
    a, b = tmp_path / "x.duckdb", tmp_path / "x.db"
    _load_units(a, 12)
    _load_units(b, 8)
    for db in (a, b):
        assert cli("publish", "--db", db).exit_code == 0
    assert snapshot_path(a) != snapshot_path(b)
    for db, n in ((a, 12), (b, 8)):
        con = duckdb.connect(str(snapshot_path(db)), read_only=True)
        assert con.execute("SELECT count(*) FROM units").fetchall()[0][0] == n
        con.close()
    u.add_user(a, "ann", PW, role="office")
    u.add_user(b, "bob", PW, role="office")
    assert [x.name for x in u.list_users(a)] == ["ann"]
    assert [x.name for x in u.list_users(b)] == ["bob"]
    assert app_db_path(a).name == "x.duckdb.app.db" and app_db_path(b).name == "x.db.app.db"


def test_old_side_files_beside_a_duckdb_keep_working(tmp_path: Path, monkeypatch):
    """An app store (`x.app.db`) and a key (`x.key`) named the old way are taken over."""
    monkeypatch.delenv("EVALUATOR_SECRET", raising=False)
    db = tmp_path / "x.duckdb"
    _load_units(db, 8)
    u.add_user(db, "wang", PW, role="office")
    key = db.with_name(db.name + ".key")
    key.write_text("ab" * 32 + "\n")
    expected = Pseudonymiser(bytes.fromhex("ab" * 32)).hash("13912345678")
    store = app_db_path(db)
    os.rename(store, tmp_path / "x.app.db")  # as an older version named them
    os.rename(key, tmp_path / "x.key")
    result = cli("users", "list", "--db", db)
    assert result.exit_code == 0 and "wang" in result.output, result.output
    assert store.exists() and not (tmp_path / "x.app.db").exists()
    assert Pseudonymiser.for_db(db).hash("13912345678") == expected
    assert key.exists() and not (tmp_path / "x.key").exists()


def test_an_old_side_file_two_databases_could_own_is_not_guessed(tmp_path: Path):
    a = tmp_path / "x.duckdb"
    _load_units(a, 8)
    _load_units(tmp_path / "x.db", 8)
    u.add_user(a, "wang", PW, role="office")
    os.rename(app_db_path(a), tmp_path / "x.app.db")
    result = cli("users", "list", "--db", a)
    assert result.exit_code == 1 and "could belong to" in result.output, result.output
    _no_traceback(result)
    assert (tmp_path / "x.app.db").exists()


def test_users_add_says_where_it_writes_and_the_store_is_private(tmp_path: Path):
    db = tmp_path / "d.duckdb"
    _load_units(db, 8)
    result = cli("users", "add", "li", "--role", "office", "--db", db, "--password-stdin", stdin=PW)
    assert result.exit_code == 0, result.output
    store = app_db_path(db)
    assert str(store) in result.output
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    for extra in ("-wal", "-shm"):
        side = store.with_name(store.name + extra)
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0


def test_make_clean_removes_the_app_store(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("evaluator.duckdb", "evaluator.duckdb.app.db", "evaluator.duckdb.app.db-wal",
                 "evaluator.app.db", "evaluator.duckdb.key"):
        (data / name).write_text("x")
    proc = subprocess.run(["make", "-f", str(ROOT / "Makefile"), "clean",
                           f"VENV={tmp_path / 'no-venv'}"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert list(data.iterdir()) == []


# --------------------------------------------------------------------------- sign-in throttle


def test_parallel_wrong_passwords_run_at_most_the_limit_of_checks(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    _load_units(db, 8)
    u.add_user(db, "zhou", PW, role="office")
    start = threading.Barrier(24)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        outcomes.append(u.sign_in(db, "zhou", "wrong-password-123")[1])

    threads = [threading.Thread(target=attempt) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    con = sqlite3.connect(app_db_path(db))
    log = con.execute("SELECT action, detail FROM user_log WHERE user_name = 'zhou' "
                      "AND action LIKE 'signin%'").fetchall()
    con.close()
    checked = [d for a, d in log if d == "wrong password"]
    assert len(log) == 24  # every attempt is logged
    assert len(checked) <= u.MAX_FAILURES
    assert outcomes.count("throttled") == 24 - len(checked)
    assert u.sign_in(db, "zhou", PW) == (None, "throttled")  # the right one waits too


# --------------------------------------------------------------------------- service


def test_port_check_ignores_time_wait_but_not_a_listener():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    assert not _port_free(port)  # a live listener: in use
    conn.close()  # the server side closes first: its end of the connection enters TIME_WAIT
    server.close()
    time.sleep(0.2)
    client.close()
    if shutil.which("ss"):  # the port really has a connection in TIME_WAIT
        out = subprocess.run(["ss", "-tan", f"sport = :{port}"], capture_output=True, text=True)
        assert "TIME-WAIT" in out.stdout, out.stdout
    assert _port_free(port)


@pytest.mark.slow
def test_dashboard_restarts_on_a_port_in_time_wait(tmp_path: Path, demo_db: Path):
    import urllib.request

    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()
    server.close()
    client.close()
    proc = subprocess.Popen([sys.executable, "-m", "evaluator", "dashboard", "--db", str(db),
                             "--port", str(port), "--no-auth"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_stale_snapshot_temporaries_are_cleaned_at_the_next_publish(tmp_path: Path):
    db = tmp_path / "p.duckdb"
    _load_units(db, 8)
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [snaps / f".p.duckdb.{dead.pid}.0badc0de.tmp.duckdb",
             snaps / f".p.duckdb.{dead.pid}.0badc0de.tmp.duckdb.wal",
             snaps / f".p.{dead.pid}.1badc0de.tmp.duckdb"]  # the older naming
    alive = snaps / f".p.duckdb.{os.getpid()}.2badc0de.tmp.duckdb"  # a publisher still at work
    other = snaps / f".q.duckdb.{dead.pid}.3badc0de.tmp.duckdb"  # another database's
    for p in (*stale, alive, other):
        p.write_bytes(b"x" * 1024)
    result = cli("publish", "--db", db)
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in stale)
    assert alive.exists() and other.exists()


# --------------------------------------------------------------------------- schemes


def _scheme_with(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _nested(depth: int) -> str:
    ind = ("- id: i1\n  name: {zh: a, en: a}\n  evidence: outcome\n  weight: 1\n"
           "  source: {measure: income_growth_pct}\n  rule: {type: min_max}\n")
    body = ind
    for d in range(1, depth + 1):
        key = "indicators" if d == 1 else "dimensions"
        inner = "\n".join("    " + line for line in body.splitlines())
        body = f"- id: d{d}\n  name: {{zh: d, en: d}}\n  weight: 1\n  {key}:\n{inner}\n"
    return ("id: n\nname: {zh: n, en: n}\nyear: 2026\nunit_types: [township]\ndimensions:\n"
            + body)


def _bomb() -> str:
    text = 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 10):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize("case,words", [
    ("python_tag", "YAML tag !!python/object/new:os.system is not allowed"),
    ("deep_flow_list", "nested more than 64 levels deep"),
    ("nested_dimensions", "nested more than 64 levels deep"),
    ("alias_bomb", "expands to more than 100,000 YAML values"),
    ("huge_scale", "scale.max: 1e+308 is too large"),
])
def test_hostile_schemes_are_refused_with_a_location(tmp_path: Path, case: str, words: str):
    demo = SCHEME.read_text(encoding="utf-8")
    text = {
        "python_tag": demo.replace("id: demo_township", "id: !!python/object/new:os.system "
                                   "[echo hi]", 1),
        "deep_flow_list": demo + "\nextra: " + "[" * 5000 + "]" * 5000 + "\n",
        "nested_dimensions": _nested(150),
        "alias_bomb": demo + "\n" + _bomb(),
        "huge_scale": demo.replace("scale: {min: 0, max: 100, decimals: 2}",
                                   "scale: {min: -1.0e+308, max: 1.0e+308}"),
    }[case]
    path = _scheme_with(tmp_path, f"{case}.yaml", text)
    started = time.monotonic()
    result = cli("validate", path)
    assert time.monotonic() - started < 20
    assert result.exit_code == 1, result.output
    assert words in result.output, result.output
    assert f"{path}:" in result.output  # located: file and line
    _no_traceback(result)


def test_thirty_nested_dimensions_still_validate(tmp_path: Path):
    result = cli("validate", _scheme_with(tmp_path, "n.yaml", _nested(30)))
    _no_traceback(result)
    assert result.exit_code in (0, 1)


def test_a_huge_scale_is_refused_by_score_before_the_engine(tmp_path: Path, demo_db: Path):
    path = _scheme_with(tmp_path, "s.yaml", SCHEME.read_text(encoding="utf-8").replace(
        "scale: {min: 0, max: 100, decimals: 2}", "scale: {min: -1.0e+308, max: 1.0e+308}"))
    db = tmp_path / "s.duckdb"
    shutil.copy(demo_db, db)
    result = cli("score", "--db", db, "--scheme", path, "--period", "2026")
    assert result.exit_code == 1 and "too large" in result.output, result.output
    assert "Binder" not in result.output
    _no_traceback(result)


# --------------------------------------------------------------------------- coverage


@pytest.fixture(scope="module")
def sparse_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Demo data for 10 units plus 0998 (survey answers only) and 0999 (no data at all),
    loaded and scored through the CLI with --out."""
    tmp = tmp_path_factory.mktemp("sparse")
    files = generate(tmp / "demo", units=10, seed=11)
    units = pl.read_csv(files.path("units"), infer_schema=False)
    extra = units.head(2).with_columns(unit_id=pl.Series(["0998", "0999"]),
                                       name=pl.Series(["只有问卷镇", "空白镇"]))
    pl.concat([units, extra]).write_csv(files.path("units"))
    surveys = pl.read_csv(files.path("surveys"), infer_schema=False)
    first = surveys["unit_id"][0]
    mine = surveys.filter(pl.col("unit_id") == first).with_columns(
        unit_id=pl.lit("0998"), response_id=pl.col("response_id") + "-0998")
    pl.concat([surveys, mine]).write_csv(files.path("surveys"))
    db = tmp / "sparse.duckdb"
    for kind in ("units", "questions", "outcomes", "surveys", "targets", "events"):
        result = ingest(db, kind, files.path(kind))
        assert result.exit_code == 0, result.output
    out = tmp / "out"
    result = cli("score", "--db", db, "--scheme", SCHEME, "--period", "2026", "--out", out)
    assert result.exit_code == 0, result.output
    assert "0999" in result.output  # the run says which units it could not score
    return db, out


def test_a_unit_without_any_data_gets_no_score_rank_or_grade(sparse_db):
    db, out = sparse_db
    scores = pl.read_csv(out / "scores.csv", infer_schema=False)
    blank = scores.filter(pl.col("unit_id") == "0999").row(0, named=True)
    assert blank["score"] is None and blank["rank"] is None and blank["grade"] is None
    ranked = scores.filter(pl.col("unit_id") != "0999")
    assert ranked["score"].null_count() == 0
    assert sorted(ranked["rank"].cast(int).to_list())[0] == 1
    assert int(ranked["rank"].cast(int).max()) <= ranked.height
    # the excellent quota counts the 11 units with a score, not the one without
    assert (scores["grade"] == "excellent").sum() <= int(0.2 * ranked.height)
    indicators = pl.read_csv(out / "indicator_scores.csv", infer_schema=False)
    none = indicators.filter(pl.col("unit_id") == "0999")
    assert none.height > 0 and none["score"].null_count() == none.height
    assert none["raw_value"].null_count() == none.height
    con = duckdb.connect(str(db), read_only=True)
    flags = con.execute("SELECT DISTINCT flags FROM run_indicator_scores WHERE unit_id = '0999'"
                        ).fetchall()
    dims = con.execute("SELECT count(*) FROM run_dimension_scores WHERE unit_id = '0999' "
                       "AND score IS NOT NULL").fetchall()[0][0]
    con.close()
    assert all("no_own_data" in (f or "") for (f,) in flags), flags
    assert dims == 0


def test_a_unit_is_scored_only_on_the_dimensions_it_has_data_on(sparse_db):
    db, _ = sparse_db
    con = duckdb.connect(str(db), read_only=True)
    rows = dict(con.execute(
        "SELECT dimension_id, score FROM run_dimension_scores WHERE unit_id = '0998'").fetchall())
    imputed = con.execute(
        "SELECT count(*) FROM run_indicator_scores WHERE unit_id = '0998' AND imputed"
    ).fetchall()[0][0]
    score = con.execute("SELECT score FROM run_scores WHERE unit_id = '0998'").fetchall()[0][0]
    con.close()
    assert rows.get("satisfaction") is not None
    assert all(v is None for k, v in rows.items() if k != "satisfaction"), rows
    assert imputed == 0  # nothing imputed where the unit has no own data
    assert score is not None


def test_exports_and_dashboard_show_no_data_for_the_unit_without_any(sparse_db, tmp_path,
                                                                       monkeypatch):
    db, _ = sparse_db
    for fmt in ("xlsx", "csv", "parquet"):
        result = cli("export", "--db", db, "--format", fmt, "--lang", "zh",
                     "--out", tmp_path / fmt)
        assert result.exit_code == 0, result.output
    card = (tmp_path / "xlsx" / "cards" / "zh" / "0999.html").read_text(encoding="utf-8")
    assert "无数据" in card
    summary = pl.read_csv(next((tmp_path / "csv").glob("*summary*.csv")), infer_schema=False)
    assert "无数据" in summary.row(by_predicate=pl.col(summary.columns[0]) == "0999")
    from streamlit.testing.v1 import AppTest

    assert cli("publish", "--db", db).exit_code == 0
    monkeypatch.setenv("EVALUATOR_DB", str(db))
    monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    pages = ("views/overview.py", "views/compare.py", "views/unit.py", "views/scheme_health.py",
             "views/data_quality.py", "views/sensitivity.py")
    for lang, word in (("zh", "无数据"), ("en", "No data")):
        for page in pages:
            at = AppTest.from_file(str(ROOT / "dashboards" / "app.py"), default_timeout=60)
            at.query_params["lang"] = lang
            if page != "views/overview.py":
                at.switch_page(page)
            at.run()
            assert not at.exception, (page, [e.value for e in at.exception])
            if page == "views/overview.py":
                shown = " ".join(df.value.to_csv() for df in at.dataframe)  # every column
                assert word in shown, shown[:2000]


def test_a_parquet_file_that_makes_the_reader_panic_is_rejected_whole(tmp_path: Path):
    """Found by test_fuzz: a flipped byte in the footer makes polars panic in a worker thread
    and end the batches early without an error; the row count the file declares catches it."""
    db = tmp_path / "p.duckdb"
    load_base(db)
    before = fingerprint(db)
    result = ingest(db, "outcomes", DATA / "outcomes_corrupt_footer.parquet")
    assert result.exit_code == 1, result.output
    assert "damaged" in result.output or "cannot be read" in result.output, result.output
    _no_traceback(result)
    assert fingerprint(db) == before
