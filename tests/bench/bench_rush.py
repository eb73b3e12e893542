"""Deadline rush: 500 applicants save a draft and submit with a 1 MiB file, all at once.

Run: `.venv/bin/python tests/bench/bench_rush.py [--backend sqlite|postgres|both]
[--applicants N] [--processes P] [--serve-mode ports|reuseport] [--alone N] [--sample PREFIX]`.
Real uvicorn servers on loopback started with `grants serve` (one per port, clients spread over
them; or `--serve-mode reuseport`: P processes on one port), a real database. Log-ins happen
first, spread out (argon2id costs CPU by design), and are reported separately. Then every
applicant starts at the same instant and, with no pause, makes the eight requests a browser
makes: open the call's apply page, create the draft, open and save step 1, save step 2 with the
upload, open the check page, submit, open the receipt. All eight are timed, per step too; the
server's and the load generator's CPU per flow show where time goes.
Before the rush, `--alone N` extra applicants (default 50) go through the same flow one at a
time, to print what each step costs with nothing else running, and the p99 floor that the
costliest step sets when everyone does it at once (see `alone`).
Afterwards the database is checked: every accepted submission is complete (status, content
hash recomputed, attachment on disk with the recorded size and SHA-256).

This is a stress test, not the capacity goal (that is bench_capacity.py). Targets:
0 lost and 0 half-written submissions, 0 responses 5xx, and a p99 within 1.5x the floor it
prints (the lockstep ratio, p99 / floor; on SQLite: on PostgreSQL the floor leaves out
PostgreSQL's own CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import uvloop
from common import (
    ROOT,
    SERVE_MODES,
    LeanClient,
    Response,
    Servers,
    append_summary,
    bench_environment,
    cleanup,
    log_in,
    machine_line,
    percentile,
    prepare,
    rush_steps,
    start_servers,
    upload_payload,
    verdict,
    verify,
)

LOCKSTEP_TARGET = 1.5  # p99 / the floor the costliest step sets


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


def recorder(stats: Stats, only: str = "") -> Callable[[str, Awaitable[Response]], Awaitable]:
    """A `timed` for the flows: each request's latency into `stats` (only step `only`, if set)."""

    async def timed(step: str, call: Awaitable[Response]) -> Response:
        started = time.perf_counter()
        response = await call
        if not only or step == only:
            stats.record(started, response, step)
        return response

    return timed


