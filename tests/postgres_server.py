"""A private PostgreSQL server for database fault tests: stopped, killed and started
again at will, while the machine's own server goes on serving the other tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.cluster import wait_until
from tests.s3_server import free_port


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs the suite as root.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PrivatePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: its root is private to root, and the server
        # runs as the postgres user.
        self.folder = Path(tempfile.mkdtemp(prefix="skyq-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            _as_postgres(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        argv = ["postgres", "-D", str(self.data), "-p", str(self.port), "-k", str(self.folder)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(_as_postgres(argv), stdout=log, stderr=log)
        wait_until(self.accepts_connections, 60, "the private postgres to start")

    def accepts_connections(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log()
        try:
            psycopg.connect(self.url(), connect_timeout=1).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        """Fast shutdown: every session is cut, as when the server goes away."""
        assert self.process is not None
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
        self.process.wait(timeout=30)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text() if path.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
