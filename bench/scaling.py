"""Runs per minute against the number of worker processes on this machine (two runs at
once each, on the default pool), and what one run costs the shared services: PostgreSQL
transactions and rows, Redis commands, S3 objects and bytes, counted over the whole
measured batch (the bench must have these servers to itself). docs/benchmarks.md
projects a 100-node cluster from these counts."""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import redis

from bench.pages import serve, write_pages
from bench.throughput import signup_model, signup_runs

WORKERS = (1, 2)
CHILDREN = 2
RUNS = 16

if TYPE_CHECKING:
    from bench.system import System


@dataclass
class Scale:
    workers: int
    children: int
    runs: int
    seconds: float
    per_run: dict[str, float]

    @property
    def per_minute(self) -> float:
        return self.runs / self.seconds * 60


def _pg(url: str, database: str) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_fetched"
            " FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    assert row is not None
    names = ("transactions", "rows inserted", "rows updated", "rows read")
    return dict(zip(names, row, strict=True))


def _redis_commands() -> float:
    info: dict[str, Any] = redis.Redis(host="127.0.0.1", port=6379).info("stats")
    return float(info["total_commands_processed"])


def _s3(endpoint: str, bucket: str) -> dict[str, float]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    objects = size = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            objects += 1
            size += item["Size"]
    return {"S3 objects written": objects, "S3 kB written": size / 1000}


def _counts(cluster: Any) -> dict[str, float]:
    # PostgreSQL's statistics reach pg_stat_database up to a second after a backend's
    # transactions end.
    time.sleep(2)
    counts = _pg(cluster.pg_admin, cluster.database)
    counts["Redis commands"] = _redis_commands()
    counts.update(_s3(cluster.env["SKYQ_S3_ENDPOINT_URL"], cluster.bucket))
    return counts


def run(
    workers: tuple[int, ...] = WORKERS, runs: int = RUNS, shared: System | None = None
) -> list[Scale]:
    from bench.system import system

    results = []
    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))
        with serve(Path(folder)) as base, system(signup_model, shared=shared) as deployment:
            url = f"{base}/signup.html"
            cluster = deployment.cluster

            def batch(count: int) -> float:
                return signup_runs(cluster.url, deployment.key, url, count)

            for count in workers:
                with contextlib.ExitStack() as running:
                    for i in range(count):
                        running.enter_context(deployment.worker(CHILDREN, f"scale-{count}-{i}"))
                    batch(count * CHILDREN)  # every child's browser up
                    before = _counts(cluster)
                    seconds = batch(runs)
                    after = _counts(cluster)
                per_run = {key: (after[key] - before[key]) / runs for key in after}
                results.append(Scale(count, CHILDREN, runs, seconds, per_run))
    return results
