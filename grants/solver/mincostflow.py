"""Optimal reviewer assignment as a min-cost flow (OR-Tools SimpleMinCostFlow).

Network (node numbers are stable: ids are sorted first, so equal input gives equal
output)::

    source --[load arc]--> juror --[cap 1, cost -affinity]--> application --[cap k]--> sink

* Pinned pairs are pre-assigned: they are removed from the network, reduce the
  application's remaining demand and the juror's remaining capacity.
* Minimum loads are exact lower bounds on the source->juror arcs, handled with the
  textbook transformation (arc capacity max-min, the juror node gets supply min).
* Affinities are floats; the solver needs integers, so costs are
  ``round(affinity * AFFINITY_SCALE)``. The reported total is recomputed from the
  original floats.

When the exact problem has no solution, a second "diagnostic" flow (maximum flow,
then maximum satisfaction of minimum loads) explains why in organiser terms.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from grants.solver.model import Infeasible, Juror, Pair, Problem, Solution

AFFINITY_SCALE = 1_000_000
"""Affinities are rounded to multiples of 1/AFFINITY_SCALE (six decimals) for the solver."""

MAX_ABS_AFFINITY = 1_000_000.0
"""Larger magnitudes could overflow the solver's 64-bit cost arithmetic once scaled."""

MAX_LISTED = 20
"""Long lists in reasons are cut after this many items so messages stay readable."""


@dataclass(frozen=True, slots=True)
class SolveStats:
    """Where the time went, for logs and the benchmark."""

    prepare_seconds: float
    build_seconds: float
    flow_seconds: float
    num_nodes: int
    num_arcs: int

    @property
    def total_seconds(self) -> float:
        """Wall time of the whole solve."""
        return self.prepare_seconds + self.build_seconds + self.flow_seconds


def scaled_affinity(value: float) -> int:
    """The integer the solver optimises for an affinity (round half to even)."""
    return int(round(value * AFFINITY_SCALE))


def solve(problem: Problem) -> Solution:
    """Return an assignment of maximal total affinity or raise `Infeasible` with reasons."""
    solution, _ = solve_with_stats(problem)
    return solution


def check(problem: Problem) -> list[str]:
    """Reasons found without solving (empty does not guarantee feasibility)."""
    _, reasons = _prepare(problem)
    return reasons


def solve_with_stats(problem: Problem) -> tuple[Solution, SolveStats]:
    """`solve`, also returning timings and network size."""
    started = time.perf_counter()
    prep, reasons = _prepare(problem)
    if reasons:
        raise Infeasible(reasons)
    prepared = time.perf_counter()

    network = _build(prep, diagnostic=False)
    built = time.perf_counter()
    status = network.flow.solve()
    solved = time.perf_counter()
    stats = SolveStats(
        prepare_seconds=prepared - started,
        build_seconds=built - prepared,
        flow_seconds=solved - built,
        num_nodes=network.num_nodes,
        num_arcs=int(network.flow.num_arcs()),
    )

    if status == SimpleMinCostFlow.INFEASIBLE:
        raise Infeasible(_diagnose(prep))
    _check_status(status)
    used = _used_pairs(network)
    assignments = sorted(
        list(problem.pinned)
        + [
            (prep.juror_ids[j], prep.application_ids[a])
            for j, a in zip(
                network.pair_jurors[used].tolist(), network.pair_apps[used].tolist(), strict=True
            )
        ]
    )
    total = math.fsum(problem.affinity.get(pair, 0.0) for pair in assignments)
    return Solution(assignments=tuple(assignments), total_affinity=total), stats


# --------------------------------------------------------------------------- preparation


