"""Reading a model's replies. Anything outside the protocol raises ProtocolViolation,
which the loop answers with one retry that states the problem."""

from __future__ import annotations

import json
import re
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from skyq.agent.actions import ACTION_TYPES, AgentAction

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_ACTIONS = TypeAdapter(list[AgentAction])


class ProtocolViolation(ValueError):
    """A reply that cannot be used; the message says why, for the model to read."""


@dataclass(frozen=True)
class StepPlan:
    actions: list[AgentAction]
    errors: list[dict[str, str]] = field(default_factory=list)


def parse_json(text: str) -> Any:
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolViolation(
            f"the reply is not valid JSON ({exc.msg} at char {exc.pos})"
        ) from None


def _describe(error: ErrorDetails) -> str:
    return "actions." + ".".join(str(p) for p in error["loc"]) + ": " + str(error["msg"])


def parse_step_reply(
    text: str, element_ids: Set[str], error_codes: Set[str] = frozenset()
) -> StepPlan:
    data = parse_json(text)
    if isinstance(data, dict) and "action_type" in data:
        data = {"actions": [data]}
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        raise ProtocolViolation('the reply must be a JSON object with an "actions" list')
    raw_actions = data["actions"]
    for index, raw in enumerate(raw_actions):
        kind = raw.get("action_type") if isinstance(raw, dict) else None
        if kind not in ACTION_TYPES:
            raise ProtocolViolation(
                f"actions[{index}] has unknown action_type {kind!r}; use one of "
                + ", ".join(ACTION_TYPES)
            )
    try:
        actions = _ACTIONS.validate_python(raw_actions)
    except ValidationError as exc:
        raise ProtocolViolation("; ".join(_describe(e) for e in exc.errors()[:3])) from None
    for action in actions:
        element_id = action.element_id
        if element_id is not None and element_id not in element_ids:
            raise ProtocolViolation(
                f"unknown element id {element_id!r}: use an id from the current listing"
            )
    errors = _reported_errors(data.get("errors"), error_codes)
    if not actions and not errors:
        raise ProtocolViolation("the reply lists no actions")
    return StepPlan(actions=actions, errors=errors)


def _reported_errors(raw: Any, error_codes: Set[str]) -> list[dict[str, str]]:
    if not raw:
        return []
    if not isinstance(raw, list):
        raise ProtocolViolation('"errors" must be a list')
    found = []
    for item in raw:
        code = item.get("error_code") if isinstance(item, dict) else None
        # Only codes the caller mapped count: a model inventing codes is not an error.
        if code in error_codes:
            found.append({"error_code": str(code), "reasoning": str(item.get("reasoning") or "")})
    return found


def parse_verify_reply(text: str) -> tuple[bool, str]:
    data = parse_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("user_goal_achieved"), bool):
        raise ProtocolViolation(
            'the reply must be {"user_goal_achieved": true|false, "reasoning": ...}'
        )
    return data["user_goal_achieved"], str(data.get("reasoning") or "")
