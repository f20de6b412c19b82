"""docker/: no Docker engine runs here, so the files are checked against the code:
every target, command and setting they name must exist and parse."""

from __future__ import annotations

import re
from pathlib import Path

import click
import yaml

from skyq.cli.main import cli
from skyq.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def stages() -> list[str]:
    return re.findall(r"^FROM \S+ AS (\w+)$", DOCKERFILE, re.MULTILINE)


def stage_text(name: str) -> str:
    start = DOCKERFILE.index(f" AS {name}\n")
    following = DOCKERFILE.find("\nFROM ", start)
    return DOCKERFILE[start : following if following != -1 else None]


def skyq_services() -> dict[str, dict]:
    return {n: s for n, s in COMPOSE["services"].items() if "build" in s}


def test_images_run_as_non_root_under_tini():
    assert {"api", "worker", "flower"} <= set(stages())
    assert 'ENTRYPOINT ["tini", "--", "skyq"]' in stage_text("base")
    for image in ("api", "worker", "flower"):
        assert "USER 10001" in stage_text(image), image
    assert "chromium" in stage_text("worker") and "ffmpeg" in stage_text("worker")
    assert "chromium" not in stage_text("api"), "the API image carries no browser"


def test_every_compose_command_is_a_skyq_command_that_parses():
    for name, service in skyq_services().items():
        assert service["build"]["target"] in stages(), name
        args = list(service["command"])
        context = cli.make_context("skyq", args, resilient_parsing=False)
        command_name, command, rest = cli.resolve_command(context, args)
        assert command is not None, f"{name}: no command {args[0]}"
        try:
            command.make_context(command_name, rest, parent=context)
        except click.UsageError as exc:
            raise AssertionError(f"{name}: {' '.join(args)}: {exc}") from None


def test_the_compose_environment_is_valid_settings(monkeypatch):
    env = COMPOSE["x-skyq-env"]
    unknown = {
        key
        for key in env
        if key.startswith("SKYQ_") and key[5:].lower() not in Settings.model_fields
    }
    assert unknown == set()
    for key, value in env.items():
        # ${NAME:-default} as compose fills it in with nothing set.
        value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
        if value:
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.broker_url == "redis://redis:6379/0"
    assert settings.s3_endpoint_url == "http://minio:9000"


def test_the_chart_uses_the_images_this_file_builds():
    chart = ROOT / "deploy" / "helm" / "skyq" / "templates"
    targets = set()
    for template in chart.glob("*.yaml"):
        targets |= set(re.findall(r'"target" "(\w+)"', template.read_text()))
    assert targets and targets <= set(stages())
