"""Files a run's page downloaded, kept as the run's artifacts (any engine's)."""

from __future__ import annotations

from skyq.agent.page import FileData, PageDriver
from skyq.agent.recorder import RunRecorder
from skyq.schemas import ArtifactType

# Downloads still arriving when the run ended belong to it too.
DOWNLOAD_GRACE_SECONDS = 10.0


async def keep_downloads(
    page: PageDriver,
    recorder: RunRecorder,
    step_id: str | None,
    suffix: str | None,
    wait_seconds: float = 0.0,
) -> list[FileData]:
    """Store what arrived since the last call; returns the files as the page named them."""
    kept = await page.take_downloads(wait_seconds)
    for file in kept:
        name = _with_suffix(file.name, suffix)
        recorder.save_artifact(step_id, ArtifactType.download, file.data, _extension(name), name)
    return kept


def _extension(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return suffix if suffix.isalnum() and len(suffix) <= 10 else "bin"


def _with_suffix(name: str, suffix: str | None) -> str:
    """Put ``suffix`` before the extension ("report.csv" -> "report-q3.csv")."""
    if not suffix:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}{suffix}.{ext}" if dot and stem else f"{name}{suffix}"
