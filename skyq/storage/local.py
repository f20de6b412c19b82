"""Artifacts on the local disk: the embedded default."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from skyq.errors import StorageError
from skyq.storage.base import check_key


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def _path(self, uri: str) -> Path:
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise StorageError(f"not a local artifact: {uri}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"artifact outside the store: {uri}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> str:
        path = self.root / check_key(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a screenshot.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror}") from exc
        return path.as_uri()

    def get(self, uri: str) -> bytes:
        try:
            return self._path(uri).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc.strerror}") from exc

    def url(self, uri: str, *, download_as: str | None = None) -> str:
        return uri

    def delete(self, uri: str) -> None:
        self._path(uri).unlink(missing_ok=True)
