"""The batch's progress line on stderr: done / failed / running, rate and ETA. Redrawn
in place on a terminal; a plain line every few seconds in a log."""

from __future__ import annotations

import time
from typing import TextIO

LOG_EVERY_SECONDS = 5.0
BAR_WIDTH = 24


class Progress:
    def __init__(self, total: int, completed: int, failed: int, stream: TextIO) -> None:
        self.total = total
        self.already = completed + failed  # from an earlier session: not in the rate
        self.completed = completed
        self.failed = failed
        self.running = 0
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_drawn = 0.0

    @property
    def finished(self) -> int:
        return self.completed + self.failed

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (self.finished - self.already) / elapsed
        left = self.total - self.finished
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        filled = int(BAR_WIDTH * self.finished / max(self.total, 1))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return (
            f"[{bar}] {self.finished}/{self.total} done: {self.completed} ok, "
            f"{self.failed} failed, {self.running} running | {rate:.2f} runs/s | ETA {eta}"
        )

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + "\033[K")
        elif force or now - self.last_drawn >= LOG_EVERY_SECONDS:
            self.stream.write(self.line() + "\n")
        else:
            return
        self.last_drawn = now
        self.stream.flush()

    def close(self) -> None:
        self.draw(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
