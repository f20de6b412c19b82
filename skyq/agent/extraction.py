"""Checking output against the caller's data_extraction_schema."""

from __future__ import annotations

import re
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


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _number(text: str, integer: bool) -> int | float | None:
    found = _NUMBER.findall(text)
    if len(found) != 1:  # "2 for $10" is not one number: leave it to the schema check
        return None
    number = float(found[0].replace(",", ""))
    if integer:
        return int(number) if number.is_integer() else None
    return number


def coerce(value: Any, schema: dict[str, Any] | list[Any]) -> Any:
    """Numbers written as text ("$29.99", "1,204", "4.5 stars") become numbers where
    the schema asks for a number; everything else is left for validation to judge."""
    if not isinstance(schema, dict):
        return value
    kinds = _types(schema)
    if isinstance(value, str) and kinds & {"number", "integer"} and "string" not in kinds:
        parsed = _number(value, integer="number" not in kinds)
        return value if parsed is None else parsed
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: coerce(v, props[k]) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce(item, schema["items"]) for item in value]
    return value
