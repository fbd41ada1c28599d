"""Scheme versions saved from the scheme editor: the YAML file, and a record in the app store.

A version is written as a new file in the schemes folder (never over an existing one, never
inside the dashboard's read-only snapshot folder) and recorded with its SHA-256, author, time
and note in the app store beside the data DB (`scheme_versions`), text included, so the list of
versions and the diff between two never depend on the files still being where they were.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evaluator.appstore import connect_app, write
from evaluator.errors import EvaluatorError
from evaluator.scheme.models import Scheme
from evaluator.snapshot import snapshot_path

UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class VersionError(EvaluatorError):
    """A version cannot be saved (the message says why and what to do)."""


@dataclass(frozen=True)
class SavedVersion:
    version_id: int
    scheme_id: str
    version: str
    path: str
    sha256: str
    author: str | None
    saved_at: str
    note: str | None
    based_on: str | None


def version_file(folder: Path, scheme: Scheme) -> Path:
    """`<folder>/<scheme id>-v<version>.yaml` (characters unsafe in file names become '_')."""
    return folder / f"{scheme.id}-v{UNSAFE.sub('_', scheme.version)}.yaml"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def save_version(data_db: str | Path, folder: str | Path, scheme: Scheme, text: str, *,
                 author: str | None, note: str | None, based_on: str | None = None
                 ) -> SavedVersion:
    """Write `text` (the YAML of `scheme`) as a new file in `folder` and record it."""
    folder = Path(folder)
    snapshots = snapshot_path(data_db).parent
    if _inside(folder, snapshots):
        raise VersionError(f"{folder} is inside the dashboard's snapshot folder {snapshots}, "
                           "which is replaced on every publish: choose another schemes folder")
    if not folder.is_dir():
        raise VersionError(f"schemes folder {folder} does not exist: create it or choose another")
    path = version_file(folder, scheme)
    if path.exists():
        raise VersionError(f"{path.name} already exists in {folder}: give the draft a new "
                           f"version (now '{scheme.version}') so no saved version is overwritten")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    saved_at = datetime.now(UTC).isoformat(timespec="seconds")
    con = connect_app(data_db)
    try:
        with write(con):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            cur = con.execute(
                "INSERT INTO scheme_versions (scheme_id, version, path, sha256, yaml, author, "
                "saved_at, note, based_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (scheme.id, scheme.version, str(path), digest, text, author, saved_at,
                 note or None, based_on))
            tmp.replace(path)  # the file appears only with its record (both or neither)
            version_id = int(cur.lastrowid or 0)
    finally:
        con.close()
    return SavedVersion(version_id, scheme.id, scheme.version, str(path), digest, author,
                        saved_at, note or None, based_on)


def list_versions(data_db: str | Path) -> list[SavedVersion]:
    """Every saved version, newest first."""
    con = connect_app(data_db)
    try:
        rows = con.execute(
            "SELECT version_id, scheme_id, version, path, sha256, author, saved_at, note, "
            "based_on FROM scheme_versions ORDER BY version_id DESC").fetchall()
    finally:
        con.close()
    return [SavedVersion(*tuple(r)) for r in rows]


def version_text(data_db: str | Path, version_id: int) -> str:
    con = connect_app(data_db)
    try:
        row = con.execute("SELECT yaml FROM scheme_versions WHERE version_id = ?",
                          (version_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise VersionError(f"no saved scheme version {version_id}: see the list of versions")
    return str(row[0])


def diff_text(old: str, new: str, old_name: str, new_name: str) -> str:
    """A unified diff of two YAML texts ('' when they are the same)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True), old_name, new_name))
