"""How much memory a process and everything below it use, by PSS: Chromium's processes
share most of their pages, so summing RSS would count them many times over, and
Celery's own memory cap sees only the Python child, not its browser."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_pss_bytes(root: int) -> int:
    """PSS of ``root`` and all its descendants (0 for those that ended meanwhile)."""
    tree = _children()
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        frontier.extend(tree.get(pid, []))
        try:
            rollup = (PROC / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total
