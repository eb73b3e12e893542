"""Who reviews what: the optimal assignment (through the pure solver in grants/solver), the
organisers' pins and removals, and a juror's own assignments.

Invariant: no review is lost. A run keeps every existing assignment (pinned for the solver)
except those that became forbidden and have no review yet; an assignment with a review is never
deleted here: if it is under a conflict now, it stays, and the ranking leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from grants import solver
from grants.i18n import gettext as _
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Bid,
    Edition,
    Panel,
    PanelMember,
    Review,
    User,
)
from grants.services import audit, lifecycle
from grants.services.conflicts import Pair, conflicted_pairs, exclusion_reason, pair_exclusion
from grants.services.editions import application_by_reference, juror_of_edition, panel_of_edition
from grants.services.errors import NotFound, ServiceError
from grants.services.parsing import parse_id
from grants.services.permissions import require_organiser

BID_AFFINITY = {"eager": 2.0, "willing": 1.0, "not": -1.0}
EXPERTISE_AFFINITY = 1.0

SolverPair = tuple[str, str]  # (juror's user id as text, application reference)


@dataclass(frozen=True)
class AssignmentRun:
    created: int
    kept: int
    total_affinity: float
    dropped: int = 0
    loads: tuple[tuple[str, int], ...] = ()  # (juror's display name, reviews) after the run


class AssignmentImpossible(ServiceError):
    """The solver found no assignment; `reasons` are its explanations, every one of them."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            _("The assignment is impossible as the panel stands:") + " " + "; ".join(reasons)
        )
        self.reasons = list(reasons)


@dataclass(frozen=True)
class Candidates:
    """What the solver needs to know of a panel and the applications it could review."""

    members: list[PanelMember]
    applications: list[Application]
    forbidden: frozenset[SolverPair]
    affinity: dict[SolverPair, float]


async def _candidates(edition: Edition, panel: Panel) -> Candidates:
    members = await PanelMember.filter(panel=panel).select_related("user")
    applications = await Application.filter(
        edition=edition, status__in=lifecycle.ASSIGNABLE
    ).select_related("group", "category", "edition")
    if not applications:
        raise ServiceError(
            _("No eligible applications to assign yet: screen the submitted applications first.")
        )
    if not members:
        raise ServiceError(_("This panel has no jurors yet."))
    declared = await conflicted_pairs(edition=edition)
    bids = await _bid_affinity(edition)
    forbidden: set[SolverPair] = set()
    affinity: dict[SolverPair, float] = {}
    for member in members:
        user_id = member.user_id
        for application in applications:
            pair = (str(user_id), application.reference)
            if (user_id, application.id) in declared or exclusion_reason(member, application):
                forbidden.add(pair)
                continue
            score = bids.get((user_id, application.id), 0.0)
            if application.category and application.category.slug in member.expertise:
                score += EXPERTISE_AFFINITY
            if score:
                affinity[pair] = score
    return Candidates(members, applications, frozenset(forbidden), affinity)


async def _bid_affinity(edition: Edition) -> dict[Pair, float]:
    if edition.blind_review:  # jurors do not see titles, so they cannot bid
        return {}
    bids = await Bid.filter(application__edition=edition).values_list(
        "juror_id", "application_id", "level"
    )
    return {(int(j), int(a)): BID_AFFINITY.get(level, 0.0) for j, a, level in bids}


async def run_assignment(
    user: User, edition: Edition, panel_id: str, *, ip: str = ""
) -> AssignmentRun:
    """Solve the panel's assignment; existing assignments are kept (see the module's invariant)."""
    await require_organiser(user, edition)
    panel = await panel_of_edition(edition, panel_id)
    candidates = await _candidates(edition, panel)
    by_reference = {a.reference: a for a in candidates.applications}
    # An assignment with a review (draft or submitted) is never deleted, even when forbidden now.
    reviewed = set(
        await Review.filter(assignment__panel=panel).values_list("assignment_id", flat=True)
    )
    by_id = {a.id: a for a in candidates.applications}
    current = {
        (str(a.juror_id), by_id[a.application_id].reference): a
        for a in await Assignment.filter(panel=panel)
        if a.application_id in by_id
    }
    dropped = [
        a for pair, a in current.items() if pair in candidates.forbidden and a.id not in reviewed
    ]
    kept = {pair for pair in current if pair not in candidates.forbidden}
    solution = _solve(edition, candidates, kept)
    created = 0
    async with in_transaction():
        for assignment in dropped:
            await assignment.delete()
            await audit.record(
                "assignment.drop",
                actor=user,
                object_type="assignment",
                object_id=assignment.id,
                before={"juror": assignment.juror_id, "application": assignment.application_id},
                ip=ip,
            )
        for juror_id, reference in solution.assignments:
            if (juror_id, reference) not in kept:
                await Assignment.create(
                    panel=panel, juror_id=int(juror_id), application=by_reference[reference]
                )
                created += 1
        for application in candidates.applications:
            if application.status == ApplicationStatus.ELIGIBLE:
                await lifecycle.move(application, ApplicationStatus.IN_REVIEW, actor=user)
        await audit.record(
            "assignment.run",
            actor=user,
            object_type="panel",
            object_id=panel.id,
            after={
                "created": created,
                "kept": len(kept),
                "dropped": len(dropped),
                "total_affinity": solution.total_affinity,
            },
            ip=ip,
        )
    return AssignmentRun(
        created=created,
        kept=len(kept),
        total_affinity=solution.total_affinity,
        dropped=len(dropped),
        loads=_loads(candidates.members, solution),
    )


