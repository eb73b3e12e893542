"""What order of the waiting line gives the rush its lowest p99? A model, not a measurement.

Run: `.venv/bin/python tests/bench/line_order.py [COST_MS ...]`: the eight steps' CPU costs in
milliseconds (server plus load generator, as `bench_rush.py` prints them measured alone; the
defaults are one run on a machine whose pure-Python loop took 0.32 s). 500 applicants start at
the same instant and make their eight requests with no pause; two cores serve one line. Each
order is simulated and its p50 and p99 printed.

Why: in the rush everyone is at the same step at once, so a first-come line makes each request
wait for the whole crowd's copy of its step. Serving some applicants first spreads the crowd
over the steps, but makes the others wait longer still; this shows by how much.
"""

from __future__ import annotations

import heapq
import random
import statistics
import sys
from collections.abc import Callable

APPLICANTS = 500
CORES = 2
DEFAULT_COSTS_MS = [4.6, 5.2, 7.2, 2.6, 10.2, 3.8, 4.8, 4.6]

# An order is a sort key for a waiting request:
# (its step, that step's cost, applicant, arrival, rng).
Order = Callable[[int, float, int, float, random.Random], tuple[float, ...]]

ORDERS: dict[str, Order] = {
    "first come": lambda step, cost, applicant, arrived, rng: (arrived,),
    "random": lambda step, cost, applicant, arrived, rng: (rng.random(),),
    "cheapest step first": lambda step, cost, applicant, arrived, rng: (cost, arrived),
    "costliest step first": lambda step, cost, applicant, arrived, rng: (-cost, arrived),
    "furthest applicant first": lambda step, cost, applicant, arrived, rng: (-step, arrived),
    "same applicants first": lambda step, cost, applicant, arrived, rng: (applicant, arrived),
}


def simulate(order: Order, costs: list[float], seed: int = 1) -> tuple[float, list[float]]:
    """The rush's duration and every request's latency, in seconds."""
    rng = random.Random(seed)
    line: list[tuple[tuple[float, ...], int, int, int, float]] = []
    running: list[tuple[float, int, int, float]] = []
    latencies: list[float] = []
    now, count, idle = 0.0, 0, CORES

    def arrive(applicant: int, step: int, at: float) -> None:
        nonlocal count
        count += 1
        heapq.heappush(
            line, (order(step, costs[step], applicant, at, rng), count, applicant, step, at)
        )

    for applicant in range(APPLICANTS):
        arrive(applicant, 0, rng.random() / 1000)
    while line or running:
        while idle and line:
            _, _, applicant, step, arrived = heapq.heappop(line)
            idle -= 1
            heapq.heappush(
                running, (max(now, arrived) + costs[step] / 1000, applicant, step, arrived)
            )
        now, applicant, step, arrived = heapq.heappop(running)
        idle += 1
        latencies.append(now - arrived)
        if step + 1 < len(costs):
            arrive(applicant, step + 1, now)
    return now, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    costs = [float(value) for value in sys.argv[1:]] or DEFAULT_COSTS_MS
    print(
        f"{APPLICANTS} applicants, {CORES} cores, step costs {costs} ms; "
        f"the costliest step alone sets a floor of {APPLICANTS * max(costs) / 1000 / CORES:.2f} s"
    )
    for name, order in ORDERS.items():
        duration, latencies = simulate(order, costs)
        print(
            f"{name:<26} rush {duration:5.2f} s   p50 {percentile(latencies, 0.5):5.2f} s   "
            f"p99 {percentile(latencies, 0.99):5.2f} s   mean {statistics.fmean(latencies):5.2f} s"
        )


if __name__ == "__main__":
    main()
