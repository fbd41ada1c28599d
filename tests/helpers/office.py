"""LibreOffice as the office runs it, one private profile per call.

Two `soffice` processes sharing a user profile get in each other's way: under pytest-xdist two
workers converting at once hung until the 300 s test timeout in CI, and two at once on a fresh
profile here left one with exit code 1 and no file. A profile next to the output keeps every
conversion independent. `SOFFICE` is the one lookup the suite uses (conftest, skip marks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def convert(src: Path, to: str, out_dir: Path, *, infilter: str | None = None) -> Path:
    """Convert `src` to format `to` (e.g. "pdf", "xlsx") into `out_dir`; returns the new file."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    home = out_dir / ".lo-home"
    home.mkdir(exist_ok=True)
    args = [SOFFICE, f"-env:UserInstallation={(home / 'profile').as_uri()}", "--headless"]
    if infilter is not None:
        args.append(f"--infilter={infilter}")
    args += ["--convert-to", to, "--outdir", str(out_dir), str(src)]
    subprocess.run(args, check=True, capture_output=True, timeout=300,
                   env={**os.environ, "HOME": str(home)})
    return out_dir / f"{src.stem}.{to.split(':')[0]}"
