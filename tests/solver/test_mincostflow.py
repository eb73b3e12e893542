"""solve(): constraints, optimality against an independent MILP, explanations, re-runs."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.solver import (
    AFFINITY_SCALE,
    Application,
    Infeasible,
    Juror,
    Problem,
    check,
    scaled_affinity,
    solve,
    solve_with_stats,
)

from .helpers import milp_optimum, problems, scaled_total, violations

# No example database: keeps the shared working tree free of .hypothesis/ files.
PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def apps(*ids: str) -> tuple[Application, ...]:
    return tuple(Application(i) for i in ids)


def reasons_of(problem: Problem) -> list[str]:
    with pytest.raises(Infeasible) as info:
        solve(problem)
    return info.value.reasons


# --------------------------------------------------------------------------- usage


def test_best_fitting_jurors_are_chosen() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("anna", max_load=1), Juror("ben", max_load=1)),
        applications=apps("EPP-2027-001", "EPP-2027-002"),
        affinity={
            ("anna", "EPP-2027-001"): 0.9,
            ("ben", "EPP-2027-001"): 1.0,
            ("ben", "EPP-2027-002"): 0.2,
        },
    )
    solution = solve(problem)
    # Greedy would give ben 001 (1.0) and anna 002 (0.0); the optimum is 0.9 + 0.2.
    assert solution.assignments == (("anna", "EPP-2027-001"), ("ben", "EPP-2027-002"))
    assert solution.total_affinity == pytest.approx(1.1)


def test_conflicts_and_language_exclusions_are_never_assigned() -> None:
    # "No common language" is passed as a conflict, exactly like a conflict of interest.
    problem = Problem(
        reviews_per_application=2,
        jurors=(Juror("J1", 3), Juror("J2", 3), Juror("J3", 3)),
        applications=apps("A1", "A2"),
        affinity={("J1", "A1"): 10.0},
        conflicts=frozenset({("J1", "A1")}),
    )
    solution = solve(problem)
    assert ("J1", "A1") not in solution.assignments
    assert solution.reviewers("A1") == ("J2", "J3")
    assert solution.total_affinity == 0.0


def test_minimum_load_overrides_affinity() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("star", max_load=3), Juror("newcomer", max_load=3, min_load=2)),
        applications=apps("A1", "A2", "A3"),
        affinity={("star", a): 1.0 for a in ("A1", "A2", "A3")},
    )
    solution = solve(problem)
    assert solution.load("newcomer") == 2
    assert solution.total_affinity == 1.0


def test_no_applications_is_trivially_optimal() -> None:
    assert solve(Problem(3, (Juror("J1", 2),), ())).assignments == ()


def test_stats_describe_the_network() -> None:
    problem = Problem(1, (Juror("J1", 1), Juror("J2", 1)), apps("A1", "A2"))
    _, stats = solve_with_stats(problem)
    assert stats.num_nodes == 2 + 2 + 2  # source, jurors, applications, sink
    assert stats.num_arcs == 2 + 4 + 2
    assert stats.total_seconds >= 0


# --------------------------------------------------------------------------- scaling


def test_affinities_are_optimised_at_six_decimals() -> None:
    assert AFFINITY_SCALE == 1_000_000
    assert scaled_affinity(0.1234564) == 123456
    assert scaled_affinity(-0.5) == -500000
    jurors = (Juror("J1", 1), Juror("J2", 1))
    # A difference of 1e-6 is seen by the solver ...
    seen = Problem(1, jurors, apps("A1"), affinity={("J2", "A1"): 1e-6})
    assert solve(seen).assignments == (("J2", "A1"),)
    # ... and the reported total is the float sum, not the rounded one.
    tiny = Problem(1, jurors, apps("A1"), affinity={("J2", "A1"): 1.0000004})
    assert solve(tiny).total_affinity == 1.0000004


# --------------------------------------------------------------------------- properties


@settings(PROPERTY, max_examples=300)
@given(problems())
def test_random_instances_are_valid_and_optimal(problem: Problem) -> None:
    best = milp_optimum(problem)
    try:
        solution = solve(problem)
    except Infeasible as error:
        assert best is None, f"solver says infeasible ({error.reasons}) but MILP found {best}"
        assert error.reasons
        assert "no assignment satisfying" not in " ".join(error.reasons)  # diagnosis found a cause
        return
    assert best is not None, "solver found a solution the MILP calls infeasible"
    assert violations(problem, solution) == []
    total = scaled_total(problem, solution)
    assert math.isclose(total, best, rel_tol=1e-6, abs_tol=1e-6)
    assert solution.total_affinity == math.fsum(
        problem.affinity.get(p, 0.0) for p in solution.assignments
    )


@PROPERTY
@given(problems(), st.randoms(use_true_random=False))
def test_same_input_same_output_whatever_the_order(problem: Problem, rnd: random.Random) -> None:
    jurors, applications = list(problem.jurors), list(problem.applications)
    rnd.shuffle(jurors)
    rnd.shuffle(applications)
    shuffled = Problem(
        reviews_per_application=problem.reviews_per_application,
        jurors=tuple(jurors),
        applications=tuple(applications),
        affinity=dict(reversed(list(problem.affinity.items()))),
        conflicts=problem.conflicts,
        pinned=problem.pinned,
    )
    try:
        first = solve(problem)
    except Infeasible as error:
        with pytest.raises(Infeasible) as again:
            solve(shuffled)
        assert again.value.reasons == error.reasons
        return
    assert solve(shuffled) == first
    assert solve(problem) == first


@PROPERTY
@given(problems(), st.randoms(use_true_random=False))
def test_rerun_keeps_started_reviews(problem: Problem, rnd: random.Random) -> None:
    try:
        first = solve(problem)
    except Infeasible:
        return
    # Some reviews were started; affinities changed meanwhile (e.g. new keywords).
    started = frozenset(rnd.sample(first.assignments, len(first.assignments) // 2))
    changed = {pair: rnd.uniform(-1, 5) for pair in problem.affinity}
    rerun = Problem(
        reviews_per_application=problem.reviews_per_application,
        jurors=problem.jurors,
        applications=problem.applications,
        affinity=changed,
        conflicts=problem.conflicts,
        pinned=problem.pinned | started,
    )
    second = solve(rerun)  # feasible: the first solution still fits
    assert started <= set(second.assignments)
    assert violations(rerun, second) == []
    assert scaled_total(rerun, second) == milp_optimum(rerun)


def test_pinning_the_whole_solution_reproduces_it() -> None:
    problem = Problem(
        reviews_per_application=2,
        jurors=tuple(Juror(f"J{i}", 3, 1) for i in range(4)),
        applications=apps("A1", "A2", "A3", "A4"),
        affinity={("J0", "A1"): 2.0, ("J3", "A4"): 1.5},
    )
    first = solve(problem)
    again = solve(dataclass_replace(problem, pinned=frozenset(first.assignments)))
    assert again == first


def test_pinned_reviews_count_towards_load_and_k() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("busy", max_load=1), Juror("other", max_load=2)),
        applications=apps("A1", "A2"),
        affinity={("busy", "A2"): 5.0},
        pinned=frozenset({("busy", "A1")}),
    )
    solution = solve(problem)
    # busy is full with the pinned review, so the high-affinity A2 goes elsewhere.
    assert solution.assignments == (("busy", "A1"), ("other", "A2"))


def dataclass_replace(problem: Problem, **changes: object) -> Problem:
    fields = {
        "reviews_per_application": problem.reviews_per_application,
        "jurors": problem.jurors,
        "applications": problem.applications,
        "affinity": problem.affinity,
        "conflicts": problem.conflicts,
        "pinned": problem.pinned,
    }
    fields.update(changes)
    return Problem(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- explanations


def test_application_with_too_few_eligible_jurors() -> None:
    problem = Problem(
        reviews_per_application=3,
        jurors=(Juror("J1", 5), Juror("J2", 5), Juror("J3", 5)),
        applications=apps("EPP-2027-014", "EPP-2027-015"),
        conflicts=frozenset({("J2", "EPP-2027-014"), ("J3", "EPP-2027-014")}),
    )
    assert reasons_of(problem) == ["EPP-2027-014 has only 1 eligible juror of the 3 required"]


def test_capacity_and_minimum_load_totals() -> None:
    problem = Problem(
        reviews_per_application=3,
        jurors=tuple(Juror(f"J{i}", max_load=10, min_load=12) for i in range(4)),
        applications=tuple(Application(f"A{i:02d}") for i in range(15)),
    )
    reasons = reasons_of(problem)
    assert "total capacity 40 is less than the 45 reviews needed (15 applications × 3)" in reasons
    assert "sum of minimum loads 48 exceeds the 45 reviews needed" in reasons
    assert "juror J0 has max_load 10 below min_load 12" in reasons


def test_all_data_errors_are_collected_at_once() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("J1", 4), Juror("J1", 4), Juror("J7", max_load=2, min_load=3)),
        applications=apps(
            "EPP-2027-001", "EPP-2027-002", "EPP-2027-003", "EPP-2027-004", "EPP-2027-005"
        ),
        affinity={("J9", "EPP-2027-001"): 1.0, ("J1", "EPP-2027-001"): math.nan},
        conflicts=frozenset({("J1", "EPP-2027-003"), ("J1", "EPP-2027-999")}),
        pinned=frozenset({("J1", f"EPP-2027-00{i}") for i in range(1, 6)}),
    )
    reasons = reasons_of(problem)
    for expected in [
        "duplicate juror ids: J1",
        "juror J7 has max_load 2 below min_load 3",
        "conflict (J1, EPP-2027-999) names unknown application EPP-2027-999",
        "affinity (J9, EPP-2027-001) names unknown juror J9",
        "pinned pair (J1, EPP-2027-003) is also a conflict",
        "juror J1 is pinned to 5 applications but max_load is 4",
    ]:
        assert expected in reasons
    assert any(r.startswith("affinity (J1, EPP-2027-001) is nan") for r in reasons)


def test_invalid_reviews_per_application() -> None:
    assert reasons_of(Problem(0, (Juror("J1", 1),), apps("A1"))) == [
        "reviews_per_application must be at least 1, got 0"
    ]


def test_application_pinned_beyond_k() -> None:
    problem = Problem(
        1,
        (Juror("J1", 2), Juror("J2", 2)),
        apps("A1"),
        pinned=frozenset({("J1", "A1"), ("J2", "A1")}),
    )
    assert "application A1 has 2 pinned jurors but reviews_per_application is 1" in reasons_of(
        problem
    )


def test_group_of_applications_sharing_too_few_jurors() -> None:
    # Each application alone has 2 eligible jurors, but A1 and A2 share J1 (1 slot left)
    # and J2: 4 reviews needed, at most 3 available. Only a flow can see this.
    problem = Problem(
        reviews_per_application=2,
        jurors=(Juror("J1", 1), Juror("J2", 5), Juror("J3", 5)),
        applications=apps("A1", "A2", "A3"),
        conflicts=frozenset({("J3", "A1"), ("J3", "A2")}),
    )
    assert check(problem) == []
    reasons = reasons_of(problem)
    assert reasons[0].startswith(
        "only 5 of the 6 reviews can be assigned; under-served in the best attempt: "
    )
    assert reasons[1] == (
        "applications A1, A2 together need 4 more reviews "
        "but the jurors eligible for them (J1, J2) can take at most 3"
    )


def test_minimum_loads_that_cannot_be_met_together() -> None:
    # J1 and J2 each want 2 reviews but may only review A1 and A2 (k=1): 2 slots for 4.
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("J1", 3, 2), Juror("J2", 3, 2), Juror("J3", 3)),
        applications=apps("A1", "A2", "A3", "A4"),
        conflicts=frozenset({(j, a) for j in ("J1", "J2") for a in ("A3", "A4")}),
    )
    assert check(problem) == []
    assert reasons_of(problem) == [
        "minimum loads cannot all be met while every application gets exactly 1 reviewer; "
        "the best attempt leaves juror J1 at 1 of min_load 2, juror J2 at 1 of min_load 2"
    ]


def test_pinned_reviews_leave_too_little_for_minimum_loads() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("J1", 3), Juror("J2", 3, 2)),
        applications=apps("A1", "A2"),
        pinned=frozenset({("J1", "A1")}),
    )
    assert reasons_of(problem) == [
        "after the 1 pinned reviews, jurors still need 2 reviews to reach their minimum loads "
        "but only 1 reviews remain to assign"
    ]


def test_juror_minimum_above_their_eligible_applications() -> None:
    problem = Problem(
        reviews_per_application=1,
        jurors=(Juror("J1", 3, 2), Juror("J2", 3)),
        applications=apps("A1", "A2", "A3"),
        conflicts=frozenset({("J1", "A1"), ("J1", "A2")}),
    )
    assert reasons_of(problem) == [
        "juror J1 has min_load 2 but may review only 1 application "
        "(the others are conflicts or exclusions)"
    ]


def test_long_reason_lists_are_cut() -> None:
    problem = Problem(
        reviews_per_application=2,
        jurors=(Juror("J1", 100),),
        applications=tuple(Application(f"A{i:03d}") for i in range(50)),
    )
    reasons = reasons_of(problem)
    assert "reviews_per_application 2 exceeds the number of jurors (1)" in reasons
    assert reasons[-1] == "... and 30 more applications with too few eligible jurors"


@pytest.mark.parametrize("seed", range(5))
def test_medium_instances_match_milp(seed: int) -> None:
    rnd = random.Random(seed)
    jurors = tuple(
        Juror(f"J{j:02d}", max_load=8, min_load=rnd.choice([0, 3, 5])) for j in range(12)
    )
    applications = tuple(Application(f"EPP-{a:03d}") for a in range(25))
    pairs = [(j.id, a.id) for j in jurors for a in applications]
    problem = Problem(
        reviews_per_application=3,
        jurors=jurors,
        applications=applications,
        affinity={p: rnd.uniform(-1, 3) for p in pairs if rnd.random() < 0.6},
        conflicts=frozenset(p for p in pairs if rnd.random() < 0.15),
    )
    solution = solve(problem)
    assert violations(problem, solution) == []
    assert scaled_total(problem, solution) == milp_optimum(problem)
