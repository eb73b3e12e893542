"""Shared test helpers: random instances and an independent MILP optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from grants.solver import Application, Juror, Problem, Solution, scaled_affinity


@st.composite
def problems(draw: st.DrawFn, *, max_jurors: int = 6, max_applications: int = 6) -> Problem:
    """Small random instances with valid loads; some are infeasible on purpose."""
    n_jurors = draw(st.integers(1, max_jurors))
    n_apps = draw(st.integers(0, max_applications))
    k = draw(st.integers(1, 3))
    jurors = []
    for j in range(n_jurors):
        max_load = draw(st.integers(0, 6))
        # Minimum loads are rarer than maxima in practice; keep most instances feasible.
        min_load = draw(st.sampled_from([0, 0, 0, min(max_load, 1), min(max_load, 2)]))
        jurors.append(Juror(id=f"J{j}", max_load=max_load, min_load=min_load))
    apps = [Application(id=f"EPP-2027-{a:03d}") for a in range(n_apps)]
    pairs = [(j.id, a.id) for j in jurors for a in apps]
    if not pairs:
        return Problem(k, tuple(jurors), tuple(apps))
    conflicts = draw(st.sets(st.sampled_from(pairs), max_size=len(pairs) // 4))
    free = sorted(set(pairs) - conflicts)
    pinned = draw(st.sets(st.sampled_from(free), max_size=3)) if free else set()
    values = st.one_of(
        st.integers(-2000, 5000).map(lambda v: v / 1000),
        st.floats(-2, 5, allow_nan=False, allow_infinity=False),
    )
    affinity = draw(st.dictionaries(st.sampled_from(pairs), values, max_size=len(pairs)))
    return Problem(
        reviews_per_application=k,
        jurors=tuple(jurors),
        applications=tuple(apps),
        affinity=affinity,
        conflicts=frozenset(conflicts),
        pinned=frozenset(pinned),
    )


def milp_optimum(problem: Problem) -> int | None:
    """Best total *scaled* affinity by scipy's MILP (HiGHS), or None if infeasible.

    Independent of the flow model: one binary per non-conflicted pair, pinned pairs
    fixed to 1, equality per application, load interval per juror.
    """
    pairs = [
        (j.id, a.id)
        for j in problem.jurors
        for a in problem.applications
        if (j.id, a.id) not in problem.conflicts
    ]
    if problem.pinned - set(pairs):
        return None  # a pinned pair is conflicted or unknown
    k = problem.reviews_per_application
    if not pairs:
        feasible = not problem.applications and all(j.min_load <= 0 for j in problem.jurors)
        return 0 if feasible and k >= 1 else None
    index = {p: i for i, p in enumerate(pairs)}
    n = len(pairs)

    def indicator(members: list[tuple[str, str]]) -> np.ndarray:
        row = np.zeros(n)
        row[[index[p] for p in members if p in index]] = 1
        return row

    rows, lower, upper = [], [], []
    for a in problem.applications:
        rows.append(indicator([(j.id, a.id) for j in problem.jurors]))
        lower.append(k)
        upper.append(k)
    for j in problem.jurors:
        rows.append(indicator([(j.id, a.id) for a in problem.applications]))
        lower.append(j.min_load)
        upper.append(j.max_load)
    lb = np.array([1.0 if p in problem.pinned else 0.0 for p in pairs])
    cost = np.array([scaled_affinity(problem.affinity.get(p, 0.0)) for p in pairs], dtype=float)
    result = milp(
        -cost,
        constraints=LinearConstraint(np.array(rows), lower, upper),
        integrality=np.ones(n),
        bounds=Bounds(lb, np.ones(n)),
    )
    if result.status == 2:
        return None
    assert result.status == 0, result.message
    return round(-result.fun)


def scaled_total(problem: Problem, solution: Solution) -> int:
    """The objective the solver optimises, recomputed from the assignment."""
    return sum(scaled_affinity(problem.affinity.get(p, 0.0)) for p in solution.assignments)


def violations(problem: Problem, solution: Solution) -> list[str]:
    """Every broken constraint (empty for a valid solution)."""
    found = []
    assignments = solution.assignments
    if list(assignments) != sorted(set(assignments)):
        found.append("assignments not sorted or not distinct")
    for a in problem.applications:
        if len(solution.reviewers(a.id)) != problem.reviews_per_application:
            found.append(f"{a.id} has {len(solution.reviewers(a.id))} reviewers")
    for j in problem.jurors:
        if not j.min_load <= solution.load(j.id) <= j.max_load:
            found.append(f"{j.id} load {solution.load(j.id)}")
    if problem.conflicts & set(assignments):
        found.append("conflicted pair assigned")
    if problem.pinned - set(assignments):
        found.append("pinned pair dropped")
    return found
