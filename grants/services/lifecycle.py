"""The life of an application and of an edition: which status may follow which, and the one
function that changes each, so the history is never written by hand.

Application: draft ─▶ submitted ─▶ eligible | ineligible ─▶ in_review ─▶ shortlisted ─▶
awarded | not_awarded; withdrawn from draft or submitted (until the deadline, which
`submission.withdraw` checks). An edition moves through its phases in any order an organiser
chooses (a mistaken phase must be undoable); publishing is the one way to `published`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import (
    Application,
    ApplicationStatus,
    Edition,
    EditionStatus,
    StatusChange,
    User,
)
from grants.services import audit
from grants.services.errors import ServiceError

S = ApplicationStatus
NEXT_STATUSES: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
    S.ELIGIBLE: frozenset({S.INELIGIBLE, S.IN_REVIEW, S.AWARDED, S.NOT_AWARDED}),
    S.INELIGIBLE: frozenset({S.ELIGIBLE}),
    S.IN_REVIEW: frozenset({S.SHORTLISTED, S.AWARDED, S.NOT_AWARDED}),
    S.SHORTLISTED: frozenset({S.IN_REVIEW, S.AWARDED, S.NOT_AWARDED}),
    S.AWARDED: frozenset(),
    S.NOT_AWARDED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

# Groups of statuses that several services ask about.
EDITABLE = (S.DRAFT,)
WITHDRAWABLE = (S.DRAFT, S.SUBMITTED)
SCREENABLE = (S.SUBMITTED, S.ELIGIBLE, S.INELIGIBLE)
ASSIGNABLE = (S.ELIGIBLE, S.IN_REVIEW)
AWARDABLE = (S.ELIGIBLE, S.IN_REVIEW, S.SHORTLISTED)

# Phases in which jurors may still score, bid and discuss.
REVIEW_OPEN = (
    EditionStatus.OPEN,
    EditionStatus.CLOSED,
    EditionStatus.SCREENING,
    EditionStatus.REVIEW,
)


def now() -> datetime:
    return datetime.now(UTC)


def can_move(current: ApplicationStatus, target: ApplicationStatus) -> bool:
    return target in NEXT_STATUSES[current]


async def record_start(
    application: Application, *, actor: User, at: datetime | None = None
) -> None:
    """The first line of an application's history: it began as a draft (`at`: now, unless a
    history is being recreated, as the demo does)."""
    await StatusChange.create(
        application=application, from_status="", to_status=S.DRAFT, actor=actor, at=at or now()
    )


async def move(
    application: Application,
    target: ApplicationStatus,
    *,
    actor: User | None,
    note: str = "",
    at: datetime | None = None,
) -> ApplicationStatus:
    """Change the application's status and write the line of its history; returns the status
    it had. Call inside the transaction of the change it belongs to. Moving to the status it
    already has changes nothing (a repeated click)."""
    before = application.status
    if before == target:
        return before
    _refuse_unless_allowed(before, target)
    application.status = target
    await application.save(update_fields=["status", "updated_at"])
    await StatusChange.create(
        application=application,
        from_status=before,
        to_status=target,
        actor=actor,
        note=note,
        at=at or now(),
    )
    return before


def _refuse_unless_allowed(before: ApplicationStatus, target: ApplicationStatus) -> None:
    if not can_move(before, target):
        raise ServiceError(
            _(
                "An application that is “%(before)s” cannot become “%(after)s”.",
                before=label("status", before),
                after=label("status", target),
            )
        )


async def move_many(
    applications: list[Application],
    target: ApplicationStatus,
    *,
    actor: User | None,
    note: str = "",
) -> list[ApplicationStatus]:
    """`move` for many applications at once (a bulk action): one UPDATE and one INSERT of their
    history lines, whatever their number; returns the status each had. Each must be allowed to
    move and none may have `target` already (the caller sorts them out: `can_move`). Call
    inside the transaction of the change, with the rows locked."""
    befores = [application.status for application in applications]
    for before in befores:
        if before == target:
            raise ServiceError(_("This application already has this status."))
        _refuse_unless_allowed(before, target)
    if not applications:
        return befores
    at = now()
    await Application.filter(id__in=[a.id for a in applications]).update(
        status=target, updated_at=at
    )
    await StatusChange.bulk_create(
        [
            StatusChange(
                application_id=application.id,
                from_status=before,
                to_status=target,
                actor=actor,
                note=note,
                at=at,
            )
            for application, before in zip(applications, befores, strict=True)
        ]
    )
    for application in applications:
        application.status, application.updated_at = target, at
    return befores


async def history(application: Application) -> list[StatusChange]:
    """The application's status changes, oldest first."""
    return await StatusChange.filter(application=application).order_by("at", "id")


async def histories(applications: list[Application]) -> dict[int, list[StatusChange]]:
    """The histories of several applications in one query, by application id."""
    by_application: dict[int, list[StatusChange]] = {a.id: [] for a in applications}
    changes = await StatusChange.filter(application_id__in=list(by_application)).order_by(
        "at", "id"
    )
    for change in changes:
        by_application[change.application_id].append(change)
    return by_application


async def move_edition(
    edition: Edition, target: EditionStatus, *, actor: User, ip: str = ""
) -> EditionStatus:
    """Change the edition's phase, audited; returns the phase it had. Publishing stamps the
    time. Call inside the transaction of the change it belongs to."""
    before = edition.status
    edition.status = target
    changed = ["status"]
    if target == EditionStatus.PUBLISHED and edition.published_at is None:
        edition.published_at = datetime.now(UTC)
        changed.append("published_at")
    await edition.save(update_fields=changed)
    await audit.record(
        "edition.phase",
        actor=actor,
        object_type="edition",
        object_id=edition.id,
        before={"status": before},
        after={"status": target},
        ip=ip,
    )
    return before