@dataclass(slots=True)
class _Prepared:
    k: int
    juror_ids: list[str]
    application_ids: list[str]
    max_load: np.ndarray  # (J,) int64
    min_load: np.ndarray  # (J,) int64
    eligible: np.ndarray  # (J, A) bool: may be assigned by the solver (not conflicted, not pinned)
    cost: np.ndarray  # (J, A) int64 scaled affinity
    pinned_per_juror: np.ndarray  # (J,) int64
    pinned_per_app: np.ndarray  # (A,) int64

    @property
    def capacity(self) -> np.ndarray:
        """Juror loads still available after pinned reviews."""
        return self.max_load - self.pinned_per_juror

    @property
    def min_remaining(self) -> np.ndarray:
        """Juror minimum loads still to be reached after pinned reviews."""
        return np.maximum(0, self.min_load - self.pinned_per_juror)

    @property
    def need(self) -> np.ndarray:
        """Reviewers each application still needs after pinned reviews."""
        return self.k - self.pinned_per_app

    @property
    def demand(self) -> int:
        return int(self.need.sum())


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        shown += f" and {len(items) - MAX_LISTED} more"
    return shown


def _capped(reasons: list[str], what: str) -> list[str]:
    """Keep the first MAX_LISTED reasons of one kind and summarise the rest."""
    if len(reasons) <= MAX_LISTED:
        return reasons
    return reasons[:MAX_LISTED] + [f"... and {len(reasons) - MAX_LISTED} more {what}"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def _prepare(problem: Problem) -> tuple[_Prepared, list[str]]:
    """Index the problem into arrays and collect every reason found before solving."""
    reasons: list[str] = []
    k = problem.reviews_per_application
    if k < 1:
        reasons.append(f"reviews_per_application must be at least 1, got {k}")

    # Sorted, de-duplicated ids give stable node numbers (determinism).
    for kind, ids in (
        ("juror", [j.id for j in problem.jurors]),
        ("application", [a.id for a in problem.applications]),
    ):
        dups = _duplicates(ids)
        if dups:
            reasons.append(f"duplicate {kind} ids: {_listing(dups)}")
    jurors: dict[str, Juror] = {}
    for juror in problem.jurors:
        jurors.setdefault(juror.id, juror)
    juror_ids = sorted(jurors)
    application_ids = sorted({a.id for a in problem.applications})
    jidx = {j: i for i, j in enumerate(juror_ids)}
    aidx = {a: i for i, a in enumerate(application_ids)}
    n_j, n_a = len(juror_ids), len(application_ids)

    load_reasons = []
    for jid in juror_ids:
        juror = jurors[jid]
        if juror.max_load < 0:
            load_reasons.append(f"juror {jid} has negative max_load {juror.max_load}")
        if juror.min_load < 0:
            load_reasons.append(f"juror {jid} has negative min_load {juror.min_load}")
        if juror.max_load < juror.min_load:
            load_reasons.append(
                f"juror {jid} has max_load {juror.max_load} below min_load {juror.min_load}"
            )
    reasons += _capped(load_reasons, "jurors with invalid loads")
    max_load = np.array([jurors[j].max_load for j in juror_ids], dtype=np.int64)
    min_load = np.array([jurors[j].min_load for j in juror_ids], dtype=np.int64)

    def unknown(kind: str, pairs: Iterable[Pair]) -> list[str]:
        found = []
        # Sorting only the offenders keeps this cheap for 10^6 valid pairs.
        for juror, app in sorted(p for p in pairs if p[0] not in jidx or p[1] not in aidx):
            missing = []
            if juror not in jidx:
                missing.append(f"unknown juror {juror}")
            if app not in aidx:
                missing.append(f"unknown application {app}")
            if missing:
                found.append(f"{kind} ({juror}, {app}) names {' and '.join(missing)}")
        return _capped(found, f"{kind} pairs with unknown ids")

    reasons += unknown("conflict", problem.conflicts)
    reasons += unknown("pinned pair", problem.pinned)
    reasons += unknown("affinity", problem.affinity.keys())

    conflicted = np.zeros((n_j, n_a), dtype=bool)
    for juror, app in problem.conflicts:
        if juror in jidx and app in aidx:
            conflicted[jidx[juror], aidx[app]] = True

    pinned = np.zeros((n_j, n_a), dtype=bool)
    pin_conflicts = []
    for juror, app in sorted(problem.pinned):
        if juror in jidx and app in aidx:
            pinned[jidx[juror], aidx[app]] = True
            if conflicted[jidx[juror], aidx[app]]:
                pin_conflicts.append(f"pinned pair ({juror}, {app}) is also a conflict")
    reasons += _capped(pin_conflicts, "pinned pairs that are also conflicts")

    # Affinity: validate, then fill a dense cost matrix in one vectorised step.
    cost = np.zeros((n_j, n_a), dtype=np.int64)
    bad_values = []
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for (juror, app), value in problem.affinity.items():
        if not math.isfinite(value) or abs(value) > MAX_ABS_AFFINITY:
            bad_values.append(
                f"affinity ({juror}, {app}) is {value!r}; it must be finite and at most "
                f"{MAX_ABS_AFFINITY:g} in magnitude"
            )
        elif juror in jidx and app in aidx:
            rows.append(jidx[juror])
            cols.append(aidx[app])
            values.append(float(value))
    reasons += _capped(sorted(bad_values), "invalid affinities")
    if values:
        # np.rint rounds half to even like `scaled_affinity`, so tests can reproduce costs.
        cost[rows, cols] = np.rint(np.asarray(values) * AFFINITY_SCALE).astype(np.int64)

    pinned_per_juror = pinned.sum(axis=1, dtype=np.int64)
    pinned_per_app = pinned.sum(axis=0, dtype=np.int64)
    over_pinned = [
        f"juror {juror_ids[j]} is pinned to {pinned_per_juror[j]} applications "
        f"but max_load is {max_load[j]}"
        for j in np.flatnonzero(pinned_per_juror > max_load)
    ]
    reasons += _capped(over_pinned, "over-pinned jurors")
    if k >= 1:
        over_pinned_apps = [
            f"application {application_ids[a]} has {pinned_per_app[a]} pinned jurors "
            f"but reviews_per_application is {k}"
            for a in np.flatnonzero(pinned_per_app > k)
        ]
        reasons += _capped(over_pinned_apps, "over-pinned applications")

    needed = k * n_a
    if k >= 1:
        capacity = int(np.maximum(max_load, 0).sum())
        if capacity < needed:
            reasons.append(
                f"total capacity {capacity} is less than the {needed} reviews needed "
                f"({n_a} applications × {k})"
            )
        min_total = int(np.maximum(min_load, 0).sum())
        if min_total > needed:
            reasons.append(f"sum of minimum loads {min_total} exceeds the {needed} reviews needed")
        elif pinned.any():
            # Pinned reviews may land on jurors who are already at their minimum.
            n_pinned = int(pinned.sum())
            still_min = int(np.maximum(0, min_load - pinned_per_juror).sum())
            still_needed = int(np.maximum(0, k - pinned_per_app).sum())
            if still_min > still_needed:
                reasons.append(
                    f"after the {n_pinned} pinned reviews, jurors still need {still_min} reviews "
                    f"to reach their minimum loads but only {still_needed} reviews remain to assign"
                )
        if k > n_j and n_a > 0:
            reasons.append(f"reviews_per_application {k} exceeds the number of jurors ({n_j})")

        # Per-application Hall condition for a single application: enough usable jurors.
        usable = ~conflicted & (max_load > 0)[:, None]
        per_app = usable.sum(axis=0)
        short_apps = [
            f"{application_ids[a]} has "
            + (
                f"only {_plural(int(per_app[a]), 'eligible juror')}"
                if per_app[a]
                else "no eligible juror"
            )
            + f" of the {k} required"
            for a in np.flatnonzero(per_app < k)
        ]
        reasons += _capped(short_apps, "applications with too few eligible jurors")

    per_juror = (~conflicted).sum(axis=1)
    short_jurors = [
        f"juror {juror_ids[j]} has min_load {min_load[j]} but may review only "
        f"{_plural(int(per_juror[j]), 'application')} (the others are conflicts or exclusions)"
        for j in np.flatnonzero(min_load > per_juror)
    ]
    reasons += _capped(short_jurors, "jurors who cannot reach their min_load")

    prep = _Prepared(
        k=k,
        juror_ids=juror_ids,
        application_ids=application_ids,
        max_load=max_load,
        min_load=min_load,
        eligible=~conflicted & ~pinned,
        cost=cost,
        pinned_per_juror=pinned_per_juror,
        pinned_per_app=pinned_per_app,
    )
    return prep, reasons


# --------------------------------------------------------------------------- network


@dataclass(slots=True)
class _Network:
    flow: SimpleMinCostFlow
    num_nodes: int
    pair_arcs: np.ndarray  # arc index of each juror->application arc
    pair_jurors: np.ndarray  # juror index of each such arc
    pair_apps: np.ndarray  # application index of each such arc
    min_arcs: np.ndarray  # diagnostic only: source->juror arcs carrying the minimum load
    sink_arcs: np.ndarray  # application->sink arcs


def _add_arcs(
    flow: SimpleMinCostFlow,
    *,
    tails: np.ndarray,
    heads: np.ndarray,
    capacities: np.ndarray,
    costs: np.ndarray,
) -> np.ndarray:
    """Vectorised arc creation; returns the new arc indices."""
    if len(tails) == 0:
        return np.zeros(0, dtype=np.int32)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.ascontiguousarray(tails, dtype=np.int32),
        np.ascontiguousarray(heads, dtype=np.int32),
        np.ascontiguousarray(capacities, dtype=np.int64),
        np.ascontiguousarray(costs, dtype=np.int64),
    )
    return np.asarray(arcs, dtype=np.int32)


