"""Per-call options, as Skyvern's SDK takes them."""

from __future__ import annotations

from typing import Any, TypedDict


class RequestOptions(TypedDict, total=False):
    timeout_in_seconds: float
    max_retries: int
    additional_headers: dict[str, str]
    additional_query_parameters: dict[str, Any]
    additional_body_parameters: dict[str, Any]
