"""The LLM room: a one-method seam, model resolution, and the litellm adapter."""

from skyq.llm.base import LLM, LLMReply, Message, Usage
from skyq.llm.config import ModelConfig, resolve_model

__all__ = ["LLM", "LLMReply", "Message", "ModelConfig", "Usage", "resolve_model"]
