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


def uncertainty_entry(con: Any, run_id: str) -> dict[str, Any] | None:
    """How the exported intervals were made: the bootstrap's replicates, level and seed, or the
    survey confidence level when only the run's own bounds exist; None without intervals."""
    row = con.execute("SELECT replicates, level, seed, weight_draws, tiers FROM "
                      "run_uncertainty_settings WHERE run_id = ?", [run_id]).fetchall()
    if row:
        r = row[0]
        return {"method": "bootstrap", "replicates": r[0], "level": r[1], "seed": r[2],
                "weight_draws": r[3], "tiers": bool(r[4])}
    has = con.execute("SELECT count(score_low) FROM run_scores WHERE run_id = ?",
                      [run_id]).fetchall()[0][0]
    return {"method": "survey_ci", "level": 0.95} if has else None


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