def _solve(edition: Edition, candidates: Candidates, kept: set[SolverPair]) -> solver.Solution:
    problem = solver.Problem(
        reviews_per_application=edition.reviews_per_application,
        jurors=tuple(
            solver.Juror(str(m.user_id), max_load=m.max_load, min_load=m.min_load)
            for m in candidates.members
        ),
        applications=tuple(solver.Application(a.reference) for a in candidates.applications),
        affinity=candidates.affinity,
        conflicts=candidates.forbidden,
        pinned=frozenset(kept),
    )
    try:
        return solver.solve(problem)
    except solver.Infeasible as exc:
        raise AssignmentImpossible(exc.reasons) from None


def _loads(members: list[PanelMember], solution: solver.Solution) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for juror_id, _reference in solution.assignments:
        counts[juror_id] = counts.get(juror_id, 0) + 1
    return tuple((m.user.display_name, counts.get(str(m.user_id), 0)) for m in members)


async def pin_pair(
    user: User, edition: Edition, *, member_id: str, reference: str, ip: str = ""
) -> Assignment:
    """Assign one juror to one application by hand; kept by every later automatic run."""
    await require_organiser(user, edition)
    member = await juror_of_edition(edition, member_id)
    application = await application_by_reference(edition, reference)
    await _check_pinnable(member, application)
    async with in_transaction():
        assignment = await Assignment.create(
            panel_id=member.panel_id,
            juror_id=member.user_id,
            application=application,
            pinned=True,
        )
        if application.status == ApplicationStatus.ELIGIBLE:
            await lifecycle.move(application, ApplicationStatus.IN_REVIEW, actor=user)
        await audit.record(
            "assignment.pin",
            actor=user,
            object_type="assignment",
            object_id=assignment.id,
            after={"juror": member.user_id, "application": application.id},
            ip=ip,
        )
    return assignment


async def _check_pinnable(member: PanelMember, application: Application) -> None:
    juror, reference = member.user.display_name, application.reference
    if application.status not in lifecycle.ASSIGNABLE:
        raise ServiceError(
            _("Only eligible applications can be assigned: screen this application first.")
        )
    reason = await pair_exclusion(member, application)
    if reason:
        raise ServiceError(
            _(
                "%(juror)s cannot review %(ref)s: %(reason)s",
                juror=juror,
                ref=reference,
                reason=reason,
            )
        )
    if await Assignment.exists(juror_id=member.user_id, application=application):
        raise ServiceError(
            _("%(juror)s is already assigned to %(ref)s.", juror=juror, ref=reference)
        )


async def unassign(user: User, edition: Edition, assignment_id: str, *, ip: str = "") -> Assignment:
    """Take a not-started review away from its juror (the next run may give it to another)."""
    await require_organiser(user, edition)
    number = parse_id(assignment_id)
    assignment = None
    if number is not None:
        assignment = await Assignment.get_or_none(
            id=number, application__edition=edition
        ).select_related("application", "juror")
    if assignment is None:
        raise NotFound(_("This assignment does not exist."))
    if await Review.exists(assignment=assignment):
        raise ServiceError(
            _(
                "%(juror)s has already started reviewing %(ref)s: this assignment is kept.",
                juror=assignment.juror.display_name,
                ref=assignment.application.reference,
            )
        )
    async with in_transaction():
        await assignment.delete()
        await audit.record(
            "assignment.remove",
            actor=user,
            object_type="assignment",
            object_id=number,
            before={"juror": assignment.juror_id, "application": assignment.application_id},
            ip=ip,
        )
    return assignment


async def assignments_of(juror: User) -> list[Assignment]:
    """The juror's assignments, without any pair under a conflict of interest."""
    mine = (
        await Assignment.filter(juror=juror)
        .select_related("application", "application__edition", "panel")
        .order_by("application__reference")
    )
    conflicted = await conflicted_pairs(juror=juror)
    return [a for a in mine if (juror.id, a.application_id) not in conflicted]


async def assignment_for_juror(juror: User, assignment_id: int) -> Assignment:
    """The juror's own, non-conflicted assignment with its application; 404 for anything else."""
    assignment = await Assignment.get_or_none(id=assignment_id, juror=juror).select_related(
        "application",
        "application__edition",
        "application__group",
        "application__category",
        "panel",
    )
    if assignment is None or await conflicted_pairs(
        juror=juror,
        application_id=assignment.application_id,
    ):
        raise NotFound(_("This review does not exist or is not assigned to you."))
    return assignment
