"""The benchmark report: tables for the terminal and docs/benchmarks.md, plots as PNG
when matplotlib is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tables(results: dict[str, Any]) -> str:
    parts = []
    if "observe" in results:
        parts.append(
            "| elements | observe median (ms) | min-max (ms) | tokens sent | actionable kept |\n"
            "|---:|---:|---:|---:|---:|\n"
            + "\n".join(
                f"| {r.elements:,} | {r.median_ms:.0f} | {r.min_ms:.0f}-{r.max_ms:.0f} | "
                f"{r.tokens:,} | {r.kept_actionable:,} of {r.actionable:,} |"
                for r in results["observe"]
            )
        )
    if "throughput" in results:
        rows = sorted(results["throughput"], key=lambda r: (r.concurrency, r.design))
        plain = {r.concurrency: r.per_minute for r in rows if r.design == "plain playwright"}
        launch = {r.concurrency: r.per_minute for r in rows if r.design == "launch per run"}
        lines = []
        for r in rows:
            ratio = ""
            if r.design == "skyq":
                ratio = (
                    f"{r.per_minute / plain[r.concurrency]:.2f} of plain, "
                    f"{r.per_minute / launch[r.concurrency]:.2f}x launch-per-run"
                )
            lines.append(
                f"| {r.design} | {r.concurrency} | {r.runs} | {r.per_minute:.1f} | {ratio} |"
            )
        parts.append(
            "| design | concurrency | runs | runs/min | skyq against the baselines |\n"
            "|---|---:|---:|---:|---|\n" + "\n".join(lines)
        )
    if "latency" in results:
        r = results["latency"]
        parts.append(
            "| queue latency p50 | p99 | max | samples | POST /v1/run/tasks per second |\n"
            "|---:|---:|---:|---:|---:|\n"
            f"| {r.p50_ms:.0f} ms | {r.p99_ms:.0f} ms | {r.max_ms:.0f} ms | {r.samples} | "
            f"{r.posts_per_second:.0f} |"
        )
    return "\n\n".join(parts)


def render(results: dict[str, Any], machine: dict[str, str]) -> str:
    head = (
        "# Benchmarks\n\n"
        "Written by `python -m bench`; run it again to refresh. The model is a stand-in\n"
        "answering at once, so what is measured is skyq's own cost.\n\n"
        + "\n".join(f"- {key}: {value}" for key, value in machine.items())
        + "\n\n"
    )
    return head + tables(results) + "\n"


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
        for design in ("skyq", "plain playwright", "launch per run"):
            rows = sorted(
                (r for r in results["throughput"] if r.design == design),
                key=lambda r: r.concurrency,
            )
            axes.plot(
                [r.concurrency for r in rows], [r.per_minute for r in rows], "o-", label=design
            )
        axes.set_xlabel("concurrency")
        axes.set_ylabel("runs per minute")
        axes.legend()
        path = folder / "benchmarks-throughput.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        written.append(path)
    return written
