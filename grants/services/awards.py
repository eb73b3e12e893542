"""Awards are recorded by organisers and stay embargoed until the edition is published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import (
    Application,
    ApplicationStatus,
    Award,
    Edition,
    EditionStatus,
    StatusChange,
    User,
)
from grants.services import audit
from grants.services.errors import ServiceError
from grants.services.permissions import require_organiser

AWARDABLE = (ApplicationStatus.IN_REVIEW, ApplicationStatus.SHORTLISTED, ApplicationStatus.ELIGIBLE)


async def record_award(
    user: User,
    edition: Edition,
    *,
    reference: str,
    title: str,
    position: int,
    amount_eur: int,
    citation: str,
    ip: str = "",
) -> Award:
    await require_organiser(user, edition)
    application = await Application.get_or_none(edition=edition, reference=reference.strip())
    errors: dict[str, str] = {}
    if application is None:
        errors["reference"] = _("No application of this call has this reference.")
    elif application.status not in AWARDABLE and application.status != ApplicationStatus.AWARDED:
        errors["reference"] = _("Only screened, eligible applications can receive an award.")
    if not title.strip():
        errors["title"] = _("Name the award, for example First prize.")
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    assert application is not None
    async with in_transaction():
        award, _created = await Award.update_or_create(
            application=application,
            defaults={
                "edition": edition,
                "title": title.strip()[:120],
                "position": position,
                "amount_eur": max(0, amount_eur),
                "citation": citation.strip(),
                "created_by": user,
            },
        )
        await audit.record(
            "award.record",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={"title": award.title, "position": position},
            ip=ip,
        )
    return award


async def publish(user: User, edition: Edition, *, ip: str = "") -> None:
    """Lift the embargo: awarded applications become public, the others are not awarded."""
    await require_organiser(user, edition)
    if not await Award.exists(edition=edition):
        raise ServiceError(_("Record at least one award before publishing."))
    async with in_transaction():
        awarded = {a.application_id for a in await Award.filter(edition=edition)}  # type: ignore[attr-defined]
        for application in await Application.filter(edition=edition, status__in=(*AWARDABLE,)):
            target = (
                ApplicationStatus.AWARDED
                if application.id in awarded
                else ApplicationStatus.NOT_AWARDED
            )
            await StatusChange.create(
                application=application,
                from_status=application.status,
                to_status=target,
                actor=user,
            )
            application.status = target
            await application.save(update_fields=["status", "updated_at"])
        edition.status = EditionStatus.PUBLISHED
        edition.published_at = datetime.now(UTC)
        await edition.save(update_fields=["status", "published_at"])
        await audit.record(
            "edition.publish", actor=user, object_type="edition", object_id=edition.id, ip=ip
        )


def is_public(edition: Edition, at: datetime | None = None) -> bool:
    at = at or datetime.now(UTC)
    return edition.status == EditionStatus.PUBLISHED or (
        edition.publish_at is not None
        and edition.publish_at <= at
        and edition.status in (EditionStatus.AWARDED, EditionStatus.PUBLISHED)
    )


@dataclass(frozen=True)
class Winner:
    """What the public may see: the group's name and country, never a member's name."""

    title: str
    position: int
    reference: str
    project_title: str
    summary: str
    group_name: str
    country: str
    citation: str


async def public_winners(edition: Edition) -> list[Winner]:
    if not is_public(edition):
        return []
    awards = (
        await Award.filter(edition=edition)
        .prefetch_related("application", "application__group")
        .order_by("position", "id")
    )
    return [
        Winner(
            title=a.title,
            position=a.position,
            reference=a.application.reference,
            project_title=a.application.title,
            summary=a.application.summary if a.application.publish_consent else "",
            group_name=a.application.group.name,
            country=a.application.group.country,
            citation=a.citation,
        )
        for a in awards
    ]