async def alone(
    clients: list[LeanClient], first: int, servers: Servers, payload: bytes
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
        user, system, _ = servers.counters()
        return user + system, system

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


def start_samplers(servers: Servers, sample_to: str | None) -> list[subprocess.Popen]:
    """--sample: py-spy samples each server during the rush (threads holding the GIL only, so
    the samples are where Python spends CPU), as collapsed stacks for a flame graph."""
    if not sample_to:
        return []
    spy = str(ROOT / ".venv/bin/py-spy")
    return [
        subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", "250", "--gil", "--nonblocking"]
            + ["--format", "raw", "--output", f"{sample_to}.{index}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index, pid in enumerate(servers.pids)
    ]


async def run(options: argparse.Namespace, backend: str) -> dict:
    applicants, measured_alone = options.applicants, options.alone
    environ, schema = await bench_environment(backend, "rush")
    await prepare(environ, applicants + measured_alone)
    # Browsers keep connections open between log-in and the rush; with uvicorn's 5 s default
    # the server closes them and a request can race the close (RemoteProtocolError).
    servers = start_servers(environ, options.processes, options.serve_mode, timeout_keep_alive=120)
    try:
        # One keep-alive connection per applicant, as a browser would hold.
        clients = [
            LeanClient("127.0.0.1", servers.port_for(n)) for n in range(applicants + measured_alone)
        ]
        login_stats, rush_stats = Stats(), Stats()
        gate = asyncio.Semaphore(8)

        async def spread_login(number: int) -> None:
            async with gate:
                await log_in(clients[number], number, recorder(login_stats, "POST login"))

        started = time.perf_counter()
        await asyncio.gather(*(spread_login(n) for n in range(applicants)))
        login_seconds = time.perf_counter() - started

        payload = upload_payload()
        # The applicants measured alone are extra ones: the rush's 500 start from the same state.
        await asyncio.gather(
            *(spread_login(n) for n in range(applicants, applicants + measured_alone))
        )
        step_costs = await alone(clients[applicants:], applicants, servers, payload)
        clients = clients[:applicants]
        spies = start_samplers(servers, options.sample)
        server_before = servers.counters()
        client_cpu_before = sum(os.times()[:2])
        started = time.perf_counter()
        timed = recorder(rush_stats)
        results = await asyncio.gather(
            *(rush_steps(clients[n], n, payload, timed) for n in range(applicants)),
            return_exceptions=True,
        )
        rush_seconds = time.perf_counter() - started
        server_after = servers.counters()
        server_user, server_system, server_faults = (
            after - before for before, after in zip(server_before, server_after, strict=True)
        )
        client_cpu = sum(os.times()[:2]) - client_cpu_before
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        for client in clients:
            await client.aclose()
    finally:
        servers.stop()
    accepted = {r for r in results if isinstance(r, str)}
    errors = [r for r in results if isinstance(r, BaseException)]
    check = await verify(environ, accepted)
    await cleanup(environ, schema)
    latencies = rush_stats.latencies
    return {
        "backend": backend,
        "applicants": applicants,
        "servers": servers.described(),
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


def floor_seconds(result: dict) -> tuple[str, float, float] | None:
    """The costliest step measured alone, its CPU (server + load generator, ms) and the p99
    floor it sets when every applicant does it at once on this machine's cores."""
    costs = result["alone"]
    if not costs:
        return None
    costliest = max(costs, key=lambda step: costs[step][1] + costs[step][3])
    cpu = costs[costliest][1] + costs[costliest][3]
    return costliest, cpu, result["applicants"] * cpu / 1000 / (os.cpu_count() or 1)


def report(result: dict, processes: int) -> None:
    print(
        f"\n== deadline rush on {result['backend']}: {result['applicants']} applicants, "
        f"1 MiB upload each, {processes} server process(es): {result['servers']} =="
    )
    print(
        f"log-ins (spread, 8 at a time): {result['login_seconds']:.1f} s, "
        f"{result['login_per_s']:.1f}/s, p50 {result['login_p50'] * 1000:.0f} ms, "
        f"p99 {result['login_p99'] * 1000:.0f} ms"
    )
    print(
        f"rush: {result['requests']} requests in {result['rush_seconds']:.1f} s = "
        f"{result['requests_per_s']:.1f} req/s; latency p50 {result['p50'] * 1000:.0f} ms, "
        f"p99 {result['p99'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms"
    )
    print(
        "CPU per applicant's flow (user + system): server "
        f"{result['server_cpu_ms_per_flow']:.1f} ms (system "
        f"{result['server_system_ms_per_flow']:.1f} ms, "
        f"{result['server_faults_per_flow']:.0f} page faults), load generator "
        f"{result['client_cpu_ms_per_flow']:.1f} ms, on {os.cpu_count()} cores"
    )
    alone_costs = result["alone"]
    print(f"{'':<30}{'rush':>20}   alone (mean of {result['measured_alone']}), ms")
    print(
        f"{'step':<30}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'wall':>9}{'server':>9}{'system':>9}{'loadgen':>9}"
    )
    for step, (p50, p99) in result["by_step"].items():
        wall, server, system, client = alone_costs.get(step, (float("nan"),) * 4)
        print(
            f"  {step:<28}{p50 * 1000:>10.0f}{p99 * 1000:>10.0f}"
            f"{wall:9.1f}{server:9.1f}{system:9.1f}{client:9.1f}"
        )
    print(
        f"status codes: {result['status']}; client errors: {result['client_errors']} "
        f"{result['error_kinds']}"
    )
    print(
        f"database check: {result['submitted_in_db']} submitted ({result['measured_alone']} of "
        f"them measured alone), {result['accepted_by_http']} receipts in the rush, "
        f"lost {result['lost']}, half-written {result['half_written']}, "
        f".part files left {result['part_files_left']}"
    )


def targets(result: dict) -> list[tuple[str, bool | None]]:
    """The rush's targets as (line, met); met is None where the target does not apply."""
    floor = floor_seconds(result)
    completed = result["accepted_by_http"] == result["applicants"] and not result["client_errors"]
    lines: list[tuple[str, bool | None]] = [
        (
            f"every applicant got a receipt: {result['accepted_by_http']}/{result['applicants']}, "
            f"client errors {result['client_errors']}",
            completed,
        ),
        (f"0 lost: {result['lost']}", result["lost"] == 0),
        (f"0 half-written: {result['half_written']}", result["half_written"] == 0),
        (f"0 5xx: {result['5xx']}", result["5xx"] == 0),
    ]
    if floor is None:
        lines.append(("lockstep ratio: not measured (--alone 0)", None))
        return lines
    step, cpu, seconds = floor
    ratio = result["p99"] / seconds
    line = (
        f"lockstep ratio (p99 / floor) within {LOCKSTEP_TARGET}: p99 "
        f"{result['p99']:.2f} s / floor {seconds:.2f} s = {ratio:.2f} (floor: everyone at the "
        f"costliest step, {step}, at once: {result['applicants']} x {cpu:.1f} ms of CPU / "
        f"{os.cpu_count()} cores)"
    )
    if result["backend"] != "sqlite":
        lines.append((line + "; applies to SQLite: the floor leaves out PostgreSQL's CPU", None))
    else:
        lines.append((line, ratio <= LOCKSTEP_TARGET))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument(
        "--sample",
        metavar="PREFIX",
        help="sample the servers with py-spy during the rush into PREFIX.0, PREFIX.1, ... "
        "(collapsed stacks; needs `.venv/bin/pip install py-spy`)",
    )
    parser.add_argument("--processes", type=int, default=1, help="server processes")
    parser.add_argument(
        "--serve-mode",
        choices=SERVE_MODES,
        default="ports",
        help="ports: one `grants serve` per port, clients spread over them; reuseport: "
        "`grants serve --processes P` on one port",
    )
    parser.add_argument(
        "--alone",
        type=int,
        default=50,
        metavar="N",
        help="before the rush, N extra applicants go through the flow one at a time, to measure "
        "each step's cost (Linux counts CPU in 10 ms ticks, so means need 50 or more)",
    )
    parser.add_argument("--summary", metavar="FILE", help="append PASS/FAIL lines to FILE")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(machine_line())
    failed = False
    for backend in backends:
        # The load generator runs on uvloop with large buffers kept, as the servers do: it shares
        # their two cores, and every millisecond it saves is one the servers get.
        result = uvloop.run(run(args, backend))
        report(result, args.processes)
        lines = []
        for line, met in targets(result):
            mark = "    " if met is None else verdict(met)
            print(f"target {mark} {line}")
            lines.append(f"rush {backend}: {mark} {line}")
            failed = failed or met is False
        append_summary(args.summary, lines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
