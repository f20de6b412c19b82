"""The messages skyq sends a model. docs/agent-protocol.md is the contract they follow.

Each system message starts with ``skyq-request: <kind>`` (step, verify or extract), so
a reader of a transcript, or a scripted model in a test, can tell the calls apart.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skyq.agent.page import Observation, PageNode
from skyq.llm.base import Message

STEP_SYSTEM = """skyq-request: step
You are a browser agent. You get a task, the current page and the actions taken so far;
you answer with the next actions to take.

The page is listed line by line in document order. An element you can act on is one
HTML-like line carrying its id, e.g. <button id=K3>Sign in</button>; any other line
is text on the page. Only use ids from the current listing.

Answer with ONE JSON object and nothing else:
{"actions": [{"action_type": "...", "id": "K3", "reasoning": "..."}],
 "errors": [{"error_code": "...", "reasoning": "..."}]}

Action types and their fields:
- click: id
- input_text: id, text (replaces the field's value)
- select_option: id, option (the option's label)
- scroll: direction ("up" or "down"), or id to bring an element into view
- keypress: keys (e.g. "Enter", "Tab", "Control+A"), optional id to focus first
- goto: url (http or https)
- wait: seconds (at most 30)
- complete: the task is done; put the answer or the requested data in "data"
- terminate: the task cannot be done; say why in "reasoning"
Several actions may be listed; they run in order, and the list stops early when an
action fails or the page navigates, after which you see the new page.
"errors" lists the ERROR CODES (if any are given) whose condition holds on this page;
leave it empty otherwise. When one holds, the run ends with that code."""

VERIFY_SYSTEM = """skyq-request: verify
You check whether a browser agent has achieved the user's goal, looking at the current
page (and the actions taken, when they are given). Answer with ONE JSON object:
{"user_goal_achieved": true or false, "reasoning": "..."}"""

EXTRACT_SYSTEM = """skyq-request: extract
You extract data from a web page for the user's task. Answer with ONE JSON value and
nothing else. When a SCHEMA is given, the value must validate against it: use the
types it names (numbers as numbers, without currency signs), and null where a value is
missing and the schema allows it."""

# The name a one-time code goes by: the model types its placeholder, and a published
# workflow's code takes it as a secret parameter of that name.
CODE_NAME = "verification_code"
PLACEHOLDER = "{{" + CODE_NAME + "}}"
CODE_HINT = (
    "VERIFICATION CODES: when the page asks for a one-time, 2FA or verification code, "
    f'use input_text with text "{PLACEHOLDER}"; skyq types the real code in its place.'
)
ERROR_CODE_HINT = 'ERROR CODES (report a code in "errors" when its condition holds):'
SECRET_HINT = (
    "SECRETS: to type one of these, use input_text with its placeholder as the text; "
    "skyq types the real value, which you never see:"
)


def secret_placeholder(name: str) -> str:
    return "{{" + name + "}}"


@dataclass(frozen=True)
class HistoryEntry:
    step: int
    action_type: str
    element_id: str | None
    element_text: str | None
    detail: str
    ok: bool
    error: str | None = None

    def line(self) -> str:
        target = ""
        if self.element_id:
            target = f" {self.element_id}"
            if self.element_text:
                target += f" {json.dumps(self.element_text[:60], ensure_ascii=False)}"
        result = "ok" if self.ok else f"FAILED: {self.error}"
        detail = f" {self.detail}" if self.detail else ""
        return f"step {self.step}: {self.action_type}{target}{detail} -> {result}"


@dataclass(frozen=True)
class TaskBrief:
    """The parts of a task every prompt repeats."""

    prompt: str
    schema: dict[str, Any] | list[Any] | None = None
    error_codes: dict[str, str] = field(default_factory=dict)
    verification_codes: bool = False
    secret_names: tuple[str, ...] = ()


# Elements with no content and no closing tag in HTML: their closing tag is noise.
VOID_TAGS = frozenset({"input", "img", "br", "hr", "area", "embed", "source", "track", "wbr"})
_BARE_VALUE = re.compile(r"[^\s\"'=<>`]+")


def _value(value: str) -> str:
    """Bare where HTML allows it, quoted otherwise: the quotes were a tenth of the
    tokens of a link-heavy listing (bench/, issue 7)."""
    value = value.replace("\n", " ")
    if _BARE_VALUE.fullmatch(value):
        return value
    return '"' + value.replace('"', "'") + '"'


def element_line(node: PageNode) -> str:
    attrs = "".join(f" {k}={_value(v)}" for k, v in node.attrs.items())
    tag = node.tag or "element"
    inner = node.text
    if node.options:
        inner = "options: " + " | ".join(node.options)
    head = f"<{tag} id={node.id}{attrs}>"
    if tag in VOID_TAGS and not inner:
        return head
    return f"{head}{inner}</{tag}>"


def page_listing(obs: Observation, max_chars: int) -> str:
    lines: list[str] = []
    used = 0
    for node in obs.nodes:
        if node.kind == "element":
            line = element_line(node)
        elif node.kind == "frame":
            line = f"--- iframe {node.text} ---"
        else:
            line = node.text
        used += len(line) + 1
        if used > max_chars:
            lines.append("[listing cut here: page too large]")
            break
        lines.append(line)
    if obs.truncated and (not lines or not lines[-1].startswith("[listing cut")):
        lines.append("[listing cut here: page too large]")
    return "\n".join(lines)


def page_header(obs: Observation) -> str:
    return (
        f"CURRENT PAGE: {obs.url}\nTITLE: {obs.title}\n"
        f"SCROLL: {obs.scroll_y}px of {obs.scroll_height}px "
        f"(viewport {obs.viewport_height}px)"
    )


def _task_block(brief: TaskBrief) -> str:
    parts = [f"TASK: {brief.prompt}"]
    if brief.schema is not None:
        parts.append("SCHEMA of the data to return:\n" + json.dumps(brief.schema, indent=1))
    if brief.error_codes:
        codes = "\n".join(f"- {code}: {cond}" for code, cond in brief.error_codes.items())
        parts.append(f"{ERROR_CODE_HINT}\n{codes}")
    if brief.verification_codes:
        parts.append(CODE_HINT)
    if brief.secret_names:
        names = ", ".join(f"{n} {secret_placeholder(n)}" for n in brief.secret_names)
        parts.append(f"{SECRET_HINT} {names}")
    return "\n\n".join(parts)


def _user(text: str, screenshots: Sequence[bytes]) -> Message:
    if not screenshots:
        return {"role": "user", "content": text}
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for shot in screenshots:
        encoded = base64.b64encode(shot).decode()
        content.append(
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{encoded}"}}
        )
    return {"role": "user", "content": content}


def history_block(history: Sequence[HistoryEntry]) -> str:
    if not history:
        return "ACTIONS SO FAR: none"
    return "ACTIONS SO FAR:\n" + "\n".join(entry.line() for entry in history)


def step_messages(
    brief: TaskBrief,
    obs: Observation,
    history: Sequence[HistoryEntry],
    *,
    max_chars: int,
    screenshots: bool,
    feedback: str | None = None,
) -> list[Message]:
    text = "\n\n".join(
        part
        for part in (
            _task_block(brief),
            page_header(obs),
            "ELEMENTS AND TEXT:\n" + page_listing(obs, max_chars),
            history_block(history),
            f"NOTE: {feedback}" if feedback else "",
        )
        if part
    )
    return [
        {"role": "system", "content": STEP_SYSTEM},
        _user(text, obs.screenshots if screenshots else ()),
    ]


def verify_messages(
    brief: TaskBrief,
    obs: Observation,
    history: Sequence[HistoryEntry] | None,
    *,
    max_chars: int,
    screenshots: bool,
) -> list[Message]:
    parts = [f"TASK: {brief.prompt}", page_header(obs), "PAGE:\n" + page_listing(obs, max_chars)]
    if history is not None:
        parts.append(history_block(history))
    return [
        {"role": "system", "content": VERIFY_SYSTEM},
        _user("\n\n".join(parts), obs.screenshots[:1] if screenshots else ()),
    ]


def extract_messages(
    brief: TaskBrief,
    obs: Observation,
    *,
    max_chars: int,
    candidate: Any = None,
    problems: Sequence[str] = (),
) -> list[Message]:
    parts = [_task_block(TaskBrief(brief.prompt, brief.schema)), page_header(obs)]
    parts.append("PAGE:\n" + page_listing(obs, max_chars))
    if problems:
        parts.append(
            "YOUR PREVIOUS ANSWER:\n"
            + json.dumps(candidate, ensure_ascii=False)[:4000]
            + "\nIT DID NOT VALIDATE AGAINST THE SCHEMA:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nAnswer again with corrected JSON."
        )
    return [{"role": "system", "content": EXTRACT_SYSTEM}, _user("\n\n".join(parts), ())]


def retry_message(reply: str, problem: str) -> list[Message]:
    """Appended after a reply that broke the protocol: the model gets one more try."""
    return [
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": f"Your reply could not be used: {problem}. Answer again with one "
            "JSON object that follows the format in the system message.",
        },
    ]


def loggable(messages: Sequence[Message]) -> list[Message]:
    """The request as stored: images replaced by their size (they are stored apart)."""
    out: list[Message] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {
                    "type": "image_url",
                    "image_url": f"<jpeg, {len(part['image_url']['url'])} b64 chars>",
                }
                if part.get("type") == "image_url"
                else part
                for part in content
            ]
        out.append({**message, "content": content})
    return out
