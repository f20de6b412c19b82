"""The worker's main process adopts and reaps what its browsers leave behind.

Every Chromium launch starts crash-handler processes that outlive their browser and
are re-parented to the nearest subreaper, by default PID 1. In a container whose PID 1
is the worker (no tini), they would pile up as zombies. So the main process makes
itself a child subreaper and reaps, every few seconds, the zombies among its children
that are browser processes (never Celery's own pool children: billiard waits for
those).
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36
BROWSER_COMMS = ("chrom", "crashpad", "node")  # chromium, chrome_crashpad_handler, the driver
REAP_EVERY_SECONDS = 2.0


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reap_browser_zombies() -> list[int]:
    """Wait for every zombie child of this process that is a browser process."""
    me, reaped = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" or int(fields[1]) != me or not comm.startswith(BROWSER_COMMS):
            continue
        try:
            os.waitpid(int(entry.name), os.WNOHANG)
            reaped.append(int(entry.name))
        except ChildProcessError:
            continue  # someone else waited for it first
    return reaped


def start() -> None:
    """Adopt orphans from now on and reap the browser ones in a daemon thread."""
    if not become_subreaper():
        log.warning("cannot become a child subreaper; run the worker under an init (tini)")
        return

    def loop() -> None:
        while True:
            time.sleep(REAP_EVERY_SECONDS)
            reap_browser_zombies()

    threading.Thread(target=loop, name="skyq-orphans", daemon=True).start()
