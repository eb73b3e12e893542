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
from collections.abc import Iterable, Mapping, Sequence
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
    """Index the problem into arrays and collect every reason found before solving.

    Reasons come in a fixed order: data errors (k, ids, loads, unknown ids, pinned
    conflicts, affinities), then pins beyond max_load or k, then the counting arguments.
    """
    k = problem.reviews_per_application
    jurors = _first_of_each(problem.jurors)
    index = _Index.of(jurors, (a.id for a in problem.applications))
    conflicted = index.matrix(problem.conflicts)
    pinned = index.matrix(problem.pinned)
    cost, affinity_reasons = _cost_matrix(problem.affinity, index)
    prep = _Prepared(
        k=k,
        juror_ids=index.juror_ids,
        application_ids=index.application_ids,
        max_load=np.array([jurors[j].max_load for j in index.juror_ids], dtype=np.int64),
        min_load=np.array([jurors[j].min_load for j in index.juror_ids], dtype=np.int64),
        eligible=~conflicted & ~pinned,
        cost=cost,
        pinned_per_juror=pinned.sum(axis=1, dtype=np.int64),
        pinned_per_app=pinned.sum(axis=0, dtype=np.int64),
    )
    reasons = [
        *_data_reasons(problem, jurors, index),
        *_pinned_conflict_reasons(problem, index),
        *affinity_reasons,
        *_over_pinned_reasons(prep),
        *_capacity_reasons(prep),
        *_coverage_reasons(prep, conflicted),
    ]
    return prep, reasons


def _first_of_each(jurors: Iterable[Juror]) -> dict[str, Juror]:
    """Each juror id with its first Juror (a repeated id is reported, not used)."""
    found: dict[str, Juror] = {}
    for juror in jurors:
        found.setdefault(juror.id, juror)
    return found


@dataclass(frozen=True, slots=True)
class _Index:
    """Sorted, de-duplicated ids and their positions: stable node numbers (determinism)."""

    juror_ids: list[str]
    application_ids: list[str]
    juror_pos: dict[str, int]
    app_pos: dict[str, int]

    @classmethod
    def of(cls, juror_ids: Iterable[str], application_ids: Iterable[str]) -> _Index:
        jurors = sorted(set(juror_ids))
        applications = sorted(set(application_ids))
        return cls(
            juror_ids=jurors,
            application_ids=applications,
            juror_pos={j: i for i, j in enumerate(jurors)},
            app_pos={a: i for i, a in enumerate(applications)},
        )

    def matrix(self, pairs: Iterable[Pair]) -> np.ndarray:
        """(J, A) bool: True at each pair with known ids (unknown ones are reasons elsewhere)."""
        juror_pos, app_pos = self.juror_pos, self.app_pos
        rows: list[int] = []
        cols: list[int] = []
        for juror, app in pairs:
            if juror in juror_pos and app in app_pos:
                rows.append(juror_pos[juror])
                cols.append(app_pos[app])
        found = np.zeros((len(self.juror_ids), len(self.application_ids)), dtype=bool)
        found[rows, cols] = True
        return found


def _cost_matrix(affinity: Mapping[Pair, float], index: _Index) -> tuple[np.ndarray, list[str]]:
    """(J, A) int64 scaled affinities (0 where none is given), and the invalid affinities."""
    cost = np.zeros((len(index.juror_ids), len(index.application_ids)), dtype=np.int64)
    juror_pos, app_pos = index.juror_pos, index.app_pos
    bad_values = []
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for (juror, app), value in affinity.items():
        if not math.isfinite(value) or abs(value) > MAX_ABS_AFFINITY:
            bad_values.append(
                f"affinity ({juror}, {app}) is {value!r}; it must be finite and at most "
                f"{MAX_ABS_AFFINITY:g} in magnitude"
            )
        elif juror in juror_pos and app in app_pos:
            rows.append(juror_pos[juror])
            cols.append(app_pos[app])
            values.append(float(value))
    if values:
        # np.rint rounds half to even like `scaled_affinity`, so tests can reproduce costs.
        cost[rows, cols] = np.rint(np.asarray(values) * AFFINITY_SCALE).astype(np.int64)
    return cost, _capped(sorted(bad_values), "invalid affinities")


# --------------------------------------------------------------------------- reasons


def _data_reasons(problem: Problem, jurors: Mapping[str, Juror], index: _Index) -> list[str]:
    """Values no assignment can fix: k, repeated ids, loads, pairs naming unknown ids."""
    k = problem.reviews_per_application
    reasons = [f"reviews_per_application must be at least 1, got {k}"] if k < 1 else []
    for kind, ids in (
        ("juror", [j.id for j in problem.jurors]),
        ("application", [a.id for a in problem.applications]),
    ):
        dups = _duplicates(ids)
        if dups:
            reasons.append(f"duplicate {kind} ids: {_listing(dups)}")
    loads = [reason for jid in index.juror_ids for reason in _load_reasons(jurors[jid])]
    reasons += _capped(loads, "jurors with invalid loads")
    reasons += _unknown_id_reasons("conflict", problem.conflicts, index)
    reasons += _unknown_id_reasons("pinned pair", problem.pinned, index)
    reasons += _unknown_id_reasons("affinity", problem.affinity.keys(), index)
    return reasons


