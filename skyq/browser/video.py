"""Run recordings use Playwright's own recorder (``page.screencast``), which needs the
ffmpeg build Playwright downloads. Where that download is impossible, Debian's ffmpeg
does the same job: it is linked where Playwright looks for its own. (The other way,
CDP screencast frames piped to ffmpeg by skyq, needs a writer thread and more code for
the same webm; see docs/recording.md.)"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import playwright

log = logging.getLogger(__name__)


def _playwright_ffmpeg_path() -> Path:
    package = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    browsers = json.loads(package.read_text())["browsers"]
    revision = next(b["revision"] for b in browsers if b["name"] == "ffmpeg")
    # Playwright's own setting for where its downloads live, honoured as it does.
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache/ms-playwright")
    return Path(root) / f"ffmpeg-{revision}" / "ffmpeg-linux"


def ensure_ffmpeg() -> bool:
    """True when Playwright can record video, linking the system ffmpeg if needed."""
    target = _playwright_ffmpeg_path()
    if target.exists():
        return True
    system = shutil.which("ffmpeg")
    if system is None:
        log.warning("recording disabled: no ffmpeg (apt-get install ffmpeg)")
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(system)
    except FileExistsError:
        pass  # another process linked it first
    except OSError as exc:
        log.warning("recording disabled: cannot link ffmpeg", extra={"error": str(exc)})
        return False
    return True
