"""grants/orm: the one place that reaches into Tortoise's private API.

First, every private name it relies on, checked by name so a Tortoise upgrade that moves one
fails here, loudly. Then each mend's behaviour: two server processes on one SQLite file
(write transactions wait for each other, never fail, and a process waiting for the write lock
goes on serving meanwhile), and transactions that cannot begin giving back their SQLite lock
or their PostgreSQL pool connection."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.context import TortoiseContext
from tortoise.exceptions import OperationalError, TransactionManagementError

from grants.orm.asyncpg import LockSafeAsyncpgClient
from grants.orm.sqlite import InlineSqliteClient

UPGRADE = "Tortoise changed a private name grants/orm relies on: read grants/orm/ and mend it"


def test_the_private_names_grants_orm_relies_on_are_still_there(tmp_path):
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
    from tortoise.backends.base import executor
    from tortoise.backends.base.client import TransactionContextPooled
    from tortoise.backends.sqlite.client import SqliteTransactionContext
    from tortoise.migrations.executor import MigrationExecutor

    assert isinstance(executor.EXECUTOR_CACHE, dict), UPGRADE
    context = InlineSqliteClient(file_path=str(tmp_path / "x.sqlite3"), connection_name="x")
    sqlite_context = context._in_transaction()
    assert isinstance(sqlite_context, SqliteTransactionContext), UPGRADE
    for name in ("_trxlock", "connection", "connection_name", "ensure_connection"):
        assert hasattr(sqlite_context, name), (UPGRADE, name)
    assert "pragmas" in vars(context) and "filename" in vars(context), UPGRADE
    assert {"_pool_init_lock", "_pool"} <= set(
        vars(
            AsyncpgDBClient(
                connection_name="y",
                host="127.0.0.1",
                port=5432,
                user="u",
                password="",
                database="d",
            )
        )
    ), UPGRADE
    assert TransactionContextPooled.__init__.__code__.co_varnames[1:3] == (
        "client",
        "pool_init_lock",
    ), UPGRADE
    assert issubclass(TransactionWrapper, AsyncpgDBClient), UPGRADE
    # The migration executor picks its schema editor by the client class's module name.
    assert (
        "sqlite" in InlineSqliteClient.__module__ and "asyncpg" in LockSafeAsyncpgClient.__module__
    )
    source = MigrationExecutor._schema_editor.__code__.co_consts
    assert "sqlite" in source and "asyncpg" in source, UPGRADE


async def read_then_write(
    client: SqliteClient, name: str, started: asyncio.Event | None, go: asyncio.Event | None
) -> None:
    """A transaction that reads first and writes later, as `submit` does (check, then update)."""
    async with client._in_transaction() as connection:
        await connection.execute_query("SELECT COUNT(*) FROM counter")
        if started:
            started.set()
        if go:
            await go.wait()
        await connection.execute_query("UPDATE counter SET n = n + 1")
        await connection.execute_query("INSERT INTO log (name) VALUES (?)", [name])


async def two_processes(
    client_class: type[SqliteClient], path: str, *, second_busy_timeout: int = 5000
) -> tuple[SqliteClient, SqliteClient]:
    # Two clients, two connections: what two uvicorn processes on one database file have.
    first = client_class(file_path=path, connection_name="first", busy_timeout=5000)
    second = client_class(
        file_path=path, connection_name="second", busy_timeout=second_busy_timeout
    )
    for client in (first, second):
        await client.create_connection(with_db=True)
    await first.execute_script(
        "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);"
        "CREATE TABLE log (name TEXT);"
    )
    return first, second


async def interleave(first: SqliteClient, second: SqliteClient) -> None:
    """The first reads; the second starts meanwhile; then the first writes and commits."""
    async with TortoiseContext():  # transactions register their connection in a Tortoise context
        first_read, first_may_write = asyncio.Event(), asyncio.Event()
        first_done = asyncio.create_task(
            read_then_write(first, "first", first_read, first_may_write)
        )
        await asyncio.wait_for(first_read.wait(), timeout=5)
        second_done = asyncio.create_task(read_then_write(second, "second", None, None))
        await asyncio.sleep(0.05)  # the second is now waiting at BEGIN (or, deferred, has read)
        first_may_write.set()
        await asyncio.wait_for(asyncio.gather(first_done, second_done), timeout=10)


async def test_interleaved_write_transactions_of_two_processes_both_commit(tmp_path):
    first, second = await two_processes(InlineSqliteClient, str(tmp_path / "db.sqlite3"))
    try:
        await interleave(first, second)
        assert (await first.execute_query_dict("SELECT n FROM counter")) == [{"n": 2}]
        assert [row["name"] for row in await second.execute_query_dict("SELECT name FROM log")] == [
            "first",
            "second",
        ]
    finally:
        await first.close()
        await second.close()


async def test_without_begin_immediate_the_same_interleaving_fails(tmp_path):
    """Why grants.orm begins immediate: a deferred BEGIN cannot wait for the lock once it has
    read."""
    first, second = await two_processes(SqliteClient, str(tmp_path / "db.sqlite3"))
    try:
        with pytest.raises((OperationalError, TransactionManagementError), match="locked"):
            await interleave(first, second)
    finally:
        await first.close()
        await second.close()


async def test_a_write_waiting_for_another_process_lets_this_process_go_on(tmp_path):
    """While the other process holds the write lock, this process's event loop keeps serving."""
    holder, waiter = await two_processes(InlineSqliteClient, str(tmp_path / "db.sqlite3"))
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    try:
        async with TortoiseContext():
            beating = asyncio.create_task(heartbeat())
            async with holder._in_transaction() as connection:
                await connection.execute_query("UPDATE counter SET n = n + 1")
                write = asyncio.create_task(waiter.execute_query("UPDATE counter SET n = n + 10"))
                await asyncio.sleep(0.2)  # the other process sits on the lock
                ticks_while_locked = ticks
                assert not write.done()
            await asyncio.wait_for(write, timeout=5)
            beating.cancel()
        assert ticks_while_locked >= 10  # a blocking busy wait would have stopped the heartbeat
        assert (await waiter.execute_query_dict("SELECT n FROM counter")) == [{"n": 11}]
    finally:
        await holder.close()
        await waiter.close()


