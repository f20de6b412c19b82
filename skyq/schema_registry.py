"""Named extraction schemas: a request may say ``"data_extraction_schema": "Product"``
and get the JSON Schema of the Pydantic model the operator registered under that name
(``SKYQ_EXTRACTION_MODELS='["myapp.models:Product"]'``)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel

from skyq.errors import ConfigurationError, InvalidRequestError
from skyq.schemas import TaskRunRequest


class SchemaRegistry:
    def __init__(self) -> None:
        self._schemas: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_import_paths(cls, paths: list[str]) -> SchemaRegistry:
        registry = cls()
        for path in paths:
            module_name, _, attribute = path.partition(":")
            try:
                model = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError, ValueError) as exc:
                raise ConfigurationError(
                    f"SKYQ_EXTRACTION_MODELS: cannot import {path!r} ({exc})"
                ) from None
            registry.register(model)
        return registry

    def register(self, model: type[BaseModel], name: str | None = None) -> None:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigurationError(f"{model!r} is not a Pydantic model class")
        self._schemas[name or model.__name__] = model.model_json_schema()

    def resolve(self, request: TaskRunRequest) -> TaskRunRequest:
        """The request with a schema name replaced by the registered schema."""
        name = request.data_extraction_schema
        if not isinstance(name, str):
            return request
        if name not in self._schemas:
            known = ", ".join(sorted(self._schemas)) or "none are registered"
            raise InvalidRequestError(
                "data_extraction_schema", f"no registered schema named {name!r} ({known})"
            )
        return request.model_copy(update={"data_extraction_schema": self._schemas[name]})
