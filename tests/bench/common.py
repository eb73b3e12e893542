"""What the benchmarks share: their environment, applicants, servers, the flow and the checks.

Every import from `grants` is in this module, so a reorganisation of the package needs one fix.
The servers are started the way operators start them, with `grants serve`: one process per port
(`ports`: clients spread over the ports, as a balancer in front would) or N processes on one
port (`reuseport`: `grants serve --processes N`, the kernel spreads the connections).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from lean_client import LeanClient, Response  # noqa: E402

from grants import db, models  # noqa: E402
from grants.app import create_app  # noqa: E402
from grants.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from grants.models import AgeBand, Application, Attachment, Group, GroupMember, User  # noqa: E402
from grants.passwords import hash_password  # noqa: E402
from grants.serve import listening_socket  # noqa: E402
from grants.services.submission import content_hash, load_content  # noqa: E402
from grants.settings import load_settings  # noqa: E402
from grants.storage import LocalStorage  # noqa: E402

__all__ = [
    "DEMO_PASSWORD",
    "LeanClient",
    "Response",
    "create_app",
    "listening_socket",
    "load_settings",
    "models",
]

POSTGRES_URL = os.environ.get("GRANTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
PASSWORD = "rush-password-2027"
FILE_BYTES = 1024 * 1024
CALL = "/calls/epp-2027"
SERVE_MODES = ("ports", "reuseport")
DRAIN_S = 120.0  # after the last arrival, visits still going then are stopped (unfinished)
MAIL_NOT_SENT = re.compile(r"^mail \d+ to \S+ not sent: ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_counters(pid: int) -> tuple[float, float, int]:
    """User CPU, system CPU (seconds) and minor page faults of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick, int(fields[7])


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent` (this kernel has no /proc/PID/task/TID/children)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
    return children


def listen_queues(ports: set[int]) -> list[int]:
    """Connections waiting to be accepted, per listening TCP socket on these ports (Linux: the
    rx_queue column of /proc/net/tcp is a listener's accept queue)."""
    queues = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) in ports:
                    queues.append(int(fields[4].split(":")[1], 16))
    return queues


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def machine_loop_seconds() -> float:
    """The machine's speed at plain Python, best of three: this project's machines vary day to
    day."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for number in range(5_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best


def machine_line() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"this machine: {os.cpu_count()} cores, load average {load}; a pure-Python loop of "
        f"5 million additions takes {machine_loop_seconds():.2f} s (figures from machines of "
        "different speed compare only through this)"
    )


def append_summary(path: str | None, lines: list[str]) -> None:
    """Lines for `make bench`'s summary at the end."""
    if path:
        with open(path, "a") as summary:
            summary.writelines(line + "\n" for line in lines)


def machine_use(kinds: dict[str, float]) -> str:
    """`CpuWindow.machine` in words."""
    if not kinds:
        return "machine: not measured"
    return (
        f"machine meanwhile, in cores: servers {kinds['servers']:.2f}, load generator "
        f"{kinds['loadgen']:.2f}, other processes {kinds['others']:.2f}, stolen by the "
        f"hypervisor {kinds['steal']:.2f}, idle {kinds['idle']:.2f}; some task waiting "
        f"for a core {kinds['cpu waits']:.0%} of the time, for I/O {kinds['io waits']:.0%}"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the environment and the applicants ------------------------------------------------------


async def bench_environment(backend: str, prefix: str) -> tuple[dict[str, str], str | None]:
    """The environment of one benchmark run: a fresh data directory and, on PostgreSQL, a schema
    of its own (returned, for `cleanup` afterwards)."""
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


async def cleanup(environ: dict[str, str], schema: str | None) -> None:
    """Drop the run's schema and remove its data directory (uploads add up to gigabytes)."""
    await drop_schema(schema)
    shutil.rmtree(environ["GRANTS_DATA_DIR"], ignore_errors=True)


async def prepare(environ: dict[str, str], applicants: int) -> None:
    """The demo edition plus `applicants` accounts rush0@… (password PASSWORD), each the lead of
    a group of two."""
    settings = load_settings(environ)
    await db.migrate(settings)
    await db.open_database(settings)
    try:
        await load_demo(settings)
        # One hash for all: this is set-up, not the test.
        password_hash = await hash_password(PASSWORD)
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


async def verify(
    environ: dict[str, str], accepted: set[str], title_prefix: str = "Rush "
) -> dict[str, int]:
    """Every submitted application whose title starts with `title_prefix` is complete (status,
    content hash recomputed, attachment on disk with the recorded size and SHA-256), and every
    reference a receipt showed is among them."""
    settings = load_settings(environ)
    await db.open_database(settings)
    try:
        storage = LocalStorage(settings.upload_dir)
        problems = 0
        submitted = await Application.filter(title__startswith=title_prefix, status="submitted")
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
                or application.content_hash
                != content_hash(application, await load_content(application))
                or application.submitted_at is None
            ):
                problems += 1
        references = {a.reference for a in submitted}
        return {
            "submitted_in_db": len(submitted),
            "accepted_by_http": len(accepted),
            "lost": len(accepted - references),
            "half_written": problems,
            "part_files_left": len(list(settings.upload_dir.glob(".*.part"))),
        }
    finally:
        await db.close_database()


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Servers:
    """Server processes started with `grants serve`; `pids` are the ones that serve."""

    popens: list[subprocess.Popen]
    ports: list[int]
    commands: list[list[str]]
    log: Path
    pids: list[int] = field(default_factory=list)

    def port_for(self, number: int) -> int:
        return self.ports[number % len(self.ports)]

    def counters(self) -> tuple[float, float, int]:
        """User CPU, system CPU and minor page faults of all serving processes together."""
        totals = [0.0, 0.0, 0]
        for pid in self.pids:
            try:
                counters = process_counters(pid)
            except OSError:
                continue
            for index in range(3):
                totals[index] += counters[index]
        return totals[0], totals[1], int(totals[2])

    def accept_queue(self) -> int:
        return sum(listen_queues(set(self.ports)))

    def described(self) -> str:
        shown = []
        for command in self.commands:
            shown.append(" ".join(["grants", *command[1:]]))
        return " & ".join(shown[:2]) + (f" & … ({len(shown)} commands)" if len(shown) > 2 else "")

    def stop(self) -> None:
        """Stop the servers and print what they logged, less the expected mail failures."""
        for popen in self.popens:
            popen.send_signal(signal.SIGTERM)
        for popen in self.popens:
            try:
                popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        lines = self.log.read_text(errors="replace").splitlines()
        others = [line for line in lines if not MAIL_NOT_SENT.search(line)]
        if len(others) < len(lines):
            print(f"servers' log: {len(lines) - len(others)} mails not sent (no SMTP server here)")
        if others:
            print(f"servers' log, {len(others)} other lines (the last 20):")
            print("\n".join(f"  {line}" for line in others[-20:]))


def start_servers(
    environ: dict[str, str],
    processes: int = 1,
    mode: str = "ports",
    timeout_keep_alive: int = 120,
    server_env: dict[str, str] | None = None,
) -> Servers:
    """`processes` uvicorn processes serving the app on loopback, ready when this returns.

    `ports`: one `grants serve` per port. `reuseport`: one `grants serve --processes N` on one
    port. The access log is off (log level warning) in both."""
    grants = str(ROOT / ".venv/bin/grants")
    options = ["--host", "127.0.0.1", "--log-level", "warning"]
    options += ["--timeout-keep-alive", str(timeout_keep_alive)]
    if mode == "ports":
        ports = [free_port() for _ in range(processes)]
        commands = [[grants, "serve", *options, "--port", str(port)] for port in ports]
    elif mode == "reuseport":
        ports = [free_port()]
        commands = [[grants, "serve", *options, "--port", str(ports[0])]]
        commands[0] += ["--processes", str(processes)]
    else:
        raise ValueError(f"serve mode {mode!r}: one of {SERVE_MODES}")
    # PYTHONPATH: the servers run the code of the tree this bench is in (a git worktree too).
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environ, **(server_env or {})}
    log = Path(environ["GRANTS_DATA_DIR"]) / "servers.log"
    with log.open("ab") as output:
        popens = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            for command in commands
        ]
    servers = Servers(popens, ports, commands, log)
    deadline = time.monotonic() + 120
    while len(listen_queues(set(ports))) < processes:
        if time.monotonic() > deadline or any(p.poll() is not None for p in popens):
            servers.stop()
            raise RuntimeError(f"servers did not start: {servers.described()}")
        time.sleep(0.1)
    for popen in popens:
        servers.pids += [popen.pid, *child_pids(popen.pid)]
    for port in ports:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
    return servers


def parse_server_env(pairs: list[str]) -> dict[str, str]:
    environment = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SystemExit(f"--server-env wants KEY=VALUE, not {pair!r}")
        environment[key] = value
    return environment


# --- the applicant's requests ----------------------------------------------------------------


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Client(Protocol):
    """What the flow needs of a client: LeanClient over sockets, httpx in process (flow_cost.py)."""

    async def get(self, path: str) -> Any: ...
    async def post(
        self, path: str, data: dict[str, str] | None = None, files: Any = None
    ) -> Any: ...


Timed = Callable[[str, Awaitable[Any]], Awaitable[Any]]


async def log_in(client: Client, number: int, timed: Timed) -> bool:
    """GET /login, POST /login as rush{number}; True when the log-in was accepted."""
    page = await timed("GET login", client.get("/login"))
    response = await timed(
        "POST login",
        client.post(
            "/login",
            data={
                "csrf_token": token_of(page.text),
                "email": f"rush{number}@example.org",
                "password": PASSWORD,
            },
        ),
    )
    return response.status_code == 303


async def rush_steps(
    client: Client, number: int, payload: bytes, timed: Timed, title: str = ""
) -> str | None:
    """One applicant's last minutes, every request passed through `timed` with its step's name;
    returns the reference when the submission was accepted."""
    title = title or f"Rush {number}"
    page = await timed("GET apply", client.get(f"{CALL}/apply"))
    token = token_of(page.text)
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    response = await timed(
        "POST apply (new draft)",
        client.post(
            f"{CALL}/apply",
            data={"csrf_token": token, "group_id": group_id, "title": title, "language": "en"},
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
                "title": title,
                "summary": "We run peer talks.",
                "language": "en",
                "category": category,
                "go": "next",
            },
        ),
    )
    if response.status_code != 303:
        return None
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
            f"/applications/{application_id}/step/2",
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
    found = re.search(r"EPP-2027-\d{4,}", receipt.text)  # 0042, then 10000 and on
    return found.group(0) if found else None


def upload_payload() -> bytes:
    return b"%PDF-1.4\n" + os.urandom(FILE_BYTES - 9)


# --- open-loop arrivals ----------------------------------------------------------------------


async def poisson_arrivals(
    rate: float,
    duration: float,
    start: Callable[[int, float], Awaitable[Any]],
    rng: random.Random,
    origin: float,
) -> list[asyncio.Task]:
    """Visitors arriving at random (a Poisson process, `rate` per second) for `duration` seconds
    from `origin` (a perf_counter time): each `start(number, moment)` begins at its moment as a
    task of its own, whether or not the earlier ones are done (open loop: a slow server does
    not slow the arrivals)."""
    moment = rng.expovariate(rate)
    tasks: list[asyncio.Task] = []
    while moment < duration:
        delay = origin + moment - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start(len(tasks), moment)))
        moment += rng.expovariate(rate)
    return tasks


@dataclass
class RequestRecord:
    started: float  # seconds since the stage began
    latency: float
    step: str
    fresh: bool  # the first request on a newly opened connection (connecting included)
    status: int


@dataclass
class Stage:
    """What one rate's run recorded."""

    rate: float
    origin: float = field(default_factory=time.perf_counter)  # when its arrivals began
    requests: list[RequestRecord] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    max_accept_queue: int = 0

    def error(self, exc: BaseException) -> None:
        kind = f"{type(exc).__name__}: {exc}"[:120]
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def window(self, since: float, until: float) -> list[RequestRecord]:
        return [r for r in self.requests if since <= r.started < until]


def visitor_timing(
    stage: Stage,
    client: LeanClient,
    rng: random.Random,
    think: tuple[float, float],
    timeout: float = 60.0,
) -> Timed:
    """A `timed` for one visitor: it thinks (a random pause in `think`, seconds) before every
    request but its first, and records each request in `stage`."""
    first = True

    async def timed(step: str, call: Awaitable[Any]) -> Any:
        nonlocal first
        if not first:
            await asyncio.sleep(rng.uniform(*think))
        first = False
        started = time.perf_counter()
        response = await asyncio.wait_for(call, timeout)
        latency = time.perf_counter() - started
        stage.requests.append(
            RequestRecord(started - stage.origin, latency, step, client.fresh, response.status_code)
        )
        return response

    return timed


async def watch_accept_queue(servers: Servers, stage: Stage, every: float = 1.0) -> None:
    """Keep the largest accept queue seen (connections the servers had not yet accepted), read
    once a second: a read of /proc/net/tcp costs a few milliseconds of CPU."""
    while True:
        stage.max_accept_queue = max(stage.max_accept_queue, servers.accept_queue())
        await asyncio.sleep(every)


def machine_ticks() -> dict[str, int]:
    """The whole machine's CPU time so far, in clock ticks, by kind (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    ticks = {"busy": user + nice + system + irq + softirq, "idle": idle + iowait, "steal": steal}
    # Pressure stall information: microseconds in which some task waited for a core, for I/O.
    for kind in ("cpu", "io"):
        try:
            some = Path(f"/proc/pressure/{kind}").read_text().split("\n", 1)[0]
        except OSError:
            continue
        ticks[f"{kind} waits"] = int(some.rsplit("total=", 1)[1]) * os.sysconf("SC_CLK_TCK")
        ticks[f"{kind} waits"] //= 1_000_000
    return ticks


class CpuWindow:
    """The cores each serving process used between two moments (1.0 = one core busy), and what
    the rest of the machine did meanwhile: this load generator, other processes (other people's
    test suites), time stolen by the hypervisor, idle time."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.readings: list[tuple[float, list[float], float, dict[str, int]]] = []

    def read(self) -> None:
        cpu = []
        for pid in self.servers.pids:
            try:
                user, system, _ = process_counters(pid)
            except OSError:
                user = system = 0.0
            cpu.append(user + system)
        self.readings.append((time.perf_counter(), cpu, sum(os.times()[:2]), machine_ticks()))

    async def sample_at(self, *moments: float) -> None:
        for moment in moments:
            await asyncio.sleep(max(0.0, moment - time.perf_counter()))
            self.read()

    def cores(self) -> list[float]:
        if len(self.readings) < 2:
            return []
        (start, first, _, _), (end, last, _, _) = self.readings[0], self.readings[-1]
        used = [(b - a) / (end - start) for a, b in zip(first, last, strict=True)]
        return [c for c in used if c >= 0.005]  # the reuseport supervisor only waits

    def machine(self) -> dict[str, float]:
        """Cores used by kind over the window: servers, loadgen, others, steal, idle."""
        if len(self.readings) < 2:
            return {}
        (start, first, client_start, ticks_start) = self.readings[0]
        (end, last, client_end, ticks_end) = self.readings[-1]
        seconds, tick = end - start, os.sysconf("SC_CLK_TCK")
        kinds = {k: (ticks_end[k] - ticks_start[k]) / tick / seconds for k in ticks_start}
        servers = (sum(last) - sum(first)) / seconds
        loadgen = (client_end - client_start) / seconds
        return {
            "servers": servers,
            "loadgen": loadgen,
            "others": max(0.0, kinds["busy"] - servers - loadgen),
            "steal": kinds["steal"],
            "idle": kinds["idle"],
            "cpu waits": kinds.get("cpu waits", float("nan")),
            "io waits": kinds.get("io waits", float("nan")),
        }


async def run_open_loop(
    servers: Servers,
    stage: Stage,
    visit: Callable[[int, float], Awaitable[Any]],
    duration: float,
    warmup: float,
    seed: int,
) -> dict[str, Any]:
    """One rate's arrivals (`visit` per visitor), then the visits still going are waited for,
    at most DRAIN_S. Returns the visits' results, how many arrived and did not finish, the
    servers' and this process's CPU seconds, and the cores each server used from `warmup` to
    `duration`."""
    window = CpuWindow(servers)
    stage.origin = time.perf_counter()
    watchers = [
        asyncio.create_task(window.sample_at(stage.origin + warmup, stage.origin + duration)),
        asyncio.create_task(watch_accept_queue(servers, stage)),
    ]
    before, client_before = servers.counters(), sum(os.times()[:2])
    tasks = await poisson_arrivals(stage.rate, duration, visit, random.Random(seed), stage.origin)
    done, pending = await asyncio.wait(tasks, timeout=DRAIN_S) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for watcher in watchers:
        watcher.cancel()
    after, client_after = servers.counters(), sum(os.times()[:2])
    return {
        "arrivals": len(tasks),
        "results": [task.result() for task in done if not task.cancelled()],
        "unfinished": len(pending),
        "server_cpu_s": sum(after[:2]) - sum(before[:2]),
        "client_cpu_s": client_after - client_before,
        "cores": window.cores(),
        "machine": window.machine(),
    }
