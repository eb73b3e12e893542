"""The server killed (SIGKILL) in the middle of a crowd of submissions loses nothing it
acknowledged and leaves nothing half-written.

Rounds: a real `grants serve` process serves a crowd of applicants going through the whole flow
(draft, step 1, step 2 with a 1 MiB upload, submit, receipt) on keep-alive connections, and is
killed at a random moment while requests are in flight; a new process starts on the same data
and the next round's crowd begins. At the end every submission a receipt acknowledged is in the
database, complete (status, submission time, content hash recomputed from the stored answers and
files, every file on disk with its recorded size and SHA-256), on SQLite and on PostgreSQL.

The applicants and the check are the deadline-rush benchmark's own (tests/bench/common.py), so
the bench and this test cannot drift apart.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "bench"))
from common import (  # noqa: E402
    POSTGRES_URL,
    LeanClient,
    bench_environment,
    cleanup,
    log_in,
    prepare,
    rush_steps,
    start_servers,
    upload_payload,
    verify,
)

ROUNDS = 3
CROWD = 12  # applicants per round, each with a 1 MiB upload


async def untimed(_step, call):
    return await call


async def one_round(environ, first: int, payload: bytes, kill_at: int) -> set[str]:
    """A crowd of CROWD applicants on a fresh server process, killed once `kill_at` of them have
    their receipt (the others are then somewhere in their flow); returns the references that
    receipts showed."""
    servers = start_servers(environ, processes=1)
    port = servers.port_for(0)
    clients = [LeanClient("127.0.0.1", port) for _ in range(CROWD)]
    accepted: set[str] = set()
    enough = asyncio.Event()

    async def applicant(offset: int) -> None:
        number = first + offset
        if await log_in(clients[offset], number, untimed):
            reference = await rush_steps(
                clients[offset], number, payload, untimed, title=f"Crash {number}"
            )
            if reference:
                accepted.add(reference)
                if len(accepted) >= kill_at:
                    enough.set()

    crowd = asyncio.gather(*(applicant(n) for n in range(CROWD)), return_exceptions=True)
    await asyncio.wait_for(enough.wait(), timeout=120)
    for popen in servers.popens:
        popen.send_signal(signal.SIGKILL)
        popen.wait()
    await crowd  # requests in flight fail with connection errors: those are not acknowledged
    for client in clients:
        await client.aclose()
    return accepted


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_killed_server_loses_no_acknowledged_submission(backend, templates):
    if backend == "postgres" and (problem := await templates.postgres_problem()):
        pytest.skip(f"!!! PostgreSQL at {POSTGRES_URL} unreachable ({problem}): NOT tested !!!")
    environ, schema = await bench_environment(backend, "crash")
    try:
        await prepare(environ, ROUNDS * CROWD)
        payload = upload_payload()
        chance = random.Random(7)
        accepted: set[str] = set()
        for number in range(ROUNDS):
            kill_at = chance.randint(1, CROWD // 2)
            accepted |= await one_round(environ, number * CROWD, payload, kill_at)
        check = await verify(environ, accepted, title_prefix="Crash ")
    finally:
        await cleanup(environ, schema)
    assert check["lost"] == 0, check
    assert check["half_written"] == 0, check
    # The kills did land mid-crowd: some applicants got their receipt, and some never did (their
    # submission may still have been saved: then it must be complete, which `verify` checked).
    assert 0 < check["accepted_by_http"] < ROUNDS * CROWD, check