async def test_a_write_that_waits_past_the_busy_timeout_fails_and_changes_nothing(tmp_path):
    holder, impatient = await two_processes(
        InlineSqliteClient, str(tmp_path / "db.sqlite3"), second_busy_timeout=100
    )
    try:
        async with TortoiseContext():
            async with holder._in_transaction() as connection:
                await connection.execute_query("UPDATE counter SET n = n + 1")
                with pytest.raises(OperationalError, match="locked"):
                    await impatient.execute_query("UPDATE counter SET n = n + 10")
        assert (await impatient.execute_query_dict("SELECT n FROM counter")) == [{"n": 1}]
    finally:
        for client in (holder, impatient):
            await client.close()


async def test_a_transaction_that_cannot_begin_leaves_the_connection_usable(tmp_path):
    """A BEGIN that times out waiting for another process fails; this process's next query runs.

    Tortoise's own transaction context takes the connection's lock before BEGIN and releases it
    only in __aexit__, which Python never calls when __aenter__ raised: the lock stayed taken and
    every later query of the process waited for it forever.
    """
    holder, impatient = await two_processes(
        InlineSqliteClient, str(tmp_path / "db.sqlite3"), second_busy_timeout=100
    )
    try:
        async with TortoiseContext():
            async with holder._in_transaction() as connection:
                await connection.execute_query("UPDATE counter SET n = n + 1")
                with pytest.raises((OperationalError, TransactionManagementError), match="locked"):
                    async with impatient._in_transaction() as waiting:
                        await waiting.execute_query("UPDATE counter SET n = n + 10")
            rows = await asyncio.wait_for(
                impatient.execute_query_dict("SELECT n FROM counter"), timeout=5
            )
            assert rows == [{"n": 1}]
            async with impatient._in_transaction() as connection:  # and it can write again
                await connection.execute_query("UPDATE counter SET n = n + 10")
        assert (await holder.execute_query_dict("SELECT n FROM counter")) == [{"n": 11}]
    finally:
        for client in (holder, impatient):
            await client.close()


