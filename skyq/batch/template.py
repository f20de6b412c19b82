"""Prompt templates: ``{column}`` is replaced by the row's value; every other brace
(JSON in a prompt) is left as it is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from skyq.errors import InvalidRequestError

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def columns(template: str) -> set[str]:
    return set(_FIELD.findall(template))


def fill(template: str, row: Mapping[str, Any], *, field: str = "prompt") -> str:
    """The template with the row's values; a column the row lacks is an
    InvalidRequestError naming ``field`` and the column."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in row or row[name] is None:
            raise InvalidRequestError(field, f"the row has no value for {{{name}}}")
        return str(row[name])

    return _FIELD.sub(value, template)
