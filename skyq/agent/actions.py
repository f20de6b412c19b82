"""The actions a model may answer with. Field descriptions are part of the protocol
(docs/agent-protocol.md); the model reads them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Action(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reasoning: str | None = Field(None, description="Why this action, in one sentence.")

    @property
    def element_id(self) -> str | None:
        return getattr(self, "id", None)


class ClickAction(_Action):
    action_type: Literal["click"]
    id: str = Field(description="Element id from the page listing, e.g. K3.")


class InputTextAction(_Action):
    action_type: Literal["input_text"]
    id: str
    text: str = Field(description="Replaces the field's current value.")


class SelectOptionAction(_Action):
    action_type: Literal["select_option"]
    id: str
    option: str = Field(description="The option's visible label (or its value).")


class ScrollAction(_Action):
    action_type: Literal["scroll"]
    direction: Literal["up", "down"] = "down"
    id: str | None = Field(None, description="Scroll this element into view instead.")


class KeypressAction(_Action):
    action_type: Literal["keypress"]
    keys: str = Field(description="Playwright key names: Enter, Tab, Control+A ...")
    id: str | None = Field(None, description="Focus this element first.")


class UploadFileAction(_Action):
    action_type: Literal["upload_file"]
    id: str = Field(description="The file input.")
    file_url: str | None = Field(None, description="An http(s) URL of the file to upload.")
    artifact_id: str | None = Field(None, description="A stored artifact (a_...) to upload.")


class GotoAction(_Action):
    action_type: Literal["goto"]
    url: str


class WaitAction(_Action):
    action_type: Literal["wait"]
    seconds: float = Field(1.0, gt=0, le=30)


class CompleteAction(_Action):
    action_type: Literal["complete"]
    data: Any = Field(None, description="The task's answer or extracted data, if any.")


class TerminateAction(_Action):
    action_type: Literal["terminate"]


AgentAction = Annotated[
    ClickAction
    | InputTextAction
    | SelectOptionAction
    | ScrollAction
    | KeypressAction
    | UploadFileAction
    | GotoAction
    | WaitAction
    | CompleteAction
    | TerminateAction,
    Field(discriminator="action_type"),
]

ACTION_TYPES = (
    "click",
    "input_text",
    "select_option",
    "scroll",
    "keypress",
    "upload_file",
    "goto",
    "wait",
    "complete",
    "terminate",
)
DECISIVE = ("complete", "terminate")


class PlanAction(BaseModel):
    """skyvern-2.0's plan, recorded as its plan step's one action (never a model's
    step reply: it is not in AgentAction)."""

    action_type: Literal["plan"] = "plan"
    sub_goals: list[str] = Field(default_factory=list)
    replan: int = Field(0, description="0 for the first plan, then 1, 2, ...")
    reasoning: str | None = None

    @property
    def element_id(self) -> None:
        return None
