"""python -m bench [NAME...] [--quick]: run the benchmarks, print a table, and rewrite
docs/benchmarks.md (with plots when matplotlib is installed: pip install -e ".[bench]").

Names: observe, throughput, latency. Nothing is installed at import; the benchmarks
need what the tests need (Chromium, PostgreSQL, Redis)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report

NAMES = ("observe", "throughput", "latency")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/benchmarks.md"), help="the report to rewrite"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)} (there are: {', '.join(NAMES)})")
    names = args.names or list(NAMES)
    results: dict[str, Any] = {}
    if "observe" in names:
        from bench import observe

        results["observe"] = observe.run(
            sizes=(100,) if args.quick else observe.SIZES, repeat=1 if args.quick else 5
        )
    if "throughput" in names:
        from bench import throughput

        levels = (1,) if args.quick else throughput.CONCURRENCY
        runs = 2 if args.quick else throughput.RUNS_PER_LEVEL
        results["throughput"] = throughput.run_baselines(levels, runs) + throughput.run_skyq(
            levels, runs
        )
    if "latency" in names:
        from bench import latency

        results["latency"] = latency.run(
            samples=3 if args.quick else latency.SAMPLES, posts=20 if args.quick else latency.POSTS
        )
    machine = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} cores",
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    text = report.render(results, machine)
    print(report.tables(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    report.plot(results, args.out.parent)
    return 0


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
