"""A batch run from the command line against skyq's API: at most ``concurrency`` runs
in flight, each result appended to a JSON Lines file as its run ends.

Resuming is the same command again. Rows already in the output are not run again, and
every row's POST carries an Idempotency-Key made of the batch's digest and the row's
index, so a row that was in flight when the command stopped is found again (still
running, or finished meanwhile), never started twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skyq.batch.progress import Progress
from skyq.batch.rows import BatchRow
from skyq.batch.template import fill
from skyq.client import AsyncClient, RequestOptions
from skyq.errors import InvalidRequestError
from skyq.schemas import RunStatus, TaskRunResponse


@dataclass(frozen=True)
class BatchSpec:
    prompt: str  # a template: {column} takes the row's value
    url: str | None = None  # a template too
    fields: dict[str, Any] = field(default_factory=dict)  # other TaskRunRequest fields

    def request(self, row: BatchRow) -> dict[str, Any]:
        try:
            body: dict[str, Any] = {"prompt": fill(self.prompt, row.values), **self.fields}
            if self.url:
                body["url"] = fill(self.url, row.values, field="url")
        except InvalidRequestError as exc:
            raise InvalidRequestError(exc.field, f"row {row.index}: {exc.message}") from None
        return body


@dataclass
class BatchOutcome:
    completed: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # row, reason


def digest(spec: BatchSpec, rows: list[BatchRow]) -> str:
    text = json.dumps(
        [spec.prompt, spec.url, spec.fields, [r.values for r in rows]], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished_rows(out: Path, batch: str) -> dict[int, dict[str, Any]]:
    """The rows already written to ``out`` by this batch; another batch's file is an
    error (its rows would be taken for ours)."""
    if not out.exists():
        return {}
    found: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(out.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            # The last line of a killed writer may be cut short; the row runs again.
            continue
        if entry.get("batch") != batch:
            raise InvalidRequestError(
                "out",
                f"{out} line {number} is from another batch (other input, prompt or "
                "options); choose another --out",
            )
        found[int(entry["row"])] = entry
    return found


class BatchJob:
    def __init__(
        self,
        client: AsyncClient,
        spec: BatchSpec,
        rows: list[BatchRow],
        out: Path,
        *,
        concurrency: int,
        progress_stream: Any,
        timeout: float = 1800,
    ) -> None:
        self.client = client
        self.spec = spec
        self.rows = rows
        self.out = out
        self.concurrency = concurrency
        self.timeout = timeout
        self.batch = digest(spec, rows)
        # Every row's request is made now: a template error stops the batch before
        # any run starts.
        self.requests = {row.index: spec.request(row) for row in rows}
        self.done = finished_rows(out, self.batch)
        self.outcome = BatchOutcome()
        for entry in self.done.values():
            if entry["status"] == RunStatus.completed.value:
                self.outcome.completed += 1
            else:
                self.outcome.failed.append((entry["row"], entry.get("failure_reason") or ""))
        self.progress = Progress(
            len(rows), self.outcome.completed, len(self.outcome.failed), progress_stream
        )

    async def run(self) -> BatchOutcome:
        todo = [row for row in self.rows if row.index not in self.done]
        slots = asyncio.Semaphore(self.concurrency)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.out.open("a", encoding="utf-8") as sink:

            async def one(row: BatchRow) -> None:
                async with slots:
                    self.progress.running += 1
                    self.progress.draw()
                    try:
                        run = await self._run_row(row)
                    finally:
                        self.progress.running -= 1
                    self._write(sink, row, run)

            await asyncio.gather(*(one(row) for row in todo))
        self.progress.close()
        self.outcome.failed.sort()
        return self.outcome

    async def _run_row(self, row: BatchRow) -> TaskRunResponse:
        body = dict(self.requests[row.index])
        options = RequestOptions(
            additional_headers={"Idempotency-Key": f"skyq-batch-{self.batch}-{row.index}"}
        )
        prompt = body.pop("prompt")
        started = await self.client.run_task(prompt, request_options=options, **body)
        return await self.client.wait_for_run(started.run_id, timeout=self.timeout)

    def _write(self, sink: Any, row: BatchRow, run: TaskRunResponse) -> None:
        entry = {
            "batch": self.batch,
            "row": row.index,
            "input": row.values,
            "run_id": run.run_id,
            "status": run.status.value,
            "output": run.output,
            "failure_reason": run.failure_reason,
        }
        sink.write(json.dumps(entry, default=str) + "\n")
        sink.flush()
        if run.status == RunStatus.completed:
            self.outcome.completed += 1
            self.progress.completed += 1
        else:
            self.outcome.failed.append((row.index, run.failure_reason or run.status.value))
            self.progress.failed += 1
        self.progress.draw()
