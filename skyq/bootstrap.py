"""Opening the stores named by the settings: done once at each process edge."""

from __future__ import annotations

import os
import secrets

from skyq.config import Settings
from skyq.db import RunStore, make_engine
from skyq.db.migrate import is_current, upgrade
from skyq.errors import ConfigurationError


def open_run_store(settings: Settings, *, auto_migrate: bool | None = None) -> RunStore:
    """The RunStore on ``SKYQ_DATABASE_URL``.

    The embedded SQLite file is migrated on first use; a server database must be
    migrated on purpose with ``skyq db upgrade`` (many processes share it, and an
    upgrade is an operator's decision).
    """
    url = settings.resolved_database_url
    engine = make_engine(url)
    if auto_migrate is None:
        auto_migrate = engine.dialect.name == "sqlite"
    try:
        if auto_migrate:
            upgrade(engine)
        elif not is_current(engine):
            raise ConfigurationError("the database schema is not up to date: run `skyq db upgrade`")
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"cannot use the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{' '.join(str(exc).split())[:300]}"
        ) from exc
    return RunStore(engine, default_max_steps=settings.default_max_steps)


def secret_key(settings: Settings) -> bytes:
    """``SKYQ_SECRET_KEY``; on one machine without it, a random key kept under home."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.home / "secret_key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
