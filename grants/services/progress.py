"""The jury desk: how far each juror and each application is, reminders, closing the review."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.mail import Links, queue_email
from grants.models import (
    Application,
    Assignment,
    Conflict,
    Edition,
    EditionStatus,
    Panel,
    PanelMember,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit, lifecycle
from grants.services.conflicts import conflicted_pairs
from grants.services.editions import panels_of
from grants.services.errors import ServiceError
from grants.services.permissions import require_organiser


@dataclass
class JurorProgress:
    member: PanelMember
    assigned: int = 0
    drafts: int = 0
    submitted: int = 0

    @property
    def unsubmitted(self) -> int:
        return self.assigned - self.submitted


@dataclass
class ApplicationProgress:
    application: Application
    assigned: int = 0
    submitted: int = 0
    assignments: list[Assignment] = field(default_factory=list)


@dataclass
class Progress:
    jurors: list[JurorProgress]
    applications: list[ApplicationProgress]
    k: int

    @property
    def unassigned(self) -> list[ApplicationProgress]:
        """Applications waiting for jurors: fewer than k assigned."""
        return [a for a in self.applications if a.assigned < self.k]


async def progress(user: User, edition: Edition) -> Progress:
    await require_organiser(user, edition)
    members = (
        await PanelMember.filter(panel__edition=edition)
        .select_related("user", "panel")
        .order_by("panel_id", "id")
    )
    applications = await Application.filter(
        edition=edition, status__in=lifecycle.ASSIGNABLE
    ).order_by("reference")
    assignments = (
        await Assignment.filter(application__edition=edition)
        .select_related("juror", "panel", "application")
        .order_by("id")
    )
    status = dict(
        await Review.filter(assignment__application__edition=edition).values_list(
            "assignment_id", "status"
        )
    )
    by_juror = {(m.user_id, m.panel_id): JurorProgress(m) for m in members}
    by_application = {a.id: ApplicationProgress(a) for a in applications}
    for assignment in assignments:
        review = status.get(assignment.id)
        juror_row = by_juror.get((assignment.juror_id, assignment.panel_id))
        if juror_row:
            juror_row.assigned += 1
            juror_row.drafts += review == ReviewStatus.DRAFT
            juror_row.submitted += review == ReviewStatus.SUBMITTED
        application_row = by_application.get(assignment.application_id)
        if application_row:
            application_row.assigned += 1
            application_row.submitted += review == ReviewStatus.SUBMITTED
            application_row.assignments.append(assignment)
    return Progress(
        jurors=list(by_juror.values()),
        applications=list(by_application.values()),
        k=edition.reviews_per_application,
    )


@dataclass
class JuryDesk:
    """Everything the organisers' jury page shows."""

    progress: Progress
    panels: list[Panel]
    conflicts: list[Conflict]
    review_open: bool


async def jury_desk(user: User, edition: Edition) -> JuryDesk:
    return JuryDesk(
        progress=await progress(user, edition),
        panels=await panels_of(edition),
        conflicts=await Conflict.filter(application__edition=edition)
        .select_related("juror", "application")
        .order_by("id"),
        review_open=edition.status in lifecycle.REVIEW_OPEN,
    )


async def _unsubmitted_by_juror(edition: Edition) -> dict[int, tuple[User, int]]:
    """Jurors with reviews to finish (not under a conflict): juror id -> (juror, how many)."""
    assignments = await Assignment.filter(application__edition=edition).select_related("juror")
    submitted = set(
        await Review.filter(
            assignment__application__edition=edition, status=ReviewStatus.SUBMITTED
        ).values_list("assignment_id", flat=True)
    )
    conflicted = await conflicted_pairs(edition=edition)
    pending: dict[int, tuple[User, int]] = {}
    for assignment in assignments:
        juror_id = assignment.juror_id
        if assignment.id in submitted or (juror_id, assignment.application_id) in conflicted:
            continue
        juror, count = pending.get(juror_id, (assignment.juror, 0))
        pending[juror_id] = (juror, count + 1)
    return pending


async def send_reminders(user: User, edition: Edition, *, links: Links, ip: str = "") -> int:
    """One reminder mail per juror who has reviews to finish; returns how many were queued."""
    await require_organiser(user, edition)
    if edition.status not in lifecycle.REVIEW_OPEN:
        raise ServiceError(
            _("The review phase is closed: there is nothing to remind the jurors of.")
        )
    pending = await _unsubmitted_by_juror(edition)
    async with in_transaction():
        for juror, count in pending.values():
            with i18n.speaking(juror.locale):
                title = i18n.translated(edition.title) or edition.slug
                await queue_email(
                    to=juror.email,
                    subject=_(
                        "Reminder: %(n)s reviews to finish for %(call)s", n=count, call=title
                    ),
                    body=_(
                        "Hello %(name)s,\n\n%(n)s of the applications assigned to you in %(call)s "
                        "still wait for your submitted review. Your reviews:\n%(link)s\n\n"
                        "Thank you for your work on the jury.",
                        name=juror.display_name,
                        n=count,
                        call=title,
                        link=links("jury"),
                    ),
                )
        await audit.record(
            "jury.remind",
            actor=user,
            object_type="edition",
            object_id=edition.id,
            after={"jurors": sorted(pending)},
            ip=ip,
        )
    return len(pending)


async def close_review(user: User, edition: Edition, *, ip: str = "") -> None:
    """End the review phase: the call moves to deliberation and scores are frozen."""
    await require_organiser(user, edition)
    if edition.status not in lifecycle.REVIEW_OPEN:
        raise ServiceError(_("The review phase is already closed."))
    async with in_transaction():
        await lifecycle.move_edition(edition, EditionStatus.DELIBERATION, actor=user, ip=ip)
