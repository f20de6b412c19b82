"""Ids with Skyvern's prefixes: sortable by creation time, random after that."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 36)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def new_id(prefix: str) -> str:
    """``prefix_`` + 9 time characters (ms) + 10 random characters."""
    stamp = _base36(time.time_ns() // 1_000_000, 9)
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{prefix}_{stamp}{tail}"


def task_run_id() -> str:
    return new_id("tsk")


ARTIFACT_PREFIX = "a_"  # what artifact_id() makes start with


def artifact_id() -> str:
    return new_id("a")


def step_id() -> str:
    return new_id("stp")


def action_id() -> str:
    return new_id("act")


def organization_id() -> str:
    return new_id("o")


def browser_session_id() -> str:
    return new_id("pbs")


def workflow_permanent_id() -> str:
    return new_id("wpid")


def script_revision_id() -> str:
    return new_id("sr")


def workflow_run_id() -> str:
    return new_id("wr")


def credential_id() -> str:
    return new_id("cred")
