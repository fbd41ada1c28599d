"""manifest.json: what an export wrote, with every file's SHA-256, so recipients can verify it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from evaluator.export.runinfo import RunInfo

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def build_manifest(root: Path, files: list[Path], run: RunInfo, **extra: Any) -> dict[str, Any]:
    """The manifest for `files` (paths under `root`), in a stable order."""
    entries = [
        {
            "path": f.relative_to(root).as_posix(),
            "sha256": sha256_file(f),
            "bytes": f.stat().st_size,
        }
        for f in sorted(files)
    ]
    return {
        "run_id": run.run_id,
        "period": run.period,
        "scheme_id": run.scheme_id,
        "scheme_version": run.scheme_version,
        "scheme_hash": run.scheme_hash,
        "lint_errors": run.lint_errors,
        **extra,
        "files": entries,
    }


def write_manifest(root: Path, files: list[Path], run: RunInfo, **extra: Any) -> Path:
    path = root / MANIFEST
    manifest = build_manifest(root, files, run, **extra)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def verify_manifest(root: str | Path) -> list[str]:
    """Files whose bytes no longer match the manifest (empty when the export is intact).

    `root` is the export folder, as a path or a plain string (what callers usually have).
    """
    root = Path(root)
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    bad = []
    for entry in manifest["files"]:
        f = root / entry["path"]
        if not f.exists() or sha256_file(f) != entry["sha256"]:
            bad.append(entry["path"])
    return bad
