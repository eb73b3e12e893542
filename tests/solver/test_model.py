"""The value types: immutable, validated, convenient."""

from __future__ import annotations

import dataclasses

import pytest

from grants.solver import Application, Infeasible, Juror, Problem, Solution


def test_juror_defaults_to_no_minimum_load() -> None:
    assert Juror("J1", max_load=4) == Juror(id="J1", max_load=4, min_load=0)


def test_problem_normalises_containers_and_is_immutable() -> None:
    affinity = {("J1", "A1"): 0.5}
    problem = Problem(
        reviews_per_application=1,
        jurors=[Juror("J1", 2)],  # type: ignore[arg-type]
        applications=[Application("A1")],  # type: ignore[arg-type]
        affinity=affinity,
        conflicts={("J1", "A2")},  # type: ignore[arg-type]
        pinned=[("J1", "A1")],  # type: ignore[arg-type]
    )
    assert problem.jurors == (Juror("J1", 2),)
    assert problem.applications == (Application("A1"),)
    assert problem.conflicts == frozenset({("J1", "A2")})
    assert problem.pinned == frozenset({("J1", "A1")})
    affinity[("J1", "A1")] = 9.0  # the caller's dict is copied
    assert problem.affinity[("J1", "A1")] == 0.5
    with pytest.raises(TypeError):
        problem.affinity[("J1", "A1")] = 1.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.reviews_per_application = 2  # type: ignore[misc]
    assert hash(problem) == hash(problem)  # usable as a cache key
    assert problem.reviews_needed == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: Juror(1, 2),  # type: ignore[arg-type]
        lambda: Juror("J1", "2"),  # type: ignore[arg-type]
        lambda: Juror("J1", True),  # type: ignore[arg-type]
        lambda: Application(7),  # type: ignore[arg-type]
        lambda: Problem(1.0, (), ()),  # type: ignore[arg-type]
        lambda: Problem(1, ("J1",), ()),  # type: ignore[arg-type]
        lambda: Problem(1, (), (), affinity={("J1", "A1"): "high"}),  # type: ignore[dict-item]
        lambda: Problem(1, (), (), affinity={"J1": 1.0}),  # type: ignore[dict-item]
        lambda: Problem(1, (), (), conflicts=frozenset({("J1", 2)})),  # type: ignore[arg-type]
    ],
)
def test_wrong_python_types_are_rejected_early(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        make()


def test_organiser_errors_are_not_type_errors() -> None:
    # Inverted loads are data errors: accepted here, reported with all others by solve().
    assert Juror("J7", max_load=2, min_load=3).min_load == 3


def test_solution_helpers() -> None:
    solution = Solution(assignments=(("J1", "A1"), ("J1", "A2"), ("J2", "A1")), total_affinity=1.0)
    assert solution.load("J1") == 2
    assert solution.load("J3") == 0
    assert solution.reviewers("A1") == ("J1", "J2")


def test_infeasible_carries_every_reason() -> None:
    error = Infeasible(["first", "second"])
    assert error.reasons == ["first", "second"]
    assert str(error) == "first; second"
