"""schemathesis against the running API's own OpenAPI document: whatever it generates,
valid or not, no answer is a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cluster import wait_until
from tests.s3_server import free_port


def test_no_generated_request_gets_a_server_error(tmp_path):
    import httpx

    port = free_port()
    env = {
        "SKYQ_HOME": str(tmp_path),
        "SKYQ_API_PORT": str(port),
        "SKYQ_BROKER_URL": "redis://127.0.0.1:6379/7",
        "SKYQ_RESULT_BACKEND": "redis://127.0.0.1:6379/8",
        "SKYQ_API_RATE_LIMIT_PER_SECOND": "0",
        # Generated long polls on runs that no worker will run would each hold 60 s.
        "SKYQ_MAX_WAIT_SECONDS": "0.2",
        "PATH": "/usr/bin:/bin",
    }
    skyq = [sys.executable, "-m", "skyq"]
    key = subprocess.run(
        [*skyq, "keys", "create", "--org", "fuzz"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    api = subprocess.Popen(
        [*skyq, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, 60, "the API")
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "-H",
                f"x-api-key: {key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    finally:
        api.terminate()
        try:
            api.wait(timeout=30)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait(timeout=10)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout
