"""Per-statement profile of one `evaluator` command, run in this process as the CLI runs it.

    python -m benchmarks.profile_command [--top N] -- score --db DB --scheme S --period 2026

Times the imports, every statement the scoring engine runs (`DuckDBEngine.execute`,
`fetch_polars`, `register`; the text's first words name it), scheme load, lint, connect and
the snapshot's Parquet writes, then prints the slowest with wall seconds, plus the whole
command's wall and CPU seconds and the load average before and after (a loaded machine
stretches wall time: compare CPU, and figures from the same run). Why: `cProfile` shows Python
frames, not which SQL statement the time went to.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

TIMES: dict[str, list[float]] = defaultdict(list)


def _label(text: str) -> str:
    one = re.sub(r"\s+", " ", text).strip()
    return one[:110]


def _wrap(owner: Any, name: str, label: Callable[..., str]) -> None:
    real = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            TIMES[label(*args, **kwargs)].append(time.perf_counter() - start)

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"]
    load0, cpu0, wall0 = os.getloadavg(), os.times(), time.perf_counter()
    import evaluator.cli as cli  # what every command pays before its first line
    from evaluator import snapshot
    from evaluator.scoring import run as run_mod
    from evaluator.scoring.engines.duckdb import DuckDBEngine
    from evaluator.store import db as db_mod

    TIMES["(imports: evaluator.cli, scoring, snapshot)"].append(time.perf_counter() - wall0)
    _wrap(DuckDBEngine, "execute", lambda self, e: "sql: " + _label(self.render(e)))
    _wrap(DuckDBEngine, "fetch_polars", lambda self, e: "fetch: " + _label(self.render(e)))
    _wrap(DuckDBEngine, "register", lambda self, name, frame: f"register {name}")
    _wrap(run_mod, "lint_findings", lambda *a, **k: "(lint)")
    _wrap(run_mod, "code_version", lambda *a, **k: "(code_version: git rev-parse)")
    _wrap(db_mod, "migrate", lambda *a, **k: "(store: migrate)")
    _wrap(snapshot, "_write_parquet", lambda con, q, p, target: (
        f"snapshot parquet: {target.parent.name}/{target.name[:12]}"))
    _wrap(snapshot, "publish_from_connection", lambda *a, **k: "(snapshot: whole publish)")
    import evaluator.scheme.loader as loader

    _wrap(loader, "load_scheme", lambda *a, **k: "(scheme load)")
    code = 0
    try:
        sys.argv = ["evaluator", *command]
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    wall, cpu1, load1 = time.perf_counter() - wall0, os.times(), os.getloadavg()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    rows = sorted(((sum(v), len(v), k) for k, v in TIMES.items()), reverse=True)
    print(f"\ncommand: evaluator {' '.join(command)}", file=sys.stderr)
    print(f"wall {wall:.2f} s, CPU (user+sys) {cpu:.2f} s, load {load0[0]:.1f} -> "
          f"{load1[0]:.1f}, exit {code}", file=sys.stderr)
    for total, n, name in rows[:args.top]:
        print(f"{total:8.3f} s  ×{n:<3d} {name}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
