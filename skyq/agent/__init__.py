"""The agent room: the step loop and its protocol with the model. No browser, model or
queue library is imported here; they arrive through the seams in page, recorder and
skyq.llm.base."""

from skyq.agent.loop import Agent
from skyq.agent.task import AgentResult, AgentTask

__all__ = ["Agent", "AgentResult", "AgentTask"]
