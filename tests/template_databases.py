"""Test databases: migrated once per session, copied for each test.

Running every migration (and loading the demo) for every test cost most of the suite's time.
Instead each backend has two templates per test session, made when a test first needs them: one
migrated, and one migrated with the demo data loaded (`grants.demo.load_demo`). Each test gets
its own copy of one of them, so tests stay independent:

- SQLite: a template is a database file; the copy is a plain file copy into the test's own data
  dir, where the app looks for it by default (its uploads go beside it).
- PostgreSQL: a template is a database; the copy is `CREATE DATABASE ... TEMPLATE`, dropped
  after the test. The role needs CREATEDB. Making a copy takes the server about 0.4 s (it writes
  the whole template to its WAL), nearly all of it waiting on the disk, so the next test's copy
  is made in the background while a test runs: a test then finds its copy ready.

A copy holds Tortoise's own table of applied migrations too, so `grants.db.migrate` run on it
finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

import grants.db
from grants.demo import DemoSummary, load_demo
from grants.settings import Settings, load_settings

# A data dir's database unless GRANTS_DATABASE_URL names another (Settings.resolved_database_url).
SQLITE_FILE = "grants.sqlite3"


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def backend_of(settings: Settings) -> str:
    """The backend ("sqlite" or "postgres") of a test's settings."""
    return "postgres" if settings.database_url.startswith("postgres") else "sqlite"


def _with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` of the same server."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@dataclass
class Database:
    """A database of one backend: a SQLite file in `data_dir`, or the PostgreSQL database `name`.

    `demo` is what `load_demo` reported when it filled a demo template.
    """

    backend: str
    data_dir: Path
    name: str | None = None
    demo: DemoSummary | None = None


class Templates:
    """The session's template databases, made when first needed, and copies of them for tests."""

    def __init__(self, root: Path, postgres_url: str) -> None:
        self.root = root
        self.postgres_url = postgres_url
        self._made: dict[tuple[str, bool], Database] = {}
        self._postgres_checked = False
        self._postgres_problem: str | None = None
        self._admin: asyncpg.Connection | None = None  # to the server's own database, for DDL
        self._admin_lock = asyncio.Lock()  # one statement at a time on that connection
        self._spare: dict[str, asyncio.Task[str]] = {}  # by template: its next copy, being made

    def environ(self, database: Database) -> dict[str, str]:
        """The GRANTS_* variables that open `database`."""
        environ = {"GRANTS_DATA_DIR": str(database.data_dir)}
        if database.name:
            environ["GRANTS_DATABASE_URL"] = _with_database(self.postgres_url, database.name)
        return environ

    async def postgres_problem(self) -> str | None:
        """Why PostgreSQL cannot be reached, or None; asked once per session."""
        if not self._postgres_checked:
            self._postgres_checked = True
            try:
                connection = await asyncpg.connect(_asyncpg_dsn(self.postgres_url), timeout=5)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                self._postgres_problem = f"{type(exc).__name__}: {exc}"
            else:
                await connection.close()
        return self._postgres_problem

    async def copy(self, backend: str, *, demo: bool, data_dir: Path) -> Database:
        """A test's own database in `data_dir`, copied from the migrated (or demo) template."""
        key = (backend, demo)
        if key not in self._made:
            self._made[key] = await self._make(backend, demo=demo)
        return await self._copy(self._made[key], data_dir)

    def demo_summary(self, backend: str) -> DemoSummary:
        """What `load_demo` reported when it filled the demo template of `backend`."""
        template = self._made.get((backend, True))
        assert template and template.demo, f"no demo template of {backend} was copied"
        return copy.deepcopy(template.demo)

    async def drop(self, database: Database) -> None:
        """Remove a PostgreSQL copy (a SQLite file goes with its data dir)."""
        if database.name:
            await self._postgres(f'DROP DATABASE "{database.name}"')

    async def close(self) -> None:
        """Drop the spare copies and the PostgreSQL templates."""
        for task in self._spare.values():
            with contextlib.suppress(Exception):
                await self._postgres(f'DROP DATABASE "{await task}"')
        for template in reversed(self._made.values()):
            await self.drop(template)
        if self._admin:
            await self._admin.close()

    async def _make(self, backend: str, *, demo: bool) -> Database:
        """Migrate a new database, or copy the migrated template and load the demo into it."""
        data_dir = self.root / f"{backend}-{'demo' if demo else 'migrated'}"
        data_dir.mkdir(parents=True)
        if demo:
            database = await self.copy(backend, demo=False, data_dir=data_dir)
        else:
            database = Database(backend, data_dir)
            if backend == "postgres":
                database.name = await self._create_postgres_database()
        settings = load_settings({**self.environ(database), "GRANTS_SECRET_KEY": "test-secret"})
        if demo:
            await grants.db.open_database(settings)
            try:
                database.demo = await load_demo(settings)
            finally:
                await grants.db.close_database()
            assert database.demo, "the migrated template held the demo already"
        else:
            await grants.db.migrate(settings)
        if backend == "sqlite":
            others = sorted(p.name for p in data_dir.iterdir() if p.name != SQLITE_FILE)
            assert not others, f"the SQLite template is more than one closed file: {others}"
        return database

    async def _copy(self, template: Database, data_dir: Path) -> Database:
        database = Database(template.backend, data_dir)
        if template.name:
            database.name = await self._take_copy(template.name)
        else:
            shutil.copyfile(template.data_dir / SQLITE_FILE, data_dir / SQLITE_FILE)
        return database

    async def _create_postgres_database(self, *, template: str | None = None) -> str:
        name = f"grants_test_{uuid.uuid4().hex[:16]}"
        source = f' TEMPLATE "{template}"' if template else ""
        await self._postgres(f'CREATE DATABASE "{name}"{source}')
        return name

    async def _take_copy(self, template: str) -> str:
        """A fresh copy of `template`: the spare one made meanwhile, if any; then the next one is
        started in the background."""
        spare = self._spare.pop(template, None)
        name = None
        if spare is not None:
            with contextlib.suppress(asyncpg.PostgresError):
                name = await spare
        if name is None:
            name = await self._create_postgres_database(template=template)
        self._spare[template] = asyncio.ensure_future(
            self._create_postgres_database(template=template)
        )
        return name

    async def _postgres(self, statement: str) -> None:
        async with self._admin_lock:
            if self._admin is None:
                self._admin = await asyncpg.connect(_asyncpg_dsn(self.postgres_url))
            await self._admin.execute(statement)
