"""Organisers decide eligibility of submitted applications and move the call through phases."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import Application, ApplicationStatus, Edition, EditionStatus, StatusChange, User
from grants.services import audit
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import require_organiser

DECISIONS = {"eligible": ApplicationStatus.ELIGIBLE, "ineligible": ApplicationStatus.INELIGIBLE}
SCREENABLE = (ApplicationStatus.SUBMITTED, ApplicationStatus.ELIGIBLE, ApplicationStatus.INELIGIBLE)
PHASES = list(EditionStatus)


async def application_for_organiser(user: User, application_id: int) -> Application:
    application = await Application.get_or_none(id=application_id).prefetch_related(
        "edition", "group", "category"
    )
    if application is None:
        raise NotFound(_("This application does not exist."))
    await require_organiser(user, application.edition)
    return application


async def screen(
    user: User, application: Application, *, decision: str, note: str = "", ip: str = ""
) -> None:
    edition: Edition = await application.edition
    await require_organiser(user, edition)
    if decision not in DECISIONS:
        raise ServiceError(_("Choose eligible or ineligible."))
    if application.status not in SCREENABLE:
        raise ServiceError(_("Only submitted applications can be screened."))
    target = DECISIONS[decision]
    async with in_transaction():
        before = application.status
        application.status = target
        await application.save(update_fields=["status", "updated_at"])
        await StatusChange.create(
            application=application,
            from_status=before,
            to_status=target,
            actor=user,
            note=note[:2000],
        )
        await audit.record(
            "application.screen",
            actor=user,
            object_type="application",
            object_id=application.id,
            before={"status": before},
            after={"status": target, "note": note[:2000]},
            ip=ip,
        )


async def set_phase(user: User, edition: Edition, *, phase: str, ip: str = "") -> None:
    await require_organiser(user, edition)
    try:
        target = EditionStatus(phase)
    except ValueError:
        raise ServiceError(_("Unknown phase.")) from None
    before = edition.status
    edition.status = target
    await edition.save(update_fields=["status"])
    await audit.record(
        "edition.phase",
        actor=user,
        object_type="edition",
        object_id=edition.id,
        before={"status": before},
        after={"status": target},
        ip=ip,
    )