def _build(prep: _Prepared, *, diagnostic: bool) -> _Network:
    """Build the flow network.

    Exact mode: lower bounds via supplies, costs = -scaled affinity; solved with
    `solve()`, which fails (INFEASIBLE) unless every constraint holds.
    Diagnostic mode: no affinities; each juror's source arc is split into a
    min-load part with cost -1 and the rest with cost 0, solved with
    `solve_max_flow_with_min_cost()`: the largest possible number of reviews, then
    as much of the minimum loads as possible among those.
    """
    n_j, n_a = len(prep.juror_ids), len(prep.application_ids)
    source, sink = 0, n_j + n_a + 1
    juror_nodes = np.arange(1, n_j + 1, dtype=np.int32)
    app_nodes = np.arange(n_j + 1, n_j + n_a + 1, dtype=np.int32)
    flow = SimpleMinCostFlow()
    capacity, min_rem, need = prep.capacity, prep.min_remaining, prep.need
    demand = prep.demand

    sources = np.full(n_j, source, dtype=np.int32)
    if diagnostic:
        min_arcs = _add_arcs(
            flow, tails=sources, heads=juror_nodes, capacities=min_rem, costs=np.full(n_j, -1)
        )
        _add_arcs(
            flow,
            tails=sources,
            heads=juror_nodes,
            capacities=capacity - min_rem,
            costs=np.zeros(n_j),
        )
    else:
        min_arcs = np.zeros(0, dtype=np.int32)
        _add_arcs(
            flow,
            tails=sources,
            heads=juror_nodes,
            capacities=capacity - min_rem,
            costs=np.zeros(n_j),
        )

    # Row-major nonzero keeps arcs in (juror, application) id order: deterministic.
    pair_jurors, pair_apps = np.nonzero(prep.eligible)
    pair_costs = np.zeros(len(pair_jurors), dtype=np.int64)
    if not diagnostic:
        pair_costs = -prep.cost[pair_jurors, pair_apps]
    pair_arcs = _add_arcs(
        flow,
        tails=juror_nodes[pair_jurors],
        heads=app_nodes[pair_apps],
        capacities=np.ones(len(pair_jurors), dtype=np.int64),
        costs=pair_costs,
    )
    sink_arcs = _add_arcs(
        flow,
        tails=app_nodes,
        heads=np.full(n_a, sink, dtype=np.int32),
        capacities=need,
        costs=np.zeros(n_a),
    )

    # Make sure every node exists even when it has no arcs (e.g. no eligible pairs).
    num_nodes = n_j + n_a + 2
    supplies = np.zeros(num_nodes, dtype=np.int64)
    if diagnostic:
        supplies[source] = demand
    else:
        supplies[source] = demand - int(min_rem.sum())
        supplies[juror_nodes] = min_rem
    supplies[sink] = -demand
    flow.set_nodes_supplies(np.arange(num_nodes, dtype=np.int32), supplies)
    return _Network(
        flow=flow,
        num_nodes=num_nodes,
        pair_arcs=pair_arcs,
        pair_jurors=pair_jurors,
        pair_apps=pair_apps,
        min_arcs=min_arcs,
        sink_arcs=sink_arcs,
    )


