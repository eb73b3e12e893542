"""Tortoise's asyncpg client with a pooled transaction that gives its connection back.

Tortoise's pooled transaction context takes a connection from the pool, then BEGINs; if BEGIN
fails or the task is cancelled meanwhile, its `__aexit__` never runs and the connection never
goes back to the pool: after a few such requests every later one waits for a connection forever.
`LockSafePooledTransactionContext` gives it back (the same mend as SQLite's lock).
"""

from __future__ import annotations

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.asyncpg.client import TransactionWrapper as AsyncpgTransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


class LockSafePooledTransactionContext(TransactionContextPooled):
    """Tortoise's pooled transaction context, giving the connection back to the pool when the
    transaction cannot begin (see the module's notes)."""

    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        try:
            self.token = get_connections().set(self.connection_name, self.client)
            try:
                await self.client.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            await pool.release(self.client._connection)
            raise
        return self.client


class LockSafeAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return LockSafePooledTransactionContext(
            AsyncpgTransactionWrapper(self), self._pool_init_lock
        )


client_class = LockSafeAsyncpgClient
