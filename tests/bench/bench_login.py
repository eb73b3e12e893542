"""Log-ins arriving at random: the highest rate whose log-in p99 stays under 1 s.

Run: `.venv/bin/python tests/bench/bench_login.py [--backend sqlite|postgres] [--processes P]
[--serve-mode ports|reuseport] [--rates R ...] [--duration S] [--warmup S] [--think LO HI]
[--accounts N] [--server-env KEY=VALUE ...] [--seed N] [--all] [--summary FILE]`.

Open loop: at each rate R (log-ins per second, raised step by step) visitors arrive at random
moments (a Poisson process) for `--duration` seconds. Each opens a new connection, gets the
log-in page, types for 2-5 s (uniform; --think) and posts the right password (argon2id verifies
it, on purpose costly). Accounts are taken in turn from `--accounts` prepared ones. Per rate it
prints p50/p99 of the page and of the log-in post (requests started from `--warmup` to
`--duration` s), 5xx, failed log-ins, the servers' CPU per log-in and the cores they used. A rate
holds when the post's p99 is under 1 s, nothing is 5xx and every log-in succeeds. Target: at
least 5 log-ins per second.
"""

from __future__ import annotations

import argparse
import random
import sys

import uvloop
from common import (
    DRAIN_S,
    SERVE_MODES,
    LeanClient,
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
    start_servers,
    verdict,
    visitor_timing,
)

TARGET_PER_S = 5.0
P99_LIMIT_S = 1.0


async def run_stage(index: int, rate: float, servers, options: argparse.Namespace) -> dict:
    stage = Stage(rate)
    think_rng = random.Random(options.seed * 1000 + index)

    async def visit(number: int, moment: float) -> bool:
        account = (index * 100_003 + number) % options.accounts
        client = LeanClient("127.0.0.1", servers.port_for(number))
        timed = visitor_timing(stage, client, think_rng, tuple(options.think))
        try:
            return await log_in(client, account, timed)
        except Exception as exc:  # counted; the other visits go on
            stage.error(exc)
            return False
        finally:
            await client.aclose()

    measured = await run_open_loop(
        servers, stage, visit, options.duration, options.warmup, options.seed + index
    )
    window = stage.window(options.warmup, options.duration)
    pages = [r.latency for r in window if r.step == "GET login"]
    posts = [r.latency for r in window if r.step == "POST login"]
    succeeded = sum(1 for result in measured["results"] if result is True)
    fives = sum(1 for r in stage.requests if r.status >= 500)
    p99 = percentile(posts, 0.99)
    return {
        "rate": rate,
        "arrivals": measured["arrivals"],
        "succeeded": succeeded,
        "page_p50": percentile(pages, 0.5),
        "page_p99": percentile(pages, 0.99),
        "p50": percentile(posts, 0.5),
        "p99": p99,
        "posts": len(posts),
        "5xx": fives,
        "errors": stage.errors,
        "unfinished": measured["unfinished"],
        "queue": stage.max_accept_queue,
        "server_ms_per_login": 1000 * measured["server_cpu_s"] / max(succeeded, 1),
        "cores": measured["cores"],
        "machine": measured["machine"],
        "held": bool(posts)
        and p99 < P99_LIMIT_S
        and fives == 0
        and succeeded == measured["arrivals"],
    }


HEADER = (
    f"{'rate/s':>7}{'arrived':>8}{'ok':>6}{'page p50':>9}{'p99':>6}{'log-in p50':>11}{'p99':>6}"
    f"{'5xx':>5}{'queue':>6}{'CPU ms/log-in':>14}  {'cores':<11}{'held':>5}"
)


def row(result: dict) -> str:
    cores = "+".join(f"{c:.2f}" for c in result["cores"]) or "-"
    line = (
        f"{result['rate']:>7g}{result['arrivals']:>8}{result['succeeded']:>6}"
        f"{result['page_p50']:>9.2f}{result['page_p99']:>6.2f}{result['p50']:>11.2f}"
        f"{result['p99']:>6.2f}{result['5xx']:>5}{result['queue']:>6}"
        f"{result['server_ms_per_login']:>14.0f}  {cores:<11}{'yes' if result['held'] else 'NO':>5}"
    )
    line += (
        f"\n    {machine_use(result['machine'])}; the 5-million-additions loop took "
        f"{result['loop_seconds']:.2f} s just before"
    )
    if result["errors"] or result["unfinished"]:
        line += (
            f"\n    failed: {result['errors']}; unfinished {DRAIN_S:.0f} s after the last "
            f"arrival: {result['unfinished']}"
        )
    return line


async def run(options: argparse.Namespace) -> list[dict]:
    environ, schema = await bench_environment(options.backend, "login")
    await prepare(environ, options.accounts)
    servers = start_servers(environ, options.processes, options.serve_mode, 30, options.server_env)
    results = []
    try:
        print(f"servers: {servers.described()}")
        if options.server_env:
            print(f"server environment: {options.server_env}")
        print(
            f"each rate: arrivals for {options.duration:g} s, statistics over requests started "
            f"from {options.warmup:g} s to {options.duration:g} s; typing "
            f"{options.think[0]:g}-{options.think[1]:g} s between page and post; seconds"
        )
        print(HEADER)
        for index, rate in enumerate(options.rates):
            loop_seconds = machine_loop_seconds()  # the machine's speed changes by the minute
            result = await run_stage(index, rate, servers, options)
            result["loop_seconds"] = loop_seconds
            results.append(result)
            print(row(result), flush=True)
            if not result["held"] and not options.all:
                break
    finally:
        servers.stop()
        await cleanup(environ, schema)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="server processes")
    parser.add_argument("--serve-mode", choices=SERVE_MODES, default="ports")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[3, 4, 5, 6, 7, 8],
        metavar="R",
        help="log-ins per second to try, in rising order",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of arrivals per rate")
    parser.add_argument(
        "--warmup", type=float, default=10, help="seconds left out of each rate's statistics"
    )
    parser.add_argument(
        "--think", type=float, nargs=2, default=[2.0, 5.0], metavar=("LO", "HI"), help="seconds"
    )
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--all", action="store_true", help="go on after a rate that did not hold")
    parser.add_argument("--summary", metavar="FILE", help="append the result line to FILE")
    options = parser.parse_args()
    options.server_env = parse_server_env(options.server_env)
    if not 0 <= options.warmup < options.duration:
        parser.error("--warmup must be below --duration")
    print(machine_line())
    results = uvloop.run(run(options))
    best = 0.0
    for result in results:  # the highest rate before the first that did not hold
        if not result["held"]:
            break
        best = result["rate"]
    cpu = [r["server_ms_per_login"] for r in results if r["succeeded"]]
    line = (
        f"highest log-in rate that held (p99 < {P99_LIMIT_S:g} s): {best:g}/s, target "
        f"{TARGET_PER_S:g}/s, ratio {best / TARGET_PER_S:.2f}; server CPU per log-in "
        f"{min(cpu, default=0):.0f}-{max(cpu, default=0):.0f} ms ({options.backend}, "
        f"{options.processes} process(es), {options.serve_mode})"
    )
    if results and all(r["held"] for r in results):
        line += "; every rate tried held: raise --rates"
    print(f"\n{line}")
    met = best >= TARGET_PER_S
    append_summary(options.summary, [f"log-ins: {verdict(met)} {line}"])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
