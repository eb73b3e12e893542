"""Tortoise's SQLite backend, with write transactions that take the write lock at BEGIN.

Why: a plain (deferred) BEGIN reads first and asks for the write lock at the first write.
When another process wrote in between, SQLite cannot wait (the snapshot is stale) and fails
at once with "database is locked", whatever the busy timeout. BEGIN IMMEDIATE waits for the
lock (up to the busy timeout) before reading, so several server processes can share one
database file, and a transaction's reads and writes form one serialised step.
Every transaction in this app writes, so every transaction begins immediate.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
