"""skyq: AI browser tasks at volume, on Skyvern's task-run API."""

__version__ = "0.1.0"
