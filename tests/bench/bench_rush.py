"""Deadline rush: 500 applicants save a draft and submit with a 1 MiB file, all at once.

Run: `.venv/bin/python tests/bench/bench_rush.py [--backend sqlite|postgres|both] [--applicants N]
[--processes P] [--sample PREFIX]`. Real uvicorn servers on loopback (one per port, clients spread over them), a real
database. Log-ins happen first, spread out (argon2id costs CPU by design), and are reported
separately. Then every applicant starts at the same instant and, with no pause, makes the eight
requests a browser makes: open the call's apply page, create the draft, open and save step 1,
save step 2 with the upload, open the check page, submit, open the receipt. All eight are
timed, per step too; the server's and the load generator's CPU per flow show where time goes.
Before the rush, `--alone N` extra applicants (default 50) go through the same flow one at a
time, to print what each step costs with nothing else running, and the p99 floor that the
costliest step sets when everyone does it at once (see `alone`).
Afterwards the database is checked: every accepted submission is complete (status, content
hash recomputed, attachment on disk with the recorded size and SHA-256).
Targets: 0 lost or half-written submissions, 0 responses 5xx, p99 < 2 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from lean_client import LeanClient, Response  # noqa: E402

from grants import db, memory  # noqa: E402
from grants.demo import load_demo  # noqa: E402
from grants.models import AgeBand, Application, Attachment, Group, GroupMember, User  # noqa: E402
from grants.security import hash_password  # noqa: E402
from grants.services.submission import content_hash  # noqa: E402
from grants.settings import load_settings  # noqa: E402
from grants.storage import LocalStorage  # noqa: E402

POSTGRES_URL = os.environ.get("GRANTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
PASSWORD = "rush-password-2027"
FILE_BYTES = 1024 * 1024
P99_TARGET_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_counters(pid: int) -> tuple[float, float, int]:
    """User CPU, system CPU (seconds) and minor page faults of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick, int(fields[7])


