"""Tortoise configuration and the database life cycle (SQLite default, PostgreSQL in production)."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as tortoise_migrate

from grants import orm
from grants.settings import Settings, load_settings

MODEL_MODULES = [
    "grants.models.accounts",
    "grants.models.calls",
    "grants.models.applications",
    "grants.models.review",
    "grants.models.awards",
    "grants.models.audit",
    "grants.models.outcomes",
]


def tortoise_config(settings: Settings) -> dict[str, Any]:
    url = settings.resolved_database_url
    if url.startswith("sqlite://"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    expanded = expand_db_url(url)
    engine = "grants.orm.sqlite" if url.startswith("sqlite://") else "grants.orm.asyncpg"
    connection = {**expanded, "engine": engine}  # Tortoise's clients, mended (grants/orm/)
    return {
        "connections": {"default": connection},
        "apps": {
            "grants": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "grants.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(settings: Settings) -> bool:
    return settings.resolved_database_url.startswith(("postgres://", "postgresql://"))


async def open_database(settings: Settings) -> None:
    """Initialise Tortoise for this process (global fallback: request tasks share it)."""
    orm.forget_compiled_sql()
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def ping() -> None:
    """A trivial query on the open database; raises whatever stops it answering."""
    await connections.get("default").execute_query("SELECT 1")


async def migrate(settings: Settings) -> None:
    """Apply every pending migration (what `grants migrate` and `make run` do)."""
    await tortoise_migrate(config=tortoise_config(settings))
    await Tortoise.close_connections()


def __getattr__(name: str) -> Any:
    # `tortoise -c grants.db.TORTOISE_ORM makemigrations` reads this, for developers only.
    if name == "TORTOISE_ORM":
        return tortoise_config(load_settings())
    raise AttributeError(name)
