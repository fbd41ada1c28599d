"""Files that belong to one data DB (app store, pseudonymisation key), named from its whole name.

`data/x.duckdb` owns `data/x.duckdb.app.db` and `data/x.duckdb.key`, so `x.duckdb` and `x.db` in
one folder never share users or a key. Older versions named the app store from the stem
(`x.app.db`; a `x.key` is accepted too): such a file is renamed to the new name the first time
it is needed, unless another DuckDB database in the folder has the same stem and could own it —
then nothing is guessed and the office is told which file to rename.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from pathlib import Path

from evaluator.errors import EvaluatorError
from evaluator.store.db import is_duckdb_file


class SideFileClash(EvaluatorError):
    """An old side file could belong to two databases; the message says which to rename."""


def side_file(db: str | Path, suffix: str, companions: tuple[str, ...] = (),
              prepare: Callable[[Path], None] | None = None) -> Path:
    """`db.name + suffix` beside `db`, taking over an old `db.stem + suffix` (and its
    `companions`, e.g. SQLite's `-wal`/`-shm`) when that is unambiguous. `prepare(old)` runs
    first (the app store folds its WAL into the main file there)."""
    path = Path(db)
    new = path.with_name(path.name + suffix)
    old = path.with_name(path.stem + suffix)
    if new.exists() or old == new or not old.exists():
        return new
    rivals = sorted(str(p) for p in path.parent.glob(f"{glob.escape(path.stem)}.*")
                    if p.name != path.name and p.stem == path.stem and p.is_file()
                    and is_duckdb_file(p))
    if rivals:
        raise SideFileClash(
            f"{old} is from an older version and could belong to {path} or to "
            f"{', '.join(rivals)}: rename it to {new} (or to the other database's name + "
            f"{suffix!r}) / 旧文件 {old.name} 可能属于多个数据库，请按数据库全名重命名")
    if prepare is not None:
        prepare(old)
    for extra in (*companions, ""):
        try:
            os.rename(old.with_name(old.name + extra), new.with_name(new.name + extra))
        except FileNotFoundError:  # no such companion, or another process moved it first
            continue
    return new
