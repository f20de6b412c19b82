"""Batches: one run per input row, from a prompt template."""

from skyq.batch.rows import BatchRow, read_rows
from skyq.batch.template import fill

__all__ = ["BatchRow", "fill", "read_rows"]
