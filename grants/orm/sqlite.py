"""Tortoise's SQLite client, run on the event loop's thread, beginning every transaction
immediately and giving its lock back when a transaction cannot begin.

Why on the loop's thread: this app's statements are small indexed lookups of tens of
microseconds, and aiosqlite's worker thread costs more than that per statement (a queue
hand-off, a wake-up, a trip through the loop, a fight for the GIL). Worse, Tortoise holds its
one connection for the whole of a transaction, so every loop turn a transaction spends waiting
for its worker thread keeps the write lock from other processes and the connection from every
other request of this one. Run inline, a transaction that does not await anything else holds
both for only the microseconds its statements take and the fsync of its COMMIT.

Why the waits yield: several server processes may share one database file, and SQLite has no
queue for its write lock, only a busy timeout that sleeps in the calling thread, which here
would stop the whole process. So the connection's own busy timeout is 0, and a statement
outside a transaction that finds the database busy (a BEGIN, or a single autocommit write) is
tried again after an `asyncio.sleep`, until the busy timeout (default 5 s) has passed. A
statement that fails with SQLITE_BUSY changed nothing, so trying it again is safe.

Why every BEGIN is BEGIN IMMEDIATE: a deferred BEGIN reads first and asks for the write lock
at its first write; when another process wrote in between, SQLite cannot wait (the snapshot is
stale) and fails with "database is locked", whatever the timeout. BEGIN IMMEDIATE takes the lock
before reading, so a transaction's reads and writes form one serialised step. Every transaction
in this app writes, so every transaction begins immediate (Tortoise's bulk inserts included).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections

DEFAULT_BUSY_TIMEOUT_MS = 5000
FIRST_PAUSE = 0.0005  # seconds; doubles on each try up to LONGEST_PAUSE
LONGEST_PAUSE = 0.01

T = TypeVar("T")


def is_busy(exc: sqlite3.OperationalError) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class InlineConnection:
    """A sqlite3 connection behind the part of aiosqlite's interface Tortoise's client uses."""

    def __init__(self, path: str, *, busy_timeout_ms: int) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self.busy_timeout_ms = busy_timeout_ms

    async def _run(self, call: Callable[[], T]) -> T:
        if self._conn.in_transaction:  # the write lock is held already: nothing to wait for
            return call()
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pause = FIRST_PAUSE
        while True:
            try:
                return call()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    @staticmethod
    def _immediate(sql: str) -> str:
        return (
            "BEGIN IMMEDIATE"
            if sql.strip().upper() in ("BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION")
            else sql
        )

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> None:
        sql = self._immediate(sql)
        await self._run(lambda: self._conn.execute(sql, parameters or ()))

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] | None = None
    ) -> list[sqlite3.Row]:
        return await self._run(lambda: self._conn.execute(sql, parameters or ()).fetchall())

    async def execute_insert(
        self, sql: str, parameters: Sequence[Any] | None = None
    ) -> tuple[int | None]:
        return await self._run(lambda: (self._conn.execute(sql, parameters or ()).lastrowid,))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        rows = list(
            parameters
        )  # a generator could not be run twice if the first try finds the database busy
        await self._run(lambda: self._conn.executemany(sql, rows))

    async def executescript(self, script: str) -> None:
        # Scripts (schema changes) may hold their own BEGIN, so they cannot be retried as a whole:
        # they wait in SQLite's own blocking busy handler. Only set-up (migrations) runs them.
        self._conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        try:
            self._conn.executescript(script)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes


class LockSafeTransactionContext(SqliteTransactionContext):
    """Tortoise's SQLite transaction context, giving its lock back when a transaction cannot
    begin.

    Tortoise's own takes the connection's lock, then BEGINs; if BEGIN fails (another process held
    the write lock past the busy timeout) or the waiting task is cancelled, `__aexit__` never runs,
    the lock is never released, and every later statement of this process waits for it forever.
    """

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class InlineSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return LockSafeTransactionContext(SqliteTransactionWrapper(self), self._lock)

    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        pragmas = dict(self.pragmas)
        busy_timeout_ms = int(pragmas.pop("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS))
        connection = InlineConnection(self.filename, busy_timeout_ms=busy_timeout_ms)
        for pragma, value in pragmas.items():
            await connection.execute(f"PRAGMA {pragma}={value}")
        self._connection = connection  # type: ignore[assignment]  # aiosqlite.Connection's stand-in
        await self._post_connect()


client_class = InlineSqliteClient
