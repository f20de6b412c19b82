"""What the agent needs from a browser page, and what it gets back.

The agent loop sees pages only through ``PageDriver``; the Playwright implementation
lives in ``skyq.browser``. A failed action is an ``ActionOutcome`` with ``ok=False``
(data for the model); a dead browser is an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from skyq.agent.actions import AgentAction
from skyq.agent.pointer import PointerAction, Screen


@dataclass(frozen=True)
class PageNode:
    """One line of the page as the model sees it: an element with an id, or text."""

    kind: str  # "element" | "text" | "frame"
    text: str = ""
    id: str | None = None
    tag: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observation:
    url: str
    title: str
    nodes: tuple[PageNode, ...]
    screenshots: tuple[bytes, ...] = ()
    scroll_y: int = 0
    scroll_height: int = 0
    viewport_height: int = 0
    truncated: bool = False

    @property
    def element_ids(self) -> frozenset[str]:
        return frozenset(n.id for n in self.nodes if n.kind == "element" and n.id)

    def element(self, element_id: str) -> PageNode | None:
        for node in self.nodes:
            if node.kind == "element" and node.id == element_id:
                return node
        return None


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    error: str | None = None
    detail: str | None = None
    # How to find the element again without skyq's ids (a published workflow's
    # selector), when the page was asked to record targets.
    target: dict[str, Any] | None = None


@dataclass(frozen=True)
class FileData:
    """A file in memory: one the page downloaded, or one to upload."""

    name: str
    data: bytes


class PageDriver(Protocol):
    @property
    def url(self) -> str: ...

    async def goto(self, url: str) -> None:
        """Load ``url``; raises NavigationError when it cannot be reached."""
        ...

    async def observe(self, *, scrolls: int = 0) -> Observation:
        """Walk the page, id its elements, take ``1 + scrolls`` screenshots."""
        ...

    async def act(self, action: AgentAction) -> ActionOutcome:
        """Perform one browser action (never complete/terminate)."""
        ...

    async def fill_secret(self, element_id: str, value: str) -> ActionOutcome:
        """Type ``value`` into the field and mask it on screen (screenshots, video)."""
        ...

    async def upload(self, element_id: str, file: FileData) -> ActionOutcome:
        """Put ``file`` into the file input ``element_id``."""
        ...

    async def take_downloads(self, wait_seconds: float = 0.0) -> list[FileData]:
        """Files the page downloaded since the last call (waiting up to
        ``wait_seconds`` for downloads still in progress)."""
        ...

    async def screenshot(self) -> bytes: ...

    async def screen(self) -> Screen:
        """The viewport in CSS pixels: what the coordinate engines see and point into."""
        ...

    async def marked(self, point: tuple[int, int]) -> bytes:
        """The viewport with ``point`` marked on it."""
        ...

    async def pointer(self, action: PointerAction) -> ActionOutcome:
        """Perform one coordinate action with the mouse or keyboard."""
        ...


def scrub(text: str, secrets: frozenset[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "••••••")
    return text


def redact(obs: Observation, secrets: frozenset[str]) -> Observation:
    """The observation with every secret value replaced, for the model and artifacts
    (a code can come back in a field, a text or the URL a form was sent to)."""
    if not secrets:
        return obs

    def clean(text: str) -> str:
        return scrub(text, secrets)

    nodes = tuple(
        replace(node, text=clean(node.text), attrs={k: clean(v) for k, v in node.attrs.items()})
        for node in obs.nodes
    )
    return replace(obs, nodes=nodes, url=clean(obs.url), title=clean(obs.title))