def _check_status(status: object) -> None:
    if status == SimpleMinCostFlow.OPTIMAL:
        return
    if status == SimpleMinCostFlow.BAD_COST_RANGE:
        raise OverflowError(
            "affinities too large for the solver's integer costs; rescale them (e.g. to 0..100)"
        )
    raise RuntimeError(f"min-cost flow solver failed with status {status}")


def _used_pairs(network: _Network) -> np.ndarray:
    if len(network.pair_arcs) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(network.flow.flows(network.pair_arcs)) > 0


# --------------------------------------------------------------------------- diagnosis


def _diagnose(prep: _Prepared) -> list[str]:
    """Explain why the exact flow is infeasible, in terms of applications and jurors."""
    network = _build(prep, diagnostic=True)
    status = network.flow.solve_max_flow_with_min_cost()
    _check_status(status)
    demand = prep.demand
    flow_value = int(network.flow.maximum_flow())
    used = _used_pairs(network)
    reasons: list[str] = []

    if flow_value < demand:
        k = prep.k
        received = np.asarray(network.flow.flows(network.sink_arcs), dtype=np.int64)
        total_assigned = flow_value + int(prep.pinned_per_app.sum())
        short = np.flatnonzero(received < prep.need)
        listed = [
            f"{prep.application_ids[a]} ({received[a] + prep.pinned_per_app[a]} of {k})"
            for a in short
        ]
        reasons.append(
            f"only {total_assigned} of the {k * len(prep.application_ids)} reviews can be assigned; "
            f"under-served in the best attempt: {_listing(listed)}"
        )
        reasons.append(_hall_group(prep, network, used=used, received=received))
    else:
        got = np.asarray(network.flow.flows(network.min_arcs), dtype=np.int64)
        short = np.flatnonzero(got < prep.min_remaining)
        if len(short):
            listed = [
                f"juror {prep.juror_ids[j]} at {got[j] + prep.pinned_per_juror[j]}"
                f" of min_load {prep.min_load[j]}"
                for j in short
            ]
            reasons.append(
                f"minimum loads cannot all be met while every application gets exactly "
                f"{_plural(prep.k, 'reviewer')}; the best attempt leaves {_listing(listed)}"
            )
    if not reasons:  # pragma: no cover - the diagnostic flow mirrors the exact one
        reasons.append("the solver found no assignment satisfying all constraints")
    return reasons


