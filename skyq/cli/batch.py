"""`skyq batch`: one run per row of a CSV or JSON Lines file, through skyq's API."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from skyq.batch import read_rows
from skyq.batch.job import BatchJob, BatchOutcome, BatchSpec
from skyq.cli.main import EXIT_NOT_COMPLETED, cli, fail, load_settings, schema_argument
from skyq.client import AsyncClient


@cli.command()
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prompt", required=True, help="Prompt template: {column} takes the row's value.")
@click.option("--url", help="Start URL template, e.g. https://shop.example/{sku}.")
@click.option("--schema", help="data_extraction_schema: a JSON file or JSON text.")
@click.option("--max-steps", type=click.IntRange(1, 1000), help="Steps per run.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results, one JSON line per row as it ends [default: INPUT.results.jsonl].",
)
@click.option("--concurrency", type=click.IntRange(1, 1000), default=8, show_default=True)
@click.option("--api-url", help="skyq's API [default: SKYQ_PUBLIC_URL].")
def batch(
    input_file: Path,
    prompt: str,
    url: str | None,
    schema: str | None,
    max_steps: int | None,
    out: Path | None,
    concurrency: int,
    api_url: str | None,
) -> None:
    """Run PROMPT once per row of INPUT (.csv with a header, or .jsonl) on skyq's API
    with SKYQ_API_KEY. Stop it at any time: the same command again resumes, without
    running a finished row again."""
    settings = load_settings()
    if not input_file.is_file():
        fail(f"INPUT: no such file {input_file}")
    if settings.api_key is None:
        fail("SKYQ_API_KEY: set it to a key from `skyq keys create` to call the API")
    rows = read_rows(input_file)
    if not rows:
        fail(f"INPUT: {input_file} has no rows")
    fields: dict[str, Any] = {}
    if schema is not None:
        try:
            fields["data_extraction_schema"] = json.loads(schema_argument(schema))
        except json.JSONDecodeError as exc:
            fail(f"--schema: not JSON ({exc.msg})")
    if max_steps is not None:
        fields["max_steps"] = max_steps
    spec = BatchSpec(prompt=prompt, url=url, fields=fields)
    out = out or input_file.with_name(input_file.name + ".results.jsonl")
    client = AsyncClient(api_url or settings.public_url, settings.api_key.get_secret_value())
    job = BatchJob(client, spec, rows, out, concurrency=concurrency, progress_stream=sys.stderr)
    try:
        outcome = asyncio.run(_run(job, client))
    except KeyboardInterrupt:
        job.progress.close()
        fail(
            f"interrupted: {job.progress.finished} of {len(rows)} rows are in {out}; "
            "the same command resumes (runs in flight go on, and are picked up)",
            130,
        )
    _report(outcome, len(rows), out)


async def _run(job: BatchJob, client: AsyncClient) -> BatchOutcome:
    try:
        return await job.run()
    finally:
        await client.aclose()


def _report(outcome: BatchOutcome, total: int, out: Path) -> None:
    click.echo(f"{outcome.completed} of {total} rows completed; results in {out}", err=True)
    if outcome.failed:
        click.echo(f"{len(outcome.failed)} rows did not complete:", err=True)
        for row, reason in outcome.failed:
            click.echo(f"  row {row}: {reason}", err=True)
        sys.exit(EXIT_NOT_COMPLETED)
