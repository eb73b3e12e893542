"""Organisers run the call: the list of submitted applications, eligibility decisions, the
edition's phases, and one application read in full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    DiscussionComment,
    Edition,
    EditionStatus,
    Panel,
    StatusChange,
    User,
)
from grants.services import audit, dossier, lifecycle
from grants.services.dossier import DossierFile, ReviewRead
from grants.services.editions import panels_of
from grants.services.errors import ServiceError
from grants.services.permissions import application_for_organiser, require_organiser
from grants.services.submission import answers_by_key

DECISIONS = {"eligible": ApplicationStatus.ELIGIBLE, "ineligible": ApplicationStatus.INELIGIBLE}
MAX_NOTE = 2000
# Every phase an organiser may choose by hand; results are published from the ranking page.
PHASES = [phase for phase in EditionStatus if phase != EditionStatus.PUBLISHED]


@dataclass
class Overview:
    """The organisers' main page of a call."""

    edition: Edition
    applications: list[Application]  # every one not in draft, by reference
    panels: list[Panel]
    assignments: list[Assignment]


async def overview(user: User, edition: Edition) -> Overview:
    await require_organiser(user, edition)
    return Overview(
        edition=edition,
        applications=await Application.filter(edition=edition)
        .exclude(status=ApplicationStatus.DRAFT)
        .select_related("group", "category")
        .order_by("reference"),
        panels=await panels_of(edition),
        assignments=await Assignment.filter(application__edition=edition).select_related(
            "juror", "application", "panel"
        ),
    )


@dataclass
class ApplicationFile:
    """One application as organisers read it: the dossier (services/dossier.py)."""

    application: Application
    answers: dict[str, Any]  # by question key
    history: list[StatusChange]
    files: list[DossierFile]  # under their original names
    reviews: list[ReviewRead]  # every juror's, begun or not, with juror names even if blind
    discussion: list[DiscussionComment]


async def application_file(user: User, application_id: int, *, ip: str = "") -> ApplicationFile:
    """One application as an organiser reads it, with its files, every review and the jury's
    discussion; every read is audited."""
    application = await application_for_organiser(user, application_id)
    await audit.record(
        "application.read", actor=user, object_type="application", object_id=application.id, ip=ip
    )
    return ApplicationFile(
        application=application,
        answers=await answers_by_key(application),
        history=await lifecycle.history(application),
        files=await dossier.files_of(application),
        reviews=await dossier.reviews_of(application),
        discussion=await dossier.discussion_of(application),
    )


async def screen(
    user: User, application_id: int, *, decision: str, note: str = "", ip: str = ""
) -> Application:
    """Mark a submitted application eligible or ineligible (a decision can be changed)."""
    application = await application_for_organiser(user, application_id)
    if decision not in DECISIONS:
        raise ServiceError(_("Choose eligible or ineligible."))
    if application.status not in lifecycle.SCREENABLE:
        raise ServiceError(_("Only submitted applications can be screened."))
    target = DECISIONS[decision]
    async with in_transaction():
        before = await lifecycle.move(application, target, actor=user, note=note[:MAX_NOTE])
        await audit.record(
            "application.screen",
            actor=user,
            object_type="application",
            object_id=application.id,
            before={"status": before},
            after={"status": target, "note": note[:MAX_NOTE]},
            ip=ip,
        )
    return application


async def set_phase(user: User, edition: Edition, *, phase: str, ip: str = "") -> None:
    await require_organiser(user, edition)
    target = next((p for p in PHASES if p.value == phase), None)
    if target is None:
        raise ServiceError(_("Unknown phase."))
    async with in_transaction():
        await lifecycle.move_edition(edition, target, actor=user, ip=ip)
