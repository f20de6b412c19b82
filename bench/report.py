"""The benchmark report: tables for the terminal and docs/benchmarks.md, plots as PNG
when matplotlib is there (pip install -e ".[bench]")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = {
    "throughput": "skyq / plain Playwright >= 0.5 at each concurrency; skyq / launch per run >= 2",
    "observe": "skyq <= half the faster peer's time at 1,000 and 10,000 elements",
    "tokens": "skyq <= 0.7 of the smaller peer, with every actionable element present",
    "latency": "p50 <= 50 ms, p99 <= 200 ms",
    "memory": "idle <= 300 MB; each further concurrent run <= 80 MB; no growth",
    "share": "skyq's own share <= 10% with a 1 s model",
}
# A node in the projection is this machine: 2 cores running one worker.
NODES = 100


def _table(head: list[str], align: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(mine: float, theirs: float | None) -> str:
    return f"{mine / theirs:.2f}" if theirs else "-"


def _observe(results: list[Any]) -> str:
    rows = []
    for r in results:
        peers = [
            (r.skyvern_median_ms, r.skyvern_tokens, r.skyvern_actionable),
            (r.browser_use_median_ms, r.browser_use_tokens, r.browser_use_interactive),
        ]
        row = [
            f"{r.elements:,}",
            f"{r.actionable:,}",
            f"{r.median_ms:.0f} ({r.min_ms:.0f}-{r.max_ms:.0f})",
            f"{r.tokens:,}",
            f"{r.kept_actionable:,}",
            f"{r.all_median_ms:.0f}",
            f"{r.all_tokens:,}",
            f"{r.all_kept:,}",
        ]
        for ms, tokens, found in peers:
            row += (
                [f"{ms:.0f}", f"{tokens:,}", f"{found:,}"]
                if ms is not None
                else ["not installed", "-", "-"]
            )
        times = [ms for ms, _, _ in peers if ms is not None]
        sizes = [tokens for _, tokens, _ in peers if tokens is not None]
        row += [
            _ratio(r.all_median_ms, min(times) if times else None),
            _ratio(r.all_tokens, min(sizes) if sizes else None),
        ]
        rows.append(row)
    table = _table(
        [
            "elements",
            "actionable",
            "skyq ms (min-max)",
            "skyq tokens",
            "skyq kept",
            "skyq, every element: ms",
            "tokens",
            "kept",
            "Skyvern ms",
            "tokens",
            "interactable",
            "browser-use ms",
            "tokens",
            "indexed",
            "time against the faster peer",
            "tokens against the smaller peer",
        ],
        ["---:"] * 16,
        rows,
    )
    return (
        table + "\n\nskyq: the defaults (at most 1,500 elements and 40,000 characters of listing a "
        "step). skyq, every element: both caps opened, so nothing is cut; the last two "
        "columns compare it with the faster and the smaller peer."
    )


def _throughput(results: list[Any]) -> str:
    rows = sorted(results, key=lambda r: (r.concurrency, r.design))
    plain = {r.concurrency: r.per_minute for r in rows if r.design == "plain playwright"}
    launch = {r.concurrency: r.per_minute for r in rows if r.design == "launch per run"}
    table = []
    for r in rows:
        against = ""
        if r.design.startswith("skyq") and r.concurrency in plain:
            against = (
                f"{r.per_minute / plain[r.concurrency]:.2f} of plain, "
                f"{r.per_minute / launch[r.concurrency]:.2f}x launch per run"
            )
        table.append([r.design, str(r.concurrency), str(r.runs), f"{r.per_minute:.1f}", against])
    return _table(
        ["design", "concurrency", "runs", "runs/min", "skyq against the baselines"],
        ["---", "---:", "---:", "---:", "---"],
        table,
    )


def _latency(r: Any) -> str:
    return _table(
        ["accepted to running p50", "p99", "max", "samples", "POST /v1/run/tasks per second"],
        ["---:"] * 5,
        [
            [
                f"{r.p50_ms:.0f} ms",
                f"{r.p99_ms:.0f} ms",
                f"{r.max_ms:.0f} ms",
                str(r.samples),
                f"{r.posts_per_second:.0f}",
            ]
        ],
    )


def _memory(results: list[Any]) -> str:
    first = results[0]
    return _table(
        [
            "pool",
            "idle worker tree",
            f"after {len(first.after_runs_mb)} runs: growth",
            "peak, 1 run",
            f"peak, {first.wide} runs",
            "per further concurrent run",
        ],
        ["---", *["---:"] * 5],
        [
            [
                r.pool,
                f"{r.idle_mb:.0f} MB",
                f"{r.growth_mb:+.0f} MB",
                f"{r.peak_one_mb:.0f} MB",
                f"{r.peak_wide_mb:.0f} MB",
                f"{r.per_further_run_mb:.0f} MB",
            ]
            for r in results
        ],
    )


def _share(r: Any) -> str:
    return _table(
        ["runs", "model calls per run", "wall per run (s)", "skyq's own share (median)"],
        ["---:"] * 4,
        [
            [
                str(r.runs),
                "/".join(str(c) for c in r.model_calls),
                "/".join(f"{w:.2f}" for w in r.wall_seconds),
                f"{r.median_share:.1%}",
            ]
        ],
    )


def _scaling(results: list[Any]) -> str:
    keys = list(results[0].per_run)
    return _table(
        ["workers x runs at once", "runs", "runs/min", *[f"{k} / run" for k in keys]],
        ["---:"] * (3 + len(keys)),
        [
            [
                f"{r.workers} x {r.children}",
                str(r.runs),
                f"{r.per_minute:.1f}",
                *[f"{r.per_run[k]:,.1f}" for k in keys],
            ]
            for r in results
        ],
    )


def projection(results: list[Any]) -> str:
    """What NODES nodes like this machine would ask of the shared services."""
    best = max(results, key=lambda r: r.per_minute)
    runs_per_second = NODES * best.per_minute / 60
    lines = [
        f"{NODES} nodes like this one (2 cores each, {best.workers} worker(s) x "
        f"{best.children} runs at once, {best.per_minute:.0f} runs/min each) finish about "
        f"{runs_per_second:.0f} runs a second. At the per-run counts above they ask for:",
        "",
    ]
    for key, value in best.per_run.items():
        unit = "kB/s" if key.endswith("kB written") else "/s"
        lines.append(f"- {key}: {value * runs_per_second:,.0f} {unit}")
    return "\n".join(lines)


SECTIONS = (
    ("observe", "Observe cost and tokens per step", _observe, "observe"),
    ("throughput", "Throughput of the 5-step task", _throughput, "throughput"),
    ("latency", "Queue latency and enqueue rate", _latency, "latency"),
    ("memory", "Worker memory (whole process tree, PSS)", _memory, "memory"),
    ("share", "skyq's share of a run with a 1 s model", _share, "share"),
    ("scaling", "Scaling and per-run cost to the shared services", _scaling, None),
)


def tables(results: dict[str, Any]) -> str:
    parts = []
    for name, title, render_one, target in SECTIONS:
        if name not in results:
            continue
        part = f"## {title}\n\n{render_one(results[name])}"
        if target:
            part += f"\n\nTarget: {TARGETS[target]}."
        if name == "observe":
            part += f" Tokens: {TARGETS['tokens']}."
        if name == "scaling":
            part += "\n\n" + projection(results[name])
        parts.append(part)
    return "\n\n".join(parts)


def render(results: dict[str, Any], machine: dict[str, str], notes: str = "") -> str:
    head = (
        "# Benchmarks\n\n"
        "Written by `python -m bench`; run it again to refresh. The model is a stand-in\n"
        "answering at once (or after 1 s where said), so what is measured is skyq's own\n"
        "cost.\n\n" + "\n".join(f"- {key}: {value}" for key, value in machine.items()) + "\n\n"
    )
    plots = "".join(
        f"![{name}](benchmarks-{name}.png)\n"
        for name in ("throughput", "observe")
        if name in results
    )
    return head + (plots + "\n" if plots else "") + tables(results) + "\n" + notes


def plot(results: dict[str, Any], folder: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    if "throughput" in results:
        figure, axes = plt.subplots(figsize=(6, 4))
        designs = sorted({r.design for r in results["throughput"]})
        for design in designs:
            rows = sorted(
                (r for r in results["throughput"] if r.design == design),
                key=lambda r: r.concurrency,
            )
            axes.plot(
                [r.concurrency for r in rows], [r.per_minute for r in rows], "o-", label=design
            )
        axes.set_xlabel("concurrency")
        axes.set_ylabel("runs per minute (5-step task)")
        axes.set_xticks(sorted({r.concurrency for r in results["throughput"]}))
        axes.legend()
        path = folder / "benchmarks-throughput.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    if "observe" in results:
        rows = results["observe"]
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        sizes = [r.elements for r in rows]
        left.plot(sizes, [r.median_ms for r in rows], "o-", label="skyq (defaults)")
        right.plot(sizes, [r.tokens for r in rows], "o-", label="skyq (defaults)")
        left.plot(sizes, [r.all_median_ms for r in rows], "^-", label="skyq, every element")
        right.plot(sizes, [r.all_tokens for r in rows], "^-", label="skyq, every element")
        if all(r.skyvern_median_ms is not None for r in rows):
            left.plot(sizes, [r.skyvern_median_ms for r in rows], "s-", label="Skyvern")
            right.plot(sizes, [r.skyvern_tokens for r in rows], "s-", label="Skyvern")
        if all(r.browser_use_median_ms is not None for r in rows):
            left.plot(sizes, [r.browser_use_median_ms for r in rows], "d-", label="browser-use")
            right.plot(sizes, [r.browser_use_tokens for r in rows], "d-", label="browser-use")
        for axes, label in ((left, "observe time (ms, median)"), (right, "tokens per step")):
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xlabel("elements on the page")
            axes.set_ylabel(label)
            axes.legend()
        path = folder / "benchmarks-observe.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
