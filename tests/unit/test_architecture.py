"""Dependencies point one way and each outside library has one home (style.md, 4)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def importers_of(library: str) -> set[str]:
    return {
        str(p.relative_to(ROOT))
        for p in modules("skyq", "workers")
        if any(name == library or name.startswith(library + ".") for name in imports_of(p))
    }


def test_each_outside_library_has_one_home():
    assert all(p.startswith("skyq/browser/") for p in importers_of("playwright"))
    assert importers_of("litellm") == {"skyq/llm/litellm_client.py"}
    assert importers_of("boto3") | importers_of("botocore") == {"skyq/storage/s3.py"}
    # skyq/celery.py is the public signature helper for other services' Celery apps.
    celery_homes = ("workers/", "skyq/queue/", "skyq/celery.py")
    assert all(p.startswith(celery_homes) for p in importers_of("celery"))
    assert importers_of("prometheus_client") <= {"skyq/metrics.py", "skyq/api/metrics.py"}


def test_the_agent_imports_no_browser_model_store_or_queue():
    forbidden = (
        "playwright",
        "litellm",
        "celery",
        "sqlalchemy",
        "sqlmodel",
        "boto3",
        "skyq.browser",
        "skyq.db",
        "skyq.storage",
        "skyq.llm.litellm_client",
        "skyq.runner",
    )
    for path in modules("skyq/agent"):
        bad = [n for n in imports_of(path) if n.startswith(forbidden)]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_storage_and_schemas_import_no_browser_or_queue():
    for path in modules("skyq/storage", "skyq/schemas", "skyq/db"):
        bad = [n for n in imports_of(path) if n.startswith(("playwright", "celery", "skyq.agent"))]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "skyq", "workers", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_mypy_strict_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_api_never_loads_playwright_or_litellm():
    loaded = loaded_after_import("skyq.api.app")
    assert not {m for m in loaded if m.startswith(("playwright", "litellm", "skyq.browser"))}


def test_the_sdk_loads_no_browser_model_queue_or_database():
    loaded = loaded_after_import("skyq")
    heavy = ("playwright", "litellm", "celery", "sqlalchemy", "boto3", "skyq.browser")
    assert not {m for m in loaded if m.startswith(heavy)}
