"""Where this app reaches into Tortoise ORM's private API, and why; nothing else does.

- The database engines, `grants.orm.sqlite` and `grants.orm.asyncpg` (grants/db.py names them):
  Tortoise's clients with the mends each module explains. Their module names must contain
  "sqlite" and "asyncpg": Tortoise's migration executor picks its schema editor by the client
  class's module name.
- `forget_compiled_sql`: Tortoise caches SQL per (connection name, table), not per dialect.

tests/test_orm.py checks every private name used here and each mend's behaviour, so a Tortoise
upgrade that moves one fails loudly there rather than quietly in production.
"""

from __future__ import annotations

from tortoise.backends.base.executor import EXECUTOR_CACHE


def forget_compiled_sql() -> None:
    """Drop Tortoise's cache of compiled SQL, kept per (connection name, table) and not per
    dialect: opening another backend in the same process (the test suite does) must not reuse
    SQLite's "?" SQL on PostgreSQL."""
    EXECUTOR_CACHE.clear()
