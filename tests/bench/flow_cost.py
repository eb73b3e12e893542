"""What one applicant's deadline flow costs the server, step by step: queries and milliseconds.

Run: `.venv/bin/python tests/bench/flow_cost.py [--backend sqlite|postgres] [--applicants N]`.
The app runs in this process behind httpx's ASGI transport (no sockets, no other load), so the
figures are the server's own work per request: the numbers the deadline rush multiplies.
Queries are counted at the Tortoise client, the one place every statement passes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from common import (  # noqa: E402
    PASSWORD,
    bench_environment,
    cleanup,
    create_app,
    load_settings,
    prepare,
    rush_steps,
    upload_payload,
)

QUERY_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)


def count_queries(counter: list[int]) -> None:
    """Wrap every Tortoise client's statement methods so each statement bumps `counter`.

    Transactions run on wrapper classes that override some methods; each method is wrapped in
    the class that defines it, so every statement counts once.
    """
    from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
    from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

    for client_class in (
        SqliteClient,
        SqliteTransactionWrapper,
        AsyncpgDBClient,
        TransactionWrapper,
    ):
        for name in QUERY_METHODS:
            if name not in vars(client_class):
                continue
            original = vars(client_class)[name]

            async def counted(self, *args, __original=original, **kwargs):
                counter[0] += 1
                return await __original(self, *args, **kwargs)

            setattr(client_class, name, counted)


async def run(backend: str, applicants: int, profile: str | None = None) -> None:
    environ, schema = await bench_environment(backend, "flow")
    await prepare(environ, applicants)
    counter = [0]
    count_queries(counter)
    app = create_app(load_settings(environ))
    queries: dict[str, list[int]] = defaultdict(list)
    millis: dict[str, list[float]] = defaultdict(list)
    cpu_millis: dict[str, list[float]] = defaultdict(list)
    server_cpu = [0.0]
    # --profile: cProfile of the app's calls only (one request at a time, so nothing else
    # interleaves), log-ins left out (argon2 would drown the rest); PROFILE_PATH narrows it to
    # paths ending so.
    profiler = cProfile.Profile() if profile else None

    async def measured_app(scope, receive, send):
        # Only the app's own CPU: the httpx client runs in this process too, outside this call.
        started = time.process_time()
        profiling = (
            profiler
            and scope["path"] != "/login"
            and scope["path"].endswith(os.environ.get("PROFILE_PATH", ""))
        )
        if profiling:
            profiler.enable()
        try:
            await app(scope, receive, send)
        finally:
            if profiling:
                profiler.disable()
            server_cpu[0] += time.process_time() - started

    async def timed(step: str, call):
        before, started, cpu_before = counter[0], time.perf_counter(), server_cpu[0]
        response = await call
        millis[step].append((time.perf_counter() - started) * 1000)
        cpu_millis[step].append((server_cpu[0] - cpu_before) * 1000)
        queries[step].append(counter[0] - before)
        return response

    payload = upload_payload()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=measured_app)
        for number in range(applicants):
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                page = await client.get("/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                await client.post(
                    "/login",
                    data={
                        "csrf_token": token,
                        "email": f"rush{number}@example.org",
                        "password": PASSWORD,
                    },
                )
                reference = await rush_steps(client, number, payload, timed)
                assert reference, f"applicant {number} did not get a receipt"
    await cleanup(environ, schema)
    if profiler:
        profiler.dump_stats(profile)

    print(
        f"\n== one applicant's flow on {backend}, mean of {applicants} (in process, no sockets) =="
    )
    # Wall time includes the client and waiting (fsync, the SQLite thread); the app's CPU time is
    # what concurrency cannot hide.
    print(f"{'step':<28}{'queries':>9}{'wall ms':>9}{'app CPU ms':>12}")
    for step in queries:
        print(
            f"{step:<28}{statistics.fmean(queries[step]):>9.1f}{statistics.fmean(millis[step]):>9.2f}"
            f"{statistics.fmean(cpu_millis[step]):>12.2f}"
        )
    total_queries = sum(statistics.fmean(q) for q in queries.values())
    total_ms = sum(statistics.fmean(m) for m in millis.values())
    total_cpu = sum(statistics.fmean(m) for m in cpu_millis.values())
    print(f"{'whole flow':<28}{total_queries:>9.1f}{total_ms:>9.2f}{total_cpu:>12.2f}")
    print(
        f"one process at this CPU cost serves at most {1000 * len(queries) / total_cpu:.0f} req/s "
        f"({1000 / total_cpu:.0f} applicant flows/s)"
    )


def main() -> None:
    # The benchmarks have no SMTP server: the sender loop's "not sent" warnings are expected.
    logging.getLogger("grants.mail").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--applicants", type=int, default=50)
    parser.add_argument("--profile", help="write a cProfile of the app's work to this file")
    args = parser.parse_args()
    asyncio.run(run(args.backend, args.applicants, args.profile))


if __name__ == "__main__":
    main()
