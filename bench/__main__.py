"""python -m bench [NAME...] [--quick]: run the benchmarks, print a table, and rewrite
docs/benchmarks.md (with plots when matplotlib is installed: pip install -e ".[bench]").

Names: observe, throughput, latency, memory, share, scaling. Nothing is installed at
import; the benchmarks need what the tests need (Chromium, PostgreSQL, Redis).
``python -m bench setup-peers`` makes the environment Skyvern's scraper is measured in
(.bench/peers); without it, observe measures skyq alone."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report

# What the numbers mean and what was done about them: kept by hand, appended to the report.
NOTES = Path(__file__).with_name("notes.md")
NAMES = ("observe", "throughput", "latency", "memory", "share", "scaling")
SYSTEM_NAMES = NAMES[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/benchmarks.md"), help="the report to rewrite"
    )
    args = parser.parse_args(argv)
    if args.names == ["setup-peers"]:
        from bench import peers

        for python in peers.setup():
            print(f"ready: {python}")
        return 0
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)} (there are: {', '.join(NAMES)})")
    names = args.names or list(NAMES)
    results: dict[str, Any] = {}
    if "observe" in names:
        from bench import observe, pages

        results["observe"] = observe.run(
            sizes=(100,) if args.quick else pages.SIZES, repeat=1 if args.quick else 5
        )
    with contextlib.ExitStack() as stack:
        shared = None
        if set(names) & set(SYSTEM_NAMES):
            from bench.system import system
            from bench.throughput import signup_model

            # One deployment for every benchmark that needs one: each start costs ~15 s.
            shared = stack.enter_context(system(signup_model, keep_workers=args.quick))
        results.update(_system_benchmarks(names, args.quick, shared))
    machine = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} cores",
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    notes = NOTES.read_text() if NOTES.exists() else ""
    text = report.render(results, machine, notes)
    print(report.tables(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    report.plot(results, args.out.parent)
    return 0


def _system_benchmarks(names: list[str], quick: bool, shared: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "throughput" in names:
        from bench import throughput

        levels = (1,) if quick else throughput.CONCURRENCY
        runs = 2 if quick else throughput.RUNS_PER_LEVEL
        results["throughput"] = throughput.run_baselines(levels, runs) + throughput.run_skyq(
            levels, runs, shared
        )
    if "latency" in names:
        from bench import latency

        results["latency"] = latency.run(
            samples=3 if quick else latency.SAMPLES,
            posts=20 if quick else latency.POSTS,
            shared=shared,
        )
    if "memory" in names:
        from bench import memory

        results["memory"] = (
            memory.run(runs=2, wide=2, rounds=1, shared=shared)
            if quick
            else memory.run(shared=shared)
        )
    if "share" in names:
        from bench import share

        results["share"] = share.run(
            runs=1 if quick else share.RUNS,
            model_seconds=0.2 if quick else share.MODEL_SECONDS,
            shared=shared,
        )
    if "scaling" in names:
        from bench import scaling

        results["scaling"] = scaling.run(
            workers=(1,) if quick else scaling.WORKERS,
            runs=2 if quick else scaling.RUNS,
            shared=shared,
        )
    return results


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
