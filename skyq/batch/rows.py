"""Reading a batch's input: CSV with a header line, or JSON Lines of objects."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyq.errors import InvalidRequestError


@dataclass(frozen=True)
class BatchRow:
    index: int  # 0-based position in the input: what a resumed batch goes by
    values: dict[str, Any]


def read_rows(path: Path) -> list[BatchRow]:
    """Every row of a .csv or .jsonl file; a bad line is named by its number."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [BatchRow(i, dict(values)) for i, values in enumerate(csv.DictReader(handle))]
    if suffix in {".jsonl", ".ndjson"}:
        rows: list[BatchRow] = []
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                values = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequestError("input", f"line {number}: not JSON ({exc.msg})") from None
            if not isinstance(values, dict):
                raise InvalidRequestError("input", f"line {number}: not a JSON object")
            rows.append(BatchRow(len(rows), values))
        return rows
    raise InvalidRequestError("input", f"{path.name}: expected a .csv or .jsonl file")
