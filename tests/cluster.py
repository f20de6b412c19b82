"""A real skyq deployment on this machine: API and worker processes on Redis, PostgreSQL
and an S3 server (moto). Only the model is a stand-in (tests/fake_llm.py)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
import psycopg
import redis

from skyq.config import Settings
from tests.s3_server import free_port

DEFAULT_POOL = str(Settings.model_fields["worker_pool"].default)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def create_database(admin_url: str = PG_ADMIN) -> str:
    name = f"skyq_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str, admin_url: str = PG_ADMIN) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    def __init__(
        self, home: Path, llm_url: str, s3_url: str, pg_admin: str = PG_ADMIN, **settings: str
    ) -> None:
        """``pg_admin``: the PostgreSQL server (its admin URL) to make the database on."""
        self.home = home
        self.pg_admin = pg_admin
        self.database = create_database(pg_admin)
        self.bucket = f"skyq-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1").create_bucket(
            Bucket=self.bucket
        )
        self.redis_db = 11
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SKYQ_", "OPENAI_"))}
        self.env.update(
            SKYQ_HOME=str(home),
            SKYQ_DATABASE_URL=pg_admin.rsplit("/", 1)[0] + f"/{self.database}",
            SKYQ_ARTIFACTS_URL=f"s3://{self.bucket}/artifacts",
            SKYQ_S3_ENDPOINT_URL=s3_url,
            SKYQ_BROKER_URL=f"redis://127.0.0.1:6379/{self.redis_db}",
            SKYQ_RESULT_BACKEND=f"redis://127.0.0.1:6379/{self.redis_db + 1}",
            SKYQ_LLM_MODEL="fake-model",
            SKYQ_LLM_API_BASE=llm_url,
            # The computer-use engines reach the same fake server, each in its own format.
            SKYQ_OPENAI_CUA_API_BASE=llm_url,
            SKYQ_ANTHROPIC_CUA_API_BASE=llm_url,
            SKYQ_UI_TARS_API_BASE=llm_url,
            SKYQ_UI_TARS_MODEL="ui-tars-1.5-7b",
            SKYQ_LLM_MAX_RETRIES="0",
            SKYQ_PUBLIC_URL=self.url,
            SKYQ_API_PORT=str(self.port),
            SKYQ_LEASE_SECONDS="3",
            SKYQ_WEBHOOK_BACKOFF_SECONDS="0.3",
            SKYQ_EGRESS_ALLOW='["127.0.0.1"]',
            SKYQ_REAPER_INTERVAL_SECONDS="1",
            SKYQ_NAVIGATION_TIMEOUT_SECONDS="5",
            SKYQ_LOG_LEVEL="INFO",
            SKYQ_WORKER_METRICS_PORT="0",  # several workers share this host
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            FLOWER_UNAUTHENTICATED_API="true",  # loopback only, in a test
        )
        self.env.update(settings)
        self.redis = redis.Redis.from_url(self.env["SKYQ_BROKER_URL"])
        self.redis.flushdb()
        redis.Redis.from_url(self.env["SKYQ_RESULT_BACKEND"]).flushdb()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.skyq("db", "upgrade")

    def skyq(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "skyq", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.home / log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "skyq", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start_api(self) -> subprocess.Popen[bytes]:
        process = self.start("api", log="api.log")

        def healthy() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, (self.home / "api.log").read_text()
                return False

        wait_until(healthy, 60, "the API to answer /healthz")
        return process

    def start_worker(
        self, concurrency: int = 2, name: str = "worker", pool: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A `skyq worker`; ``name`` tells apart several on this host (node, log).
        ``pool``: prefork or threads (default: the deployment's SKYQ_WORKER_POOL)."""
        pool = pool or self.env.get("SKYQ_WORKER_POOL") or DEFAULT_POOL
        log = self.home / f"{name}.log"
        start = log.stat().st_size if log.exists() else 0
        process = self.start(
            "worker", "-P", pool, "-c", str(concurrency), "-n", f"{name}@%h", log=log.name
        )
        # A threads-pool worker has launched its one browser before it says ready.
        children = concurrency if pool == "prefork" else 1
        wait_until(
            lambda: (
                len(self.children(process.pid)) >= children and "ready." in log.read_text()[start:]
            ),
            90,
            "the worker's children",
        )
        return process

    def start_beat(self) -> subprocess.Popen[bytes]:
        process = self.start("beat", log="beat.log")
        wait_until(lambda: "beat: Starting..." in (self.home / "beat.log").read_text(), 60, "beat")
        return process

    def start_flower(self) -> str:
        """`skyq flower` on a free port; its URL."""
        port = free_port()
        self.start("flower", f"--port={port}", log="flower.log")
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/healthcheck", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, 60, "flower to answer")
        return url

    @staticmethod
    def descendants(pid: int) -> list[int]:
        """Every live process below ``pid`` (Chromium included, whatever its group)."""
        found, frontier = [], [pid]
        while frontier:
            parent = frontier.pop()
            for child in Cluster.children(parent):
                found.append(child)
                frontier.append(child)
        return found

    @staticmethod
    def alive(pids: list[int]) -> list[int]:
        """Those of ``pids`` still running (zombies waiting for a reaper do not count)."""
        living = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                living.append(pid)
        return living

    @staticmethod
    def state_and_name(pid: int) -> tuple[str, str]:
        """A process's state letter (Z: a zombie) and its name; ("", "") once gone."""
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state, Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return "", ""

    @staticmethod
    def children(pid: int) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def create_key(self, org: str) -> str:
        return self.skyq("keys", "create", "--org", org)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        drop_database(self.database, self.pg_admin)
