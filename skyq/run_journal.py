"""RunJournal: a run's records written off the run's event loop, in the order made.

Steps, actions and artifacts were written inline: an S3 PUT and a transaction each,
about thirty a run, which stalled the step loop for a third of its wall time (bench/,
issue 7). Here the loop only queues them: rows go to one writer thread per run, so
they land in the order they were made (a step before its actions, an action before the
step's end), and artifact bytes go to a process-wide pool whose uploads queue their
rows to the same writer once the bytes are in. The runner flushes the journal before
it writes the run's end, so the response lists every artifact. A failed write is
raised at the run's next record or at the flush: the run fails (storage) or the
attempt is given up (database) as when the write was inline, a moment later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from skyq.db import RunStore
from skyq.db.models import Artifact
from skyq.storage import ArtifactStore

log = logging.getLogger(__name__)

# Enough to keep an S3 round trip per concurrent artifact in flight for a few runs.
UPLOAD_THREADS = 4
# Artifact bytes waiting in memory are bounded: past this many the run waits.
MAX_PENDING_UPLOADS = 32


def upload_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(UPLOAD_THREADS, thread_name_prefix="skyq-upload")


class RunJournal:
    def __init__(self, pool: ThreadPoolExecutor, artifacts: ArtifactStore, store: RunStore) -> None:
        self.pool = pool
        self.artifacts = artifacts
        self.store = store
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="skyq-journal")
        self._uploads: list[Future[None]] = []
        self._slots = threading.BoundedSemaphore(MAX_PENDING_UPLOADS)
        self._failure: BaseException | None = None

    def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue a store call after every one queued before it; raises an earlier
        record's failure."""
        self._raise_failure()
        return self._queue(fn, *args, **kwargs)

    def upload(self, key: str, data: bytes, content_type: str, row: Artifact) -> None:
        """Queue ``data`` for ``key``, then its row."""
        self._raise_failure()
        self._slots.acquire()
        try:
            future = self.pool.submit(self._upload, key, data, content_type, row)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._upload_done)
        self._uploads.append(future)

    def flush(self) -> None:
        """Wait until everything queued is written; raises the first failure."""
        self.settle()
        self._raise_failure()

    def settle(self) -> None:
        """Wait until everything queued is written or has failed."""
        uploads, self._uploads = self._uploads, []
        wait(uploads)
        wait([self._queue(lambda: None)])

    def close(self) -> None:
        self.settle()
        self._writer.shutdown(wait=True)

    def _queue(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        future = self._writer.submit(fn, *args, **kwargs)
        future.add_done_callback(self._note_failure)
        return future

    def _upload(self, key: str, data: bytes, content_type: str, row: Artifact) -> None:
        row.uri = self.artifacts.put(key, data, content_type)
        self._queue(self.store.add_artifact, row)

    def _upload_done(self, future: Future[None]) -> None:
        self._slots.release()
        self._note_failure(future)

    def _note_failure(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None and self._failure is None:
            log.warning("run record not written", exc_info=error)
            self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
