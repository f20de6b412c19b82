"""The storage room for rows: tables, engine, migrations and the RunStore."""

from skyq.db.engine import make_engine
from skyq.db.run_store import RunStore, as_utc

__all__ = ["RunStore", "as_utc", "make_engine"]
