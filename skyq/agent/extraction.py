"""Checking output against the caller's data_extraction_schema."""

from __future__ import annotations

from typing import Any

from jsonschema.validators import validator_for


def as_json_schema(schema: dict[str, Any] | list[Any]) -> dict[str, Any]:
    # Skyvern accepts a list as the schema; the only thing it reliably says is "an array".
    return schema if isinstance(schema, dict) else {"type": "array"}


def schema_problems(value: Any, schema: dict[str, Any] | list[Any]) -> list[str]:
    """Every way ``value`` fails the schema, as short lines naming the JSON path."""
    full = as_json_schema(schema)
    validator = validator_for(full)(full)
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{path}: {error.message}")
    return problems[:20]
