"""The INSERT that knows ON CONFLICT, for the database in use (an upsert's first half)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

#: An INSERT statement that knows ON CONFLICT.
UpsertInsert = postgresql.Insert | sqlite.Insert


def upsert_insert(dialect: str) -> Callable[[Table], UpsertInsert]:
    """The dialect's `insert`, whose statements know ON CONFLICT (and `excluded`)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"unsupported database {dialect!r}")