def _hall_group(
    prep: _Prepared, network: _Network, *, used: np.ndarray, received: np.ndarray
) -> str:
    """Name the smallest group of applications that shares too few jurors (min cut).

    Starting from under-served applications, follow alternating paths backwards in
    the residual graph: a juror joins if they could still review a group member, an
    application joins if such a juror already reviews it (that review could move).
    The fixpoint is the sink side of a minimum cut, so the group's remaining need
    exceeds what its eligible jurors can provide.
    """
    jurors, apps = network.pair_jurors, network.pair_apps
    in_group = received < prep.need
    while True:
        in_jurors = np.zeros(len(prep.juror_ids), dtype=bool)
        in_jurors[jurors[~used & in_group[apps]]] = True
        grown = in_group.copy()
        grown[apps[used & in_jurors[jurors]]] = True
        if (grown == in_group).all():
            break
        in_group = grown

    members = np.flatnonzero(in_group)
    need = int(prep.need[members].sum())
    # Each juror can give the group at most min(remaining capacity, eligible members).
    degree = np.bincount(jurors[in_group[apps]], minlength=len(prep.juror_ids))
    offer = np.minimum(np.maximum(prep.capacity, 0), degree)
    helpers = np.flatnonzero(degree > 0)
    names = [prep.application_ids[a] for a in members]
    helper_names = [prep.juror_ids[j] for j in helpers]
    subject = (
        f"application {names[0]} needs"
        if len(names) == 1
        else (f"applications {_listing(names)} together need")
    )
    jurors_text = (
        f"the jurors eligible for them ({_listing(helper_names)}) can take at most {int(offer.sum())}"
        if helper_names
        else "no juror with spare capacity is eligible for them"
    )
    return f"{subject} {need} more reviews but {jurors_text}"
