"""Asking the text model: one call in the protocol (with its one retry), and shaping a
run's output against its schema. Every engine ends through here, so an output is
checked the same way whichever engine found it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from skyq.agent import prompts
from skyq.agent.extraction import coerce, schema_problems
from skyq.agent.page import Observation
from skyq.agent.recorder import RunRecorder
from skyq.agent.replies import ProtocolViolation, StepPlan, parse_json
from skyq.errors import ModelReplyError
from skyq.llm.base import LLM, Message, Usage
from skyq.schemas import ArtifactType

T = TypeVar("T")


class ModelCalls:
    def __init__(
        self, llm: LLM, recorder: RunRecorder, brief: prompts.TaskBrief, *, max_chars: int
    ) -> None:
        self.llm = llm
        self.recorder = recorder
        self.brief = brief
        self.max_chars = max_chars

    async def ask(
        self,
        step_id: str,
        messages: list[Message],
        parse: Callable[[str], T],
        *,
        json_mode: bool = True,
    ) -> tuple[T, Usage]:
        """One model call, parsed; a reply outside the protocol gets one retry."""
        text, usage = await self._call(step_id, messages, json_mode)
        try:
            parsed = parse(text)
        except ProtocolViolation as first:
            retry = messages + prompts.retry_message(text, str(first))
            text, more = await self._call(step_id, retry, json_mode)
            usage += more
            try:
                parsed = parse(text)
            except ProtocolViolation as second:
                raise ModelReplyError(
                    f"the model's reply broke the protocol twice: {second}"
                ) from None
        self.recorder.save_artifact(
            step_id, ArtifactType.llm_response_parsed, json_bytes(_jsonable(parsed)), "json"
        )
        return parsed, usage

    async def _call(
        self, step_id: str, messages: list[Message], json_mode: bool
    ) -> tuple[str, Usage]:
        self.recorder.save_artifact(
            step_id,
            ArtifactType.llm_request,
            json_bytes({"model": self.llm.model, "messages": prompts.loggable(messages)}),
            "json",
        )
        reply = await self.llm.complete(messages, json_mode=json_mode)
        self.recorder.save_artifact(
            step_id, ArtifactType.llm_response, reply.content.encode(), "txt"
        )
        return reply.content, reply.usage

    async def output(
        self, step_id: str, data: Any, obs: Observation
    ) -> tuple[Any, list[str], Usage]:
        """The run's output: ``data`` as the agent gave it, or extracted from the page
        when the schema wants data and none came, coerced to the schema with one repair
        round. Returns what is left wrong with it."""
        schema = self.brief.schema
        if schema is None:
            return data, [], Usage()
        usage = Usage()
        if data is None:
            data, usage = await self._extract(step_id, obs, None, [])
        data = coerce(data, schema)
        problems = schema_problems(data, schema)
        if problems:  # the one repair round
            data, more = await self._extract(step_id, obs, data, problems)
            usage += more
            data = coerce(data, schema)
            problems = schema_problems(data, schema)
        return data, problems, usage

    async def _extract(
        self, step_id: str, obs: Observation, candidate: Any, problems: list[str]
    ) -> tuple[Any, Usage]:
        messages = prompts.extract_messages(
            self.brief, obs, max_chars=self.max_chars, candidate=candidate, problems=problems
        )
        schema = self.brief.schema
        json_object = isinstance(schema, dict) and schema.get("type") == "object"
        return await self.ask(step_id, messages, parse_json, json_mode=json_object)


SCHEMA_FAILURE = "output does not match data_extraction_schema"


def schema_failure(problems: list[str]) -> str:
    return f"{SCHEMA_FAILURE}: " + "; ".join(problems)


def _jsonable(value: Any) -> Any:
    if isinstance(value, StepPlan):
        return {
            "actions": [a.model_dump(mode="json") for a in value.actions],
            "errors": value.errors,
        }
    return value


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str, indent=1).encode()
