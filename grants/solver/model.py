"""Value types of the reviewer-assignment problem.

Everything here is immutable and free of I/O so the web app, the CLI and the tests
can share it. Ids are strings; callers with integer primary keys convert them
(the CLI remembers the original JSON type and converts back on output).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from types import MappingProxyType

Pair = tuple[str, str]
"""A (juror id, application id) pair."""


def _is_int(value: object) -> bool:
    # bool is an int subclass; a load of True is always a caller bug.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Juror:
    """A juror who reviews between `min_load` and `max_load` applications."""

    id: str
    max_load: int
    min_load: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"Juror.id must be a str, got {self.id!r}")
        for name in ("max_load", "min_load"):
            if not _is_int(getattr(self, name)):
                raise TypeError(f"Juror.{name} must be an int, got {getattr(self, name)!r}")
        # Negative or inverted loads are *not* rejected here: they are organiser
        # data errors, reported together with every other reason by `solve`.


@dataclass(frozen=True, slots=True)
class Application:
    """An application that needs `Problem.reviews_per_application` reviewers."""

    id: str

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"Application.id must be a str, got {self.id!r}")


def _is_pair(value: object) -> bool:
    """Whether `value` is a (juror id, application id) tuple of two strings."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], str)
    )


def _pairs(name: str, pairs: Iterable[Pair]) -> frozenset[Pair]:
    result = frozenset(pairs)
    for pair in result:
        if not _is_pair(pair):
            raise TypeError(
                f"Problem.{name} must hold (juror id, application id) str pairs, got {pair!r}"
            )
    return result


@dataclass(frozen=True, slots=True)
class Problem:
    """A reviewer-assignment instance.

    `affinity[(juror, application)]` is how well the juror fits the application
    (higher is better, negative allowed, missing pairs count as 0). `conflicts` are
    pairs that must never be assigned: conflicts of interest *and* any other
    exclusion such as "juror and application share no language". `pinned` pairs
    must be assigned; re-running after reviews have started passes the completed
    and in-progress reviews here so they are kept.
    """

    reviews_per_application: int
    jurors: tuple[Juror, ...]
    applications: tuple[Application, ...]
    affinity: Mapping[Pair, float] = field(default_factory=dict, hash=False)
    conflicts: frozenset[Pair] = frozenset()
    pinned: frozenset[Pair] = frozenset()

    def __post_init__(self) -> None:
        if not _is_int(self.reviews_per_application):
            raise TypeError(
                "Problem.reviews_per_application must be an int, "
                f"got {self.reviews_per_application!r}"
            )
        jurors = tuple(self.jurors)
        if not all(isinstance(j, Juror) for j in jurors):
            raise TypeError("Problem.jurors must hold Juror objects")
        applications = tuple(self.applications)
        if not all(isinstance(a, Application) for a in applications):
            raise TypeError("Problem.applications must hold Application objects")
        affinity = dict(self.affinity)
        for key, value in affinity.items():
            if not _is_pair(key):
                raise TypeError(
                    f"Problem.affinity keys must be (juror id, application id), got {key!r}"
                )
            if not isinstance(value, Real) or isinstance(value, bool):
                raise TypeError(f"Problem.affinity{key!r} must be a real number, got {value!r}")
        # Frozen dataclass: normalise containers once so the instance is truly immutable.
        object.__setattr__(self, "jurors", jurors)
        object.__setattr__(self, "applications", applications)
        object.__setattr__(self, "affinity", MappingProxyType(affinity))
        object.__setattr__(self, "conflicts", _pairs("conflicts", self.conflicts))
        object.__setattr__(self, "pinned", _pairs("pinned", self.pinned))

    @property
    def reviews_needed(self) -> int:
        """Total number of (juror, application) assignments a solution has."""
        return self.reviews_per_application * len(self.applications)


@dataclass(frozen=True, slots=True)
class Solution:
    """An optimal assignment: sorted (juror id, application id) pairs, pinned ones included."""

    assignments: tuple[Pair, ...]
    total_affinity: float

    def load(self, juror_id: str) -> int:
        """How many applications the juror reviews."""
        return sum(1 for juror, _ in self.assignments if juror == juror_id)

    def reviewers(self, application_id: str) -> tuple[str, ...]:
        """Sorted juror ids assigned to the application."""
        return tuple(sorted(j for j, a in self.assignments if a == application_id))


class Infeasible(Exception):
    """No assignment satisfies the constraints; `reasons` says what to change."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons: list[str] = list(reasons)
        super().__init__("; ".join(self.reasons) if self.reasons else "infeasible")