async def bench_environment(backend: str, prefix: str) -> tuple[dict[str, str], str | None]:
    """The environment of one benchmark run: a fresh data directory and, on PostgreSQL, a schema
    of its own (returned, for `drop_schema` afterwards)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-{backend}-"))
    environ = {
        "GRANTS_DATA_DIR": str(data_dir),
        "GRANTS_SECRET_KEY": "bench",
        "GRANTS_SMTP_PORT": "1",
    }
    if backend != "postgres":
        return environ, None
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://"))
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    await connection.close()
    return {**environ, "GRANTS_DATABASE_URL": f"{POSTGRES_URL}?schema={schema}"}, schema


async def drop_schema(schema: str | None) -> None:
    if schema:
        connection = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://"))
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await connection.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def prepare(environ: dict[str, str], applicants: int) -> None:
    settings = load_settings(environ)
    await db.migrate(settings)
    await db.open_database(settings)
    try:
        await load_demo(settings)
        password_hash = await hash_password(
            PASSWORD
        )  # one hash for all: this is set-up, not the test
        for number in range(applicants):
            user = await User.create(
                email=f"rush{number}@example.org",
                display_name=f"R{number}",
                password_hash=password_hash,
            )
            group = await Group.create(
                name=f"Rush group {number}", kind="informal_group", country="PT", created_by=user
            )
            await GroupMember.create(
                group=group, user=user, first_name="Lead", role="lead", age_band=AgeBand.AGE_18_21
            )
            await GroupMember.create(group=group, first_name="Mate", age_band=AgeBand.AGE_22_25)
    finally:
        await db.close_database()


async def verify(environ: dict[str, str], accepted: set[str]) -> dict[str, int]:
    settings = load_settings(environ)
    await db.open_database(settings)
    try:
        storage = LocalStorage(settings.upload_dir)
        problems = 0
        submitted = await Application.filter(title__startswith="Rush ", status="submitted")
        for application in submitted:
            attachments = await Attachment.filter(application=application)
            data_ok = len(attachments) == 1 and attachments[0].size == FILE_BYTES
            if data_ok:
                path = storage.open_path(attachments[0].stored_name)
                data_ok = (
                    path.stat().st_size == FILE_BYTES
                    and hashlib.sha256(path.read_bytes()).hexdigest() == attachments[0].sha256
                )
            if (
                not data_ok
                or application.content_hash != await content_hash(application)
                or application.submitted_at is None
            ):
                problems += 1
        references = {a.reference for a in submitted}
        lost = len(accepted - references)
        leftovers = len(list(settings.upload_dir.glob(".*.part")))
        return {
            "submitted_in_db": len(submitted),
            "accepted_by_http": len(accepted),
            "lost": lost,
            "half_written": problems,
            "part_files_left": leftovers,
        }
    finally:
        await db.close_database()


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.by_step: dict[str, list[float]] = {}
        self.status: dict[int, int] = {}

    def record(self, started: float, response: Response, step: str = "") -> Response:
        latency = time.perf_counter() - started
        self.latencies.append(latency)
        self.by_step.setdefault(step, []).append(latency)
        self.status[response.status_code] = self.status.get(response.status_code, 0) + 1
        return response


async def log_in(client: LeanClient, number: int, stats: Stats) -> None:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    started = time.perf_counter()
    stats.record(
        started,
        await client.post(
            "/login",
            data={"csrf_token": token, "email": f"rush{number}@example.org", "password": PASSWORD},
        ),
    )


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Client(Protocol):
    """What the flow needs of a client: LeanClient over sockets, httpx in process (flow_cost.py)."""

    async def get(self, path: str) -> Any: ...
    async def post(
        self, path: str, data: dict[str, str] | None = None, files: Any = None
    ) -> Any: ...


Timed = Callable[[str, Awaitable[Any]], Awaitable[Any]]


async def rush_steps(client: Client, number: int, payload: bytes, timed: Timed) -> str | None:
    """One applicant's last minutes, every request passed through `timed` with its step's name;
    returns the reference when the submission was accepted."""
    page = await timed("GET apply", client.get("/calls/epp-2027/apply"))
    token = token_of(page.text)
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    response = await timed(
        "POST apply (new draft)",
        client.post(
            "/calls/epp-2027/apply",
            data={
                "csrf_token": token,
                "group_id": group_id,
                "title": f"Rush {number}",
                "language": "en",
            },
        ),
    )
    if response.status_code != 303:
        return None
    step1 = response.headers["location"]
    application_id = step1.split("/")[2]
    form = await timed("GET step 1", client.get(step1))
    category = re.search(r'<select id="category".*?<option value="(\d+)"', form.text, re.S).group(1)
    response = await timed(
        "POST step 1",
        client.post(
            step1,
            data={
                "csrf_token": token,
                "title": f"Rush {number}",
                "summary": "We run peer talks.",
                "language": "en",
                "category": category,
                "go": "next",
            },
        ),
    )
    if response.status_code != 303:
        return None
    step2 = f"/applications/{application_id}/step/2"
    answers = {
        "csrf_token": token,
        "needs": "A survey.",
        "youth_role": "We lead.",
        "participants": "20",
        "approach": "peer",
        "go": "next",
    }
    response = await timed(
        "POST step 2 (1 MiB upload)",
        client.post(
            step2,
            data=answers,
            files={"workplan": (f"plan{number}.pdf", payload, "application/pdf")},
        ),
    )
    if response.status_code != 303:
        return None
    check = await timed("GET step 3 (check)", client.get(f"/applications/{application_id}/step/3"))
    match = re.search(r'name="submit_key" value="([^"]+)"', check.text)
    if not match:
        return None
    response = await timed(
        "POST submit",
        client.post(
            f"/applications/{application_id}/submit",
            data={"csrf_token": token, "submit_key": match.group(1)},
        ),
    )
    if response.status_code != 303:
        return None
    receipt = await timed("GET receipt", client.get(response.headers["location"]))
    found = re.search(r"EPP-2027-\d{4}", receipt.text)
    return found.group(0) if found else None


async def rush(client: LeanClient, number: int, stats: Stats, payload: bytes) -> str | None:
    async def timed(step: str, call: Awaitable[Response]) -> Response:
        started = time.perf_counter()
        response = await call
        stats.record(started, response, step)
        return response

    return await rush_steps(client, number, payload, timed)


async def alone(
    clients: list[LeanClient], first: int, servers: list[subprocess.Popen], payload: bytes
) -> dict[str, tuple[float, ...]]:
    """Each step's cost with nothing else running: one applicant's flow after another, the
    servers' and this process's CPU read around every request. Returns, by step, the mean wall
    time, server CPU (user + system), the server's system CPU alone and load-generator CPU, in
    milliseconds.

    Why: in the rush everyone starts together and a first-come line keeps them in step, so
    nearly all 500 do the same step at once and a request waits for the whole crowd's copy of
    it: its latency is about applicants x that step's CPU (server, load generator and kernel
    together) / cores. The costliest step sets the p99."""
    costs: dict[str, list[tuple[float, float, float, float]]] = {}

    def server_cpu() -> tuple[float, float]:
        counters = [process_counters(server.pid) for server in servers]
        return sum(c[0] + c[1] for c in counters), sum(c[1] for c in counters)

    async def timed(step: str, call: Awaitable[Response]) -> Response:
        (server_before, system_before), client_before = server_cpu(), sum(os.times()[:2])
        started = time.perf_counter()
        response = await call
        wall = time.perf_counter() - started
        server, system = server_cpu()
        costs.setdefault(step, []).append(
            (
                wall,
                server - server_before,
                system - system_before,
                sum(os.times()[:2]) - client_before,
            )
        )
        return response

    for number, client in enumerate(clients):
        await rush_steps(client, first + number, payload, timed)
    return {
        step: tuple(1000 * statistics.fmean(column) for column in zip(*values, strict=True))  # type: ignore[misc]
        for step, values in costs.items()
    }


async def run(
    backend: str,
    applicants: int,
    sample_to: str | None = None,
    processes: int = 1,
    measured_alone: int = 0,
) -> dict:
    environ, schema = await bench_environment(backend, "rush")
    await prepare(environ, applicants + measured_alone)
    # One uvicorn process per port, clients spread over them: what a balancer in front would do
    # (DESIGN: one process per port rather than --workers, see uvicorn issue 3149).
    ports = [free_port() for _ in range(processes)]
    servers = []
    for port in ports:
        servers.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/uvicorn"),
                    "--factory",
                    "grants.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--limit-concurrency",
                    "2000",
                    "--backlog",
                    "2048",
                    # Browsers keep connections open between log-in and the rush; with uvicorn's 5 s default
                    # the server closes them and a request can race the close (RemoteProtocolError).
                    "--timeout-keep-alive",
                    "120",
                ],
                env={**os.environ, **environ},
                cwd=ROOT,
            )
        )
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            for _ in range(100):
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
        # One keep-alive connection per applicant, as a browser would hold.
        clients = [
            LeanClient("127.0.0.1", ports[n % len(ports)])
            for n in range(applicants + measured_alone)
        ]
        login_stats, rush_stats = Stats(), Stats()
        gate = asyncio.Semaphore(8)

        async def spread_login(number: int) -> None:
            async with gate:
                await log_in(clients[number], number, login_stats)

        started = time.perf_counter()
        await asyncio.gather(*(spread_login(n) for n in range(applicants)))
        login_seconds = time.perf_counter() - started

        payload = b"%PDF-1.4\n" + os.urandom(FILE_BYTES - 9)
        # The applicants measured alone are extra ones: the rush's 500 start from the same state.
        await asyncio.gather(
            *(spread_login(n) for n in range(applicants, applicants + measured_alone))
        )
        step_costs = await alone(clients[applicants:], applicants, servers, payload)
        clients = clients[:applicants]
        # --sample: py-spy samples each server during the rush (threads holding the GIL only, so
        # the samples are where Python spends CPU), as collapsed stacks for a flame graph.
        spies = (
            [
                subprocess.Popen(
                    [
                        str(ROOT / ".venv/bin/py-spy"),
                        "record",
                        "--pid",
                        str(server.pid),
                        "--rate",
                        "250",
                        "--gil",
                        "--nonblocking",
                        "--format",
                        "raw",
                        "--output",
                        f"{sample_to}.{index}",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for index, server in enumerate(servers)
            ]
            if sample_to
            else []
        )
        server_before = [process_counters(server.pid) for server in servers]
        client_cpu_before = sum(os.times()[:2])
        started = time.perf_counter()
        results = await asyncio.gather(
            *(rush(clients[n], n, rush_stats, payload) for n in range(applicants)),
            return_exceptions=True,
        )
        rush_seconds = time.perf_counter() - started
        server_after = [process_counters(server.pid) for server in servers]
        server_user, server_system, server_faults = (
            sum(
                after[i] - before[i]
                for before, after in zip(server_before, server_after, strict=True)
            )
            for i in range(3)
        )
        client_cpu = sum(os.times()[:2]) - client_cpu_before
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        for client in clients:
            await client.aclose()
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            server.wait(timeout=60)
    accepted = {r for r in results if isinstance(r, str)}
    errors = [r for r in results if isinstance(r, BaseException)]
    check = await verify(environ, accepted)
    await drop_schema(schema)
    latencies = rush_stats.latencies
    return {
        "backend": backend,
        "applicants": applicants,
        "login_seconds": login_seconds,
        "login_per_s": applicants / login_seconds,
        "login_p50": percentile(login_stats.latencies, 0.5),
        "login_p99": percentile(login_stats.latencies, 0.99),
        "rush_seconds": rush_seconds,
        "server_cpu_ms_per_flow": 1000 * (server_user + server_system) / applicants,
        "server_system_ms_per_flow": 1000 * server_system / applicants,
        "server_faults_per_flow": server_faults / applicants,
        "client_cpu_ms_per_flow": 1000 * client_cpu / applicants,
        "requests": len(latencies),
        "requests_per_s": len(latencies) / rush_seconds,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "by_step": {
            step: (percentile(values, 0.5), percentile(values, 0.99))
            for step, values in rush_stats.by_step.items()
        },
        "mean": statistics.fmean(latencies),
        "status": rush_stats.status,
        "client_errors": len(errors),
        "5xx": sum(n for code, n in rush_stats.status.items() if code >= 500),
        **check,
        "error_kinds": sorted({f"{type(e).__name__}: {e}"[:200] for e in errors}),
        "alone": step_costs,
        "measured_alone": measured_alone,
    }


def machine_loop_seconds() -> float:
    """The machine's speed at plain Python, best of three: this project's machines vary day to day."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for number in range(5_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument(
        "--sample",
        metavar="PREFIX",
        help="sample the servers with py-spy during the rush into "
        "PREFIX.0, PREFIX.1, ... (collapsed stacks; needs `.venv/bin/pip install py-spy`)",
    )
    parser.add_argument("--processes", type=int, default=1, help="server processes, one per port")
    parser.add_argument(
        "--alone",
        type=int,
        default=50,
        metavar="N",
        help="before the rush, N extra applicants go through the flow one at a time, to measure each step's "
        "cost (Linux counts CPU in 10 ms ticks, so means need 50 or more)",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        f"this machine: a pure-Python loop of 5 million additions takes {machine_loop_seconds():.2f} s "
        "(figures from machines of different speed compare only through this)"
    )
    failed = False
    for backend in backends:
        # The load generator runs on uvloop with large buffers kept, as the servers do: it shares
        # their two cores, and every millisecond it saves is one the servers get.
        memory.keep_large_buffers()
        result = uvloop.run(run(backend, args.applicants, args.sample, args.processes, args.alone))
        print(
            f"\n== deadline rush on {backend}: {result['applicants']} applicants, 1 MiB upload each, "
            f"{args.processes} server process(es) =="
        )
        print(
            f"log-ins (spread, 8 at a time): {result['login_seconds']:.1f} s, {result['login_per_s']:.1f}/s, "
            f"p50 {result['login_p50'] * 1000:.0f} ms, p99 {result['login_p99'] * 1000:.0f} ms"
        )
        print(
            f"rush: {result['requests']} requests in {result['rush_seconds']:.1f} s = {result['requests_per_s']:.1f} req/s; "
            f"latency p50 {result['p50'] * 1000:.0f} ms, p99 {result['p99'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms"
        )
        print(
            f"CPU per applicant's flow (user + system): server {result['server_cpu_ms_per_flow']:.1f} ms "
            f"(system {result['server_system_ms_per_flow']:.1f} ms, {result['server_faults_per_flow']:.0f} page faults), "
            f"load generator {result['client_cpu_ms_per_flow']:.1f} ms, on {os.cpu_count()} cores"
        )
        alone_costs = result["alone"]
        print(f"{'':<30}{'rush':>20}   alone (mean of {result['measured_alone']}), ms")
        print(
            f"{'step':<30}{'p50 ms':>10}{'p99 ms':>10}{'wall':>9}{'server':>9}{'system':>9}{'loadgen':>9}"
        )
        for step, (p50, p99) in result["by_step"].items():
            wall, server, system, client = alone_costs.get(step, (float("nan"),) * 4)
            print(
                f"  {step:<28}{p50 * 1000:>10.0f}{p99 * 1000:>10.0f}{wall:9.1f}{server:9.1f}{system:9.1f}{client:9.1f}"
            )
        if alone_costs:
            costliest = max(
                alone_costs, key=lambda step: alone_costs[step][1] + alone_costs[step][3]
            )
            cpu = alone_costs[costliest][1] + alone_costs[costliest][3]
            print(
                f"everyone at the costliest step ({costliest}) at once: {result['applicants']} x {cpu:.1f} ms of CPU "
                f"/ {os.cpu_count()} cores = {result['applicants'] * cpu / 1000 / os.cpu_count():.2f} s (a floor for the p99 "
                "while the crowd moves in step)"
            )
        print(
            f"status codes: {result['status']}; client errors: {result['client_errors']} {result['error_kinds']}"
        )
        print(
            f"database check: {result['submitted_in_db']} submitted ({result['measured_alone']} of them measured alone), "
            f"{result['accepted_by_http']} receipts in the rush, "
            f"lost {result['lost']}, half-written {result['half_written']}, .part files left {result['part_files_left']}"
        )
        ratio = result["p99"] / P99_TARGET_S
        print(
            f"p99 target {P99_TARGET_S:.1f} s: ratio {ratio:.2f}"
            + (" (target applies to SQLite)" if backend != "sqlite" else "")
        )
        integrity_ok = (
            result["accepted_by_http"] == result["applicants"]
            and result["lost"] == 0
            and result["half_written"] == 0
            and result["5xx"] == 0
            and result["client_errors"] == 0
        )
        if not integrity_ok or (backend == "sqlite" and ratio > 1):
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