async def test_a_request_cancelled_while_waiting_to_begin_leaves_the_connection_usable(tmp_path):
    """Cancelled while waiting for the write lock (a server shutting down, a timeout): no lock
    kept."""
    holder, waiter = await two_processes(InlineSqliteClient, str(tmp_path / "db.sqlite3"))

    async def write() -> None:
        async with waiter._in_transaction() as connection:
            await connection.execute_query("UPDATE counter SET n = n + 10")

    try:
        async with TortoiseContext():
            async with holder._in_transaction() as connection:
                await connection.execute_query("UPDATE counter SET n = n + 1")
                waiting = asyncio.create_task(write())
                await asyncio.sleep(0.05)  # the waiter is retrying its BEGIN IMMEDIATE
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
            await asyncio.wait_for(write(), timeout=5)
        assert (await holder.execute_query_dict("SELECT n FROM counter")) == [{"n": 11}]
    finally:
        await holder.close()
        await waiter.close()


class HoldingProxy:
    """A TCP relay to PostgreSQL that holds a client's BEGIN until told to let it through: a
    transaction caught while beginning, as when a request is cancelled (a client gone, a
    timeout, a server shutting down) during a slow network round trip."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.holding = asyncio.Event()
        self.let_through = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def relay(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)

        async def pipe(reader, writer, watch: bool) -> None:
            while data := await reader.read(65536):
                if watch and b"BEGIN" in data and not self.let_through.is_set():
                    self.holding.set()
                    await self.let_through.wait()
                writer.write(data)
                await writer.drain()
            writer.close()

        await asyncio.gather(
            pipe(client_reader, server_writer, True),
            pipe(server_reader, client_writer, False),
            return_exceptions=True,
        )


@pytest.fixture
async def one_connection_pool():
    """A PostgreSQL pool of exactly one connection, through a relay that holds BEGIN."""
    import asyncpg
    from tortoise.backends.base.config_generator import expand_db_url

    from tests.conftest import POSTGRES_URL

    try:
        await (await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://"))).close()
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"!!! PostgreSQL at {POSTGRES_URL} is NOT reachable ({exc}) !!!")
    credentials = expand_db_url(POSTGRES_URL)["credentials"]
    proxy = HoldingProxy(credentials["host"], credentials["port"])
    port = await proxy.start()
    opened: list = []

    async def pool(client_class: type) -> object:
        client = client_class(
            connection_name="pool", minsize=1, maxsize=1, **{**credentials, "port": port}
        )
        await client.create_connection(with_db=True)
        opened.append(client)
        return client

    pool.proxy = proxy  # type: ignore[attr-defined]
    yield pool
    for client in opened:
        client._pool.terminate()  # a leaked connection would make a graceful close wait
    proxy.server.close()


async def cancel_while_beginning(client, proxy: HoldingProxy) -> None:
    async def transaction() -> None:
        async with client._in_transaction() as connection:
            await connection.execute_query("SELECT 1")

    async with TortoiseContext():
        beginning = asyncio.create_task(transaction())
        await asyncio.wait_for(proxy.holding.wait(), timeout=5)  # BEGIN sent, no answer yet
        beginning.cancel()
        await asyncio.sleep(0.05)  # the cancellation lands while BEGIN is still unanswered
        proxy.let_through.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(beginning, timeout=5)


async def test_a_postgres_transaction_that_cannot_begin_gives_its_connection_back(
    one_connection_pool,
):
    client = await one_connection_pool(LockSafeAsyncpgClient)
    await cancel_while_beginning(client, one_connection_pool.proxy)
    rows = await asyncio.wait_for(client.execute_query_dict("SELECT 1 AS one"), timeout=5)
    assert rows == [{"one": 1}]


async def test_without_the_mend_the_connection_never_comes_back(one_connection_pool):
    from tortoise.backends.asyncpg.client import AsyncpgDBClient

    client = await one_connection_pool(AsyncpgDBClient)
    await cancel_while_beginning(client, one_connection_pool.proxy)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.execute_query_dict("SELECT 1 AS one"), timeout=1)
