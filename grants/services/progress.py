"""The jury desk: how far each juror and each application is, reminders, closing the review."""

from __future__ import annotations

from collections.abc import Mapping
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
from grants.services.errors import ServiceError, refuse_invalid
from grants.services.parsing import whole_number
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


MAX_LOAD = 10_000


def _load_errors(
    member: PanelMember, typed: Mapping[str, str], errors: dict[str, str]
) -> tuple[int, int] | None:
    """The (fewest, most) typed for one juror, or None (the reasons added to `errors`)."""
    loads: list[int] = []
    for name in (f"min_load_{member.id}", f"max_load_{member.id}"):
        number = whole_number(typed.get(name, ""), 0, MAX_LOAD)
        if number is None:
            errors[name] = _("Enter a whole number from 0 to %(n)s.", n=MAX_LOAD)
        else:
            loads.append(number)
    if len(loads) < 2:
        return None
    if loads[0] > loads[1]:
        errors[f"min_load_{member.id}"] = _(
            "The fewest reviews cannot be more than the most (%(most)s).", most=loads[1]
        )
        return None
    return loads[0], loads[1]


async def set_loads(user: User, edition: Edition, typed: Mapping[str, str], *, ip: str = "") -> int:
    """Each juror's fewest and most reviews (`min_load_<member id>`, `max_load_<member id>` as
    typed; a juror not in `typed` keeps theirs), which the assignment solver respects. Whole
    numbers, 0 ≤ fewest ≤ most, or InvalidInput naming each wrong field; returns how many
    jurors changed (audited)."""
    await require_organiser(user, edition)
    members = await PanelMember.filter(panel__edition=edition).order_by("id")
    errors: dict[str, str] = {}
    wanted: dict[int, tuple[int, int]] = {}
    for member in members:
        if f"min_load_{member.id}" in typed or f"max_load_{member.id}" in typed:
            loads = _load_errors(member, typed, errors)
            if loads is not None:
                wanted[member.id] = loads
    refuse_invalid(errors)
    changed = [m for m in members if m.id in wanted and wanted[m.id] != (m.min_load, m.max_load)]
    async with in_transaction():
        for member in changed:
            before = {"min_load": member.min_load, "max_load": member.max_load}
            member.min_load, member.max_load = wanted[member.id]
            await member.save(update_fields=["min_load", "max_load"])
            await audit.record(
                "jury.loads",
                actor=user,
                object_type="panel_member",
                object_id=member.id,
                before=before,
                after={"min_load": member.min_load, "max_load": member.max_load},
                ip=ip,
            )
    return len(changed)


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
