"""Capacity: applicants arriving at random, pausing between pages; the highest rate that holds.

Run: `.venv/bin/python tests/bench/bench_capacity.py [--backend sqlite|postgres] [--processes P]
[--serve-mode ports|reuseport] [--rates R ...] [--duration S] [--warmup S] [--think LO HI]
[--pool N] [--server-env KEY=VALUE ...] [--seed N] [--all] [--summary FILE]`.

Open loop, as visitors come: at each rate R (per second, raised step by step), applicants arrive
at random moments (a Poisson process) for `--duration` seconds, whether or not earlier ones are
done. Each is signed in already (log-ins are measured apart, bench_login.py), opens a new
connection, as a browser tab does, and keeps it alive across its pages: it reads the call page,
opens the apply page, creates the draft, opens and saves step 1, saves step 2 with a 1 MiB
upload, opens the check page, submits and opens the receipt, thinking 2-5 s (uniform; --think)
before every page after the first.

Per rate it prints arrivals, completed flows, p50/p95/p99 of the requests started between
`--warmup` and `--duration` seconds (the crowd on the site has reached its steady size by then:
a flow takes about 30 s), the p99 of first requests on a new connection (connecting included)
and of requests on a reused one, 5xx, the largest accept queue seen (connections waiting for a
server to take them), server CPU per completed flow and the cores the servers used. A rate holds
when the p99 is under 1 s, no response is 5xx, every applicant got a receipt and the database
check finds every accepted submission complete (bench_rush's check). The rates go up until one
does not hold (`--all`: all of them); the highest that held is printed in applicants per minute,
against the target of 1,200 per minute (20 per second) on SQLite.

The servers are started with `grants serve`, as operators start them; `--server-env` passes
variables to them only (e.g. GRANTS_DATABASE_URL), and PYTHONPATH runs the servers on the tree
the bench is in, so a git worktree of a variant measures that variant (with and without a piece
of machinery: docs/operations.md). Everything runs on loopback, bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import deque
from dataclasses import dataclass

import uvloop
from common import (
    CALL,
    DRAIN_S,
    SERVE_MODES,
    LeanClient,
    Servers,
    Stage,
    append_summary,
    bench_environment,
    cleanup,
    log_in,
    machine_line,
    machine_loop_seconds,
    machine_use,
    parse_server_env,
    percentile,
    prepare,
    run_open_loop,
    rush_steps,
    start_servers,
    upload_payload,
    verdict,
    verify,
    visitor_timing,
)

TARGET_PER_MINUTE = 1200
P99_LIMIT_S = 1.0
REQUEST_TIMEOUT_S = 60.0


class Pool:
    """Signed-in applicants' cookies. A visit takes one nobody is using if there is one, else
    shares one with a visit in progress (counted); each visit has its own copy of the cookies.
    The pool is smaller than the crowd because each log-in costs argon2id's CPU; with sessions
    in signed cookies a shared applicant costs the server nothing more (with sessions in a
    table, two visits would read and write one row)."""

    def __init__(self, cookies: list[dict[str, str]]) -> None:
        self.cookies = cookies
        self.free = deque(range(len(cookies)))
        self.in_use = [0] * len(cookies)
        self.shared = 0
        self._next = 0

    def take(self) -> int:
        if self.free:
            number = self.free.popleft()
        else:
            self.shared += 1
            number = self._next = (self._next + 1) % len(self.cookies)
        self.in_use[number] += 1
        return number

    def give_back(self, number: int) -> None:
        self.in_use[number] -= 1
        if self.in_use[number] == 0:
            self.free.append(number)


async def sign_in(servers: Servers, applicants: int) -> list[dict[str, str]]:
    """Log every applicant in, 8 at a time, and keep their cookies."""
    gate = asyncio.Semaphore(8)

    async def plain(step: str, call):
        return await call

    async def one(number: int) -> dict[str, str]:
        async with gate:
            client = LeanClient("127.0.0.1", servers.port_for(number))
            try:
                if not await log_in(client, number, plain):
                    raise RuntimeError(f"applicant {number} could not log in")
                return dict(client.cookies)
            finally:
                await client.aclose()

    return list(await asyncio.gather(*(one(n) for n in range(applicants))))


@dataclass
class Plan:
    think: tuple[float, float]
    duration: float
    warmup: float
    seed: int


async def run_stage(
    index: int,
    rate: float,
    servers: Servers,
    pool: Pool,
    plan: Plan,
    payload: bytes,
) -> tuple[Stage, dict]:
    """One rate: arrivals for `duration` s, then the flows still going are waited for."""
    stage = Stage(rate)
    think_rng = random.Random(plan.seed * 1000 + index)

    async def visit(number: int, moment: float) -> str | None:
        applicant = pool.take()
        client = LeanClient("127.0.0.1", servers.port_for(number))
        client.cookies = dict(pool.cookies[applicant])
        timed = visitor_timing(stage, client, think_rng, plan.think, REQUEST_TIMEOUT_S)

        try:
            await timed("GET call", client.get(CALL))
            title = f"Cap{index} {number}"
            return await rush_steps(client, applicant, payload, timed, title=title)
        except Exception as exc:  # any failure of a flow is counted, the others go on
            stage.error(exc)
            return None
        finally:
            pool.give_back(applicant)
            await client.aclose()

    shared_before = pool.shared
    seed = plan.seed + index
    measured = await run_open_loop(servers, stage, visit, plan.duration, plan.warmup, seed)
    measured["accepted"] = {r for r in measured.pop("results") if isinstance(r, str)}
    measured["shared"] = pool.shared - shared_before
    return stage, measured


def summarise(stage: Stage, measured: dict, check: dict, plan: Plan) -> dict:
    window = stage.window(plan.warmup, plan.duration)
    latencies = [r.latency for r in window]
    completed = len(measured["accepted"])
    fives = sum(1 for r in stage.requests if r.status >= 500)
    errors = sum(stage.errors.values())
    p99 = percentile(latencies, 0.99)
    steps: dict[str, list[float]] = {}
    for record in window:
        steps.setdefault(record.step, []).append(record.latency)
    held = (
        bool(latencies)
        and p99 < P99_LIMIT_S
        and fives == 0
        and errors == 0
        and measured["unfinished"] == 0
        and completed == measured["arrivals"]
        and check["lost"] == 0
        and check["half_written"] == 0
    )
    return {
        "rate": stage.rate,
        "arrivals": measured["arrivals"],
        "completed": completed,
        "unfinished": measured["unfinished"],
        "requests": len(latencies),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": p99,
        "p99_new": percentile([r.latency for r in window if r.fresh], 0.99),
        "p99_reused": percentile([r.latency for r in window if not r.fresh], 0.99),
        "5xx": fives,
        "errors": errors,
        "error_kinds": stage.errors,
        "queue": stage.max_accept_queue,
        "server_ms_per_flow": 1000 * measured["server_cpu_s"] / max(completed, 1),
        "client_ms_per_flow": 1000 * measured["client_cpu_s"] / max(completed, 1),
        "cores": measured["cores"],
        "shared": measured["shared"],
        "machine": measured["machine"],
        "p99_by_step": {step: percentile(values, 0.99) for step, values in steps.items()},
        **check,
        "held": held,
    }


HEADER = (
    f"{'rate/s':>7}{'/min':>6}{'arrived':>8}{'done':>6}{'p50':>7}{'p95':>7}{'p99':>7}"
    f"{'p99new':>8}{'p99re':>7}{'5xx':>5}{'queue':>6}{'ms/flow':>8}  {'cores':<11}{'held':>5}"
)


def row(result: dict) -> str:
    cores = "+".join(f"{c:.2f}" for c in result["cores"]) or "-"
    return (
        f"{result['rate']:>7g}{result['rate'] * 60:>6.0f}{result['arrivals']:>8}"
        f"{result['completed']:>6}{result['p50']:>7.2f}{result['p95']:>7.2f}{result['p99']:>7.2f}"
        f"{result['p99_new']:>8.2f}{result['p99_reused']:>7.2f}{result['5xx']:>5}"
        f"{result['queue']:>6}{result['server_ms_per_flow']:>8.1f}  {cores:<11}"
        f"{'yes' if result['held'] else 'NO':>5}"
    )


def details(result: dict) -> str:
    steps = ", ".join(f"{step} {p99:.2f}" for step, p99 in result["p99_by_step"].items())
    lines = [
        f"    p99 by step (s): {steps}",
        f"    {result['requests']} requests in the window; load generator "
        f"{result['client_ms_per_flow']:.1f} ms of CPU per flow; {result['shared']} visits "
        "shared a signed-in applicant with a visit in progress",
        f"    {machine_use(result['machine'])}; the 5-million-additions loop took "
        f"{result['loop_seconds']:.2f} s just before",
        f"    database: {result['submitted_in_db']} submitted, {result['accepted_by_http']} "
        f"receipts, lost {result['lost']}, half-written {result['half_written']}, "
        f".part files left {result['part_files_left']}",
    ]
    if result["errors"] or result["unfinished"]:
        lines.append(
            f"    flows failed: {result['errors']} {result['error_kinds']}; "
            f"unfinished {DRAIN_S:.0f} s after the last arrival: {result['unfinished']}"
        )
    return "\n".join(lines)


async def run(options: argparse.Namespace) -> list[dict]:
    plan = Plan(tuple(options.think), options.duration, options.warmup, options.seed)
    environ, schema = await bench_environment(options.backend, "capacity")
    await prepare(environ, options.pool)
    # The keep-alive timeout outlasts the longest think time, so a visitor's connection is not
    # closed under it between two pages (uvicorn's default 5 s equals --think's upper bound).
    keep_alive = max(30, int(plan.think[1] * 2))
    servers = start_servers(
        environ, options.processes, options.serve_mode, keep_alive, options.server_env
    )
    results = []
    try:
        print(f"servers: {servers.described()}")
        if options.server_env:
            print(f"server environment: {options.server_env}")
        started = time.perf_counter()
        pool = Pool(await sign_in(servers, options.pool))
        print(
            f"{options.pool} applicants signed in beforehand in "
            f"{time.perf_counter() - started:.0f} s (not measured here: bench_login.py)"
        )
        print(
            f"each rate: arrivals for {plan.duration:g} s, statistics over requests started "
            f"from {plan.warmup:g} s to {plan.duration:g} s; think time "
            f"{plan.think[0]:g}-{plan.think[1]:g} s; latencies in seconds"
        )
        print(HEADER)
        payload = upload_payload()
        for index, rate in enumerate(options.rates):
            # This machine's speed changes from minute to minute (a shared virtual machine).
            loop_seconds = machine_loop_seconds()
            stage, measured = await run_stage(index, rate, servers, pool, plan, payload)
            check = await verify(environ, measured["accepted"], f"Cap{index} ")
            result = summarise(stage, measured, check, plan)
            result["loop_seconds"] = loop_seconds
            results.append(result)
            print(row(result))
            print(details(result), flush=True)
            if not result["held"] and not options.all:
                break
            await asyncio.sleep(2)
    finally:
        servers.stop()
        await cleanup(environ, schema)
    return results


def conclusion(results: list[dict], options: argparse.Namespace) -> tuple[str, bool]:
    held = [r["rate"] for r in results if r["held"]]
    first_failed = next((r["rate"] for r in results if not r["held"]), None)
    best = 0.0
    for result in results:  # the highest rate before the first that did not hold
        if not result["held"]:
            break
        best = result["rate"]
    per_minute = best * 60
    ratio = per_minute / TARGET_PER_MINUTE
    conditions = [options.backend, f"{options.processes} process(es)", options.serve_mode]
    conditions += [f"{key}={value}" for key, value in options.server_env.items()]
    line = (
        f"highest rate that held: {best:g}/s = {per_minute:.0f} applicants per minute, "
        f"{ratio:.2f} x the target of {TARGET_PER_MINUTE}/min ({', '.join(conditions)})"
    )
    if first_failed is not None:
        line += f"; {first_failed:g}/s did not hold"
    elif held:
        line += "; every rate tried held: raise --rates"
    return line, ratio >= 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="server processes")
    parser.add_argument(
        "--serve-mode",
        choices=SERVE_MODES,
        default="ports",
        help="ports: one `grants serve` per port, visitors spread over them; reuseport: "
        "`grants serve --processes P` on one port",
    )
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[12, 14, 16, 18, 20, 22, 24],
        metavar="R",
        help="arrival rates to try, applicants per second, in rising order",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of arrivals per rate")
    parser.add_argument(
        "--warmup",
        type=float,
        default=30,
        help="requests started before this second of a rate are left out of its statistics",
    )
    parser.add_argument(
        "--think", type=float, nargs=2, default=[2.0, 5.0], metavar=("LO", "HI"), help="seconds"
    )
    parser.add_argument(
        "--pool", type=int, default=200, help="applicants signed in beforehand, reused by visits"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for the servers only (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--all", action="store_true", help="go on after a rate that did not hold")
    parser.add_argument("--summary", metavar="FILE", help="append the result line to FILE")
    options = parser.parse_args()
    options.server_env = parse_server_env(options.server_env)
    if not 0 <= options.warmup < options.duration:
        parser.error("--warmup must be below --duration")
    print(machine_line())
    results = uvloop.run(run(options))
    line, met = conclusion(results, options)
    print(f"\n{line}")
    target = options.backend == "sqlite"
    mark = verdict(met) if target else "    "
    append_summary(options.summary, [f"capacity: {mark} {line}"])
    return 1 if target and not met else 0


if __name__ == "__main__":
    sys.exit(main())
