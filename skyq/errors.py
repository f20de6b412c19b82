"""The one error tree of skyq.

    SkyqError
    ├── ConfigurationError        settings missing or contradictory (a usage error)
    ├── InvalidRequestError       a task request that cannot run (field named)
    ├── RunNotFoundError          no run with that id (for this organization)
    │   ├── BatchNotFoundError    no batch with that id
    │   ├── BrowserSessionNotFoundError  no browser session with that id
    │   ├── WorkflowNotFoundError no workflow with that id
    │   └── CredentialNotFoundError   no credential with that id
    ├── BrowserSessionEndedError  a run names a session that is closed, expired or lost
    ├── RunBusyError              another live attempt holds the run (retry later)
    ├── InfrastructureError       skyq's own services failed, not the task: an attempt
    │   │                         that meets one is given up, never ends the run
    │   ├── QueueUnavailableError     the broker could not take a message
    │   └── DatabaseUnavailableError  the database could not be reached (retry later)
    ├── StorageError              the artifact store refused a read or write
    ├── BrowserError              Chromium could not be launched or died
    ├── NavigationError           a page could not be reached (the run fails)
    └── LLMError                  the model could not be reached or used
        └── ModelReplyError       the model answered something outside the protocol

Foreign errors are translated where they enter skyq (``raise ... from``). A failed
click is not an exception: it is data the model sees in the next step.
"""

from __future__ import annotations

from pydantic import ValidationError


class SkyqError(Exception):
    """Base of every error skyq raises on purpose."""


class ConfigurationError(SkyqError):
    """Settings are missing or cannot work together."""


class InvalidRequestError(SkyqError):
    """A request that cannot run; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        # Both as args: Celery rebuilds a task's exception from its args in the caller.
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RunNotFoundError(SkyqError):
    """No run with that id is visible."""


def invalid_request(exc: ValidationError) -> InvalidRequestError:
    """pydantic's first complaint as an InvalidRequestError naming its field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "request"
    return InvalidRequestError(field, str(first["msg"]))


class BatchNotFoundError(RunNotFoundError):
    """No batch with that id is visible (answers 404 like a run)."""


class BrowserSessionNotFoundError(RunNotFoundError):
    """No browser session with that id is visible (answers 404 like a run)."""


class WorkflowNotFoundError(RunNotFoundError):
    """No workflow with that id is visible (answers 404 like a run)."""


class CredentialNotFoundError(RunNotFoundError):
    """No credential with that id is visible (answers 404 like a run)."""


class BrowserSessionEndedError(SkyqError):
    """A browser session that can take no more runs: closed, timed out or lost."""


class RunBusyError(SkyqError):
    """Another attempt holds a live lease on the run; look again after ``retry_after``."""

    def __init__(self, run_id: str, retry_after: float) -> None:
        super().__init__(f"run {run_id} is held by another live attempt")
        self.run_id = run_id
        self.retry_after = retry_after


class InfrastructureError(SkyqError):
    """A service skyq depends on failed; the task itself may be fine."""


class QueueUnavailableError(InfrastructureError):
    """The broker refused or could not be reached when enqueuing."""


class DatabaseUnavailableError(InfrastructureError):
    """The database did not answer; the operation can be tried again."""


class StorageError(SkyqError):
    """The artifact store failed."""


class BrowserError(SkyqError):
    """The browser could not be launched, or it crashed."""


class NavigationError(SkyqError):
    """A URL could not be loaded."""


class LLMError(SkyqError):
    """The model could not be called."""


class ModelReplyError(LLMError):
    """The model's reply broke the protocol even after a retry."""
