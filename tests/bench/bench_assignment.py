"""Benchmark: 10,000 applications × 500 jurors × 3 reviews must solve in under 10 s.

Run with `.venv/bin/python tests/bench/bench_assignment.py` (not collected by pytest).

Instance (seeded, reproducible):
* every juror: max_load 70, min_load 50 (capacity 35,000 ≥ 30,000 reviews ≥ 25,000 minimum);
* 5 % of all juror/application pairs are conflicts (≈ 250,000);
* affinity is given for a random 10 % of pairs (≈ 500,000, uniform 0..1); every
  other non-conflicted pair is still eligible with affinity 0, so the network has
  all ≈ 4.75 million juror->application arcs;
* 1 % of applications already have one pinned reviewer (re-run scenario).

Prints instance generation time (not counted), then the solver's prepare/build/flow
times, the total against the 10 s target, and verifies the solution independently.
Exits non-zero if the target is missed or any constraint is violated.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from grants.solver import Application, Juror, Problem, solve_with_stats

TARGET_SECONDS = 10.0


def make_problem(
    *,
    n_applications: int,
    n_jurors: int,
    k: int,
    conflict_rate: float,
    affinity_rate: float,
    seed: int,
) -> Problem:
    """A random instance; the same seed always gives the same instance."""
    rng = np.random.default_rng(seed)
    juror_ids = [f"J{j:04d}" for j in range(n_jurors)]
    app_ids = [f"EPP-2027-{a:05d}" for a in range(n_applications)]
    n_pairs = n_jurors * n_applications

    conflict_flat = rng.choice(n_pairs, size=int(conflict_rate * n_pairs), replace=False)
    conflict_mask = np.zeros(n_pairs, dtype=bool)
    conflict_mask[conflict_flat] = True
    conflicts = frozenset(
        (juror_ids[f // n_applications], app_ids[f % n_applications])
        for f in conflict_flat.tolist()
    )

    affinity_flat = rng.choice(n_pairs, size=int(affinity_rate * n_pairs), replace=False)
    values = rng.random(len(affinity_flat))
    affinity = {
        (juror_ids[f // n_applications], app_ids[f % n_applications]): v
        for f, v in zip(affinity_flat.tolist(), values.tolist(), strict=True)
    }

    # Re-run scenario: a few reviews already started and must be kept.
    pinned = set()
    for a in rng.choice(n_applications, size=n_applications // 100, replace=False).tolist():
        for j in rng.permutation(n_jurors).tolist():
            if not conflict_mask[j * n_applications + a]:
                pinned.add((juror_ids[j], app_ids[a]))
                break

    return Problem(
        reviews_per_application=k,
        jurors=tuple(Juror(id=j, max_load=70, min_load=50) for j in juror_ids),
        applications=tuple(Application(id=a) for a in app_ids),
        affinity=affinity,
        conflicts=conflicts,
        pinned=frozenset(pinned),
    )


def verify(problem: Problem, assignments: tuple[tuple[str, str], ...]) -> list[str]:
    """Independent constraint check; returns the violations found."""
    errors: list[str] = []
    k = problem.reviews_per_application
    if len(set(assignments)) != len(assignments):
        errors.append("duplicate (juror, application) pairs")
    per_app: dict[str, int] = {a.id: 0 for a in problem.applications}
    per_juror: dict[str, int] = {j.id: 0 for j in problem.jurors}
    for juror, app in set(assignments):
        per_app[app] += 1
        per_juror[juror] += 1
    bad_apps = [a for a, n in per_app.items() if n != k]
    if bad_apps:
        errors.append(
            f"{len(bad_apps)} applications without exactly {k} jurors, e.g. {bad_apps[0]}"
        )
    bad_jurors = [j.id for j in problem.jurors if not j.min_load <= per_juror[j.id] <= j.max_load]
    if bad_jurors:
        errors.append(f"{len(bad_jurors)} jurors outside their load bounds, e.g. {bad_jurors[0]}")
    conflicted = problem.conflicts & set(assignments)
    if conflicted:
        errors.append(f"{len(conflicted)} conflicted pairs assigned")
    missing_pins = problem.pinned - set(assignments)
    if missing_pins:
        errors.append(f"{len(missing_pins)} pinned pairs dropped")
    return errors


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit code 0 only if fast enough and correct."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--jurors", type=int, default=500)
    parser.add_argument("--reviews", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    problem = make_problem(
        n_applications=args.applications,
        n_jurors=args.jurors,
        k=args.reviews,
        conflict_rate=0.05,
        affinity_rate=0.10,
        seed=args.seed,
    )
    generated = time.perf_counter() - started
    print(
        f"instance: {args.applications} applications × {args.jurors} jurors × {args.reviews} "
        f"reviews, {len(problem.conflicts)} conflicts, {len(problem.affinity)} affinities, "
        f"{len(problem.pinned)} pinned (generated in {generated:.2f} s, not counted)"
    )

    solution, stats = solve_with_stats(problem)
    build = stats.prepare_seconds + stats.build_seconds
    total = stats.total_seconds
    print(f"network: {stats.num_nodes} nodes, {stats.num_arcs} arcs")
    print(
        f"build:   {build:.2f} s (validate/index {stats.prepare_seconds:.2f} s "
        f"+ arcs {stats.build_seconds:.2f} s)"
    )
    print(f"solve:   {stats.flow_seconds:.2f} s (OR-Tools SimpleMinCostFlow)")
    print(
        f"total:   {total:.2f} s, target < {TARGET_SECONDS:.0f} s, "
        f"ratio {total / TARGET_SECONDS:.2f}"
    )
    print(
        f"result:  {len(solution.assignments)} assignments, "
        f"total affinity {solution.total_affinity:.3f}"
    )

    errors = verify(problem, solution.assignments)
    for error in errors:
        print(f"FAIL: {error}")
    if total >= TARGET_SECONDS:
        print("FAIL: slower than target")
    ok = not errors and total < TARGET_SECONDS
    print("OK" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
