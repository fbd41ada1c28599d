"""Where the dashboard's data comes from: the latest snapshot, the chosen run, cached reads.

The app never opens the main database. `evaluator dashboard` passes the DB path (and the
snapshot path) in the environment; every read opens the current snapshot read-only through
`evaluator.readmodel`, cached on (snapshot version, function, viewer, arguments), so a newly
published snapshot is picked up on the next interaction and old cache entries simply stop
matching.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import duckdb
import streamlit as st

from evaluator import readmodel
from evaluator.snapshot import latest_snapshot, snapshot_path, snapshot_version

P = ParamSpec("P")
R = TypeVar("R")

ENV_DB = "EVALUATOR_DB"
ENV_SNAPSHOT = "EVALUATOR_SNAPSHOT"
ENV_NO_AUTH = "EVALUATOR_NO_AUTH"


@dataclass(frozen=True)
class Source:
    db: Path | None  # the main DB (never opened here)
    snapshot: Path  # the read-only file the pages read
    version: int  # changes when a new snapshot is swapped in


def db_path() -> Path | None:
    value = os.environ.get(ENV_DB)
    return Path(value) if value else None


def no_auth() -> bool:
    return os.environ.get(ENV_NO_AUTH, "") in {"1", "true", "yes"}


def expected_snapshot() -> Path:
    explicit = os.environ.get(ENV_SNAPSHOT)
    if explicit:
        return Path(explicit)
    db = db_path()
    return snapshot_path(db) if db else Path("data/snapshots/evaluator.duckdb")


def source() -> Source | None:
    """The snapshot to read now, or None when none exists yet."""
    explicit = os.environ.get(ENV_SNAPSHOT)
    db = db_path()
    snap: Path | None
    if explicit:
        snap = Path(explicit) if Path(explicit).exists() else None
    else:
        snap = latest_snapshot(db) if db else None
    if snap is None:
        return None
    return Source(db=db, snapshot=snap, version=snapshot_version(snap))


_OPEN: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}  # snapshot → (version, connection)
_LOCK = threading.Lock()


def _database(snapshot: str, version: int) -> duckdb.DuckDBPyConnection:
    """One read-only connection per snapshot file, shared by every session, reopened when a new
    version is swapped in.

    Opening the file costs ~80 ms (catalogue, checkpoint) and a page asks ten or more queries:
    that, not the queries, made a language switch take seconds. Each query runs on its own
    cursor (DuckDB's way to share a database between threads). DuckDB keeps one instance per
    path, so the old connection is closed before the swapped-in file is opened (or it would be
    handed the old file again).
    """
    with _LOCK:
        held = _OPEN.get(snapshot)
        if held is not None and held[0] == version:
            return held[1]
        if held is not None:
            held[1].close()
        con = duckdb.connect(snapshot, read_only=True)
        _OPEN[snapshot] = (version, con)
        return con


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(
    snapshot: str,
    version: int,
    module: str,
    func: str,
    role: str,
    unit_id: str | None,
    args: tuple[Any, ...],
    kwargs: tuple[Any, ...],
) -> Any:
    con = _database(snapshot, version).cursor()
    try:
        plain = [list(a) if isinstance(a, tuple) else a for a in args]
        named = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs}
        target = getattr(importlib.import_module(module), func)
        return target(con, *plain, viewer=readmodel.Viewer(role, unit_id), **named)
    finally:
        con.close()


def read(
    func: Callable[Concatenate[duckdb.DuckDBPyConnection, P], R],
    viewer: readmodel.Viewer,
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """`func(con, *args, viewer=viewer, **kwargs)` on the current snapshot, cached.

    Typed: mypy checks the arguments against the read function itself. The cache is keyed on
    the snapshot version, the function, the viewer and the arguments, so one role's result is
    never served to another.
    """
    src = source()
    if src is None:
        raise RuntimeError("no snapshot")  # pages check `source()` first via page.start()
    frozen = tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(kwargs.items())
    )
    plain = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    key = (func.__module__, func.__name__, viewer.role, viewer.unit_id, plain, frozen)
    try:
        try:
            return cast(R, _cached(str(src.snapshot), src.version, *key))
        except duckdb.ConnectionException:  # another session reopened a newer snapshot meanwhile
            src = source() or src
            return cast(R, _cached(str(src.snapshot), src.version, *key))
    except readmodel.Forbidden as exc:  # e.g. another unit or an unpublished run via the URL
        st.error(str(exc), icon=":material/block:")
        st.stop()
        raise  # st.stop() raises; this line keeps mypy sure nothing is returned