def _load_reasons(juror: Juror) -> list[str]:
    reasons = []
    if juror.max_load < 0:
        reasons.append(f"juror {juror.id} has negative max_load {juror.max_load}")
    if juror.min_load < 0:
        reasons.append(f"juror {juror.id} has negative min_load {juror.min_load}")
    if juror.max_load < juror.min_load:
        reasons.append(
            f"juror {juror.id} has max_load {juror.max_load} below min_load {juror.min_load}"
        )
    return reasons


def _unknown_id_reasons(kind: str, pairs: Iterable[Pair], index: _Index) -> list[str]:
    juror_pos, app_pos = index.juror_pos, index.app_pos
    found = []
    # Sorting only the offenders keeps this cheap for 10^6 valid pairs.
    for juror, app in sorted(p for p in pairs if p[0] not in juror_pos or p[1] not in app_pos):
        missing = []
        if juror not in juror_pos:
            missing.append(f"unknown juror {juror}")
        if app not in app_pos:
            missing.append(f"unknown application {app}")
        found.append(f"{kind} ({juror}, {app}) names {' and '.join(missing)}")
    return _capped(found, f"{kind} pairs with unknown ids")


def _pinned_conflict_reasons(problem: Problem, index: _Index) -> list[str]:
    """Pairs both pinned and conflicted (those naming unknown ids are reported as such)."""
    both = problem.pinned & problem.conflicts
    found = [
        f"pinned pair ({juror}, {app}) is also a conflict"
        for juror, app in sorted(both)
        if juror in index.juror_pos and app in index.app_pos
    ]
    return _capped(found, "pinned pairs that are also conflicts")


def _over_pinned_reasons(prep: _Prepared) -> list[str]:
    """Jurors pinned beyond max_load, applications pinned beyond k."""
    jurors = [
        f"juror {prep.juror_ids[j]} is pinned to {prep.pinned_per_juror[j]} applications "
        f"but max_load is {prep.max_load[j]}"
        for j in np.flatnonzero(prep.pinned_per_juror > prep.max_load)
    ]
    reasons = _capped(jurors, "over-pinned jurors")
    if prep.k >= 1:
        applications = [
            f"application {prep.application_ids[a]} has {prep.pinned_per_app[a]} pinned jurors "
            f"but reviews_per_application is {prep.k}"
            for a in np.flatnonzero(prep.pinned_per_app > prep.k)
        ]
        reasons += _capped(applications, "over-pinned applications")
    return reasons


def _capacity_reasons(prep: _Prepared) -> list[str]:
    """Totals: enough juror capacity for k × applications, not more minimum load than that."""
    if prep.k < 1:
        return []
    k, n_a = prep.k, len(prep.application_ids)
    needed = k * n_a
    reasons = []
    capacity = int(np.maximum(prep.max_load, 0).sum())
    if capacity < needed:
        reasons.append(
            f"total capacity {capacity} is less than the {needed} reviews needed "
            f"({n_a} applications × {k})"
        )
    min_total = int(np.maximum(prep.min_load, 0).sum())
    n_pinned = int(prep.pinned_per_juror.sum())
    # Pinned reviews may land on jurors who are already at their minimum.
    still_min = int(prep.min_remaining.sum())
    still_needed = int(np.maximum(0, prep.need).sum())
    if min_total > needed:
        reasons.append(f"sum of minimum loads {min_total} exceeds the {needed} reviews needed")
    elif n_pinned and still_min > still_needed:
        reasons.append(
            f"after the {n_pinned} pinned reviews, jurors still need {still_min} reviews "
            f"to reach their minimum loads but only {still_needed} reviews remain to assign"
        )
    return reasons


def _coverage_reasons(prep: _Prepared, conflicted: np.ndarray) -> list[str]:
    """Hall's condition for one node: each application has k usable jurors, each juror
    enough eligible applications for min_load (groups are `_diagnose`'s job)."""
    k, n_j = prep.k, len(prep.juror_ids)
    reasons = []
    if k >= 1:
        if k > n_j and prep.application_ids:
            reasons.append(f"reviews_per_application {k} exceeds the number of jurors ({n_j})")
        usable = ~conflicted & (prep.max_load > 0)[:, None]
        per_app = usable.sum(axis=0)
        short_apps = [
            f"{prep.application_ids[a]} has "
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
        f"juror {prep.juror_ids[j]} has min_load {prep.min_load[j]} but may review only "
        f"{_plural(int(per_juror[j]), 'application')} (the others are conflicts or exclusions)"
        for j in np.flatnonzero(prep.min_load > per_juror)
    ]
    return reasons + _capped(short_jurors, "jurors who cannot reach their min_load")


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
    min_arcs = np.zeros(0, dtype=np.int32)
    if diagnostic:
        min_arcs = _add_arcs(
            flow, tails=sources, heads=juror_nodes, capacities=min_rem, costs=np.full(n_j, -1)
        )
    _add_arcs(
        flow, tails=sources, heads=juror_nodes, capacities=capacity - min_rem, costs=np.zeros(n_j)
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
            f"only {total_assigned} of the {k * len(prep.application_ids)} reviews can be "
            f"assigned; under-served in the best attempt: {_listing(listed)}"
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
        else f"applications {_listing(names)} together need"
    )
    jurors_text = (
        f"the jurors eligible for them ({_listing(helper_names)}) "
        f"can take at most {int(offer.sum())}"
        if helper_names
        else "no juror with spare capacity is eligible for them"
    )
    return f"{subject} {need} more reviews but {jurors_text}"
