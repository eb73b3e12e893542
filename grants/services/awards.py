"""Awards are recorded by organisers and stay embargoed until the edition is published."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import Application, ApplicationStatus, Award, Edition, EditionStatus, User
from grants.services import audit, lifecycle, ranking
from grants.services.editions import application_by_reference, panels_of
from grants.services.errors import InvalidInput, ServiceError, refuse_invalid
from grants.services.parsing import length_error, max_length, whole_number
from grants.services.permissions import require_organiser

MAX_POSITION = 100
MAX_AMOUNT_EUR = 10_000_000


async def record_award(
    user: User,
    edition: Edition,
    *,
    reference: str,
    title: str,
    position: str,
    amount_eur: str,
    citation: str,
    ip: str = "",
) -> Award:
    """Record (or change) the award of one application; private until the edition is published.

    A place or an amount that makes no sense is refused (InvalidInput), never changed; the
    ranking's method in force (aggregator, panel weights) is recorded with the award."""
    await require_organiser(user, edition)
    errors: dict[str, str] = {}
    application: Application | None = None
    try:
        application = await application_by_reference(edition, reference)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if application is not None and application.status not in (
        *lifecycle.AWARDABLE,
        ApplicationStatus.AWARDED,
    ):
        errors["reference"] = _("Only screened, eligible applications can receive an award.")
    if not title.strip():
        errors["title"] = _("Name the award, for example First prize.")
    elif problem := length_error(title.strip(), max_length(Award, "title")):
        errors["title"] = problem
    place = whole_number(position or "1", 1, MAX_POSITION)
    if place is None:
        errors["position"] = _("Enter a place from 1 to %(n)s.", n=MAX_POSITION)
    amount = whole_number(amount_eur or "0", 0, MAX_AMOUNT_EUR)
    if amount is None:
        errors["amount_eur"] = _("Enter an amount in whole euros, from 0 to 10,000,000.")
    refuse_invalid(errors)
    assert application is not None
    method = ranking.method_of(edition, await panels_of(edition))
    async with in_transaction():
        award, _created = await Award.update_or_create(
            application=application,
            defaults={
                "edition": edition,
                "title": title.strip(),
                "position": place,
                "amount_eur": amount,
                "citation": citation.strip(),
                "created_by": user,
            },
        )
        await audit.record(
            "award.record",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={
                "title": award.title,
                "position": place,
                "amount_eur": amount,
                "ranking": method.as_dict(),  # the method in force, recorded with the award
            },
            ip=ip,
        )
    return award


async def publish(user: User, edition: Edition, *, ip: str = "") -> None:
    """Lift the embargo: awarded applications become public, the others are not awarded."""
    await require_organiser(user, edition)
    if not await Award.exists(edition=edition):
        raise ServiceError(_("Record at least one award before publishing."))
    async with in_transaction():
        awarded = set(await Award.filter(edition=edition).values_list("application_id", flat=True))
        for application in await Application.filter(
            edition=edition, status__in=lifecycle.AWARDABLE
        ):
            target = (
                ApplicationStatus.AWARDED
                if application.id in awarded
                else ApplicationStatus.NOT_AWARDED
            )
            await lifecycle.move(application, target, actor=user)
        await lifecycle.move_edition(edition, EditionStatus.PUBLISHED, actor=user, ip=ip)
        await audit.record(
            "edition.publish", actor=user, object_type="edition", object_id=edition.id, ip=ip
        )


def is_public(edition: Edition, at: datetime | None = None) -> bool:
    """Whether the edition's awards may be seen by anyone (published, or past `publish_at`)."""
    at = at or datetime.now(UTC)
    return edition.status == EditionStatus.PUBLISHED or (
        edition.publish_at is not None
        and edition.publish_at <= at
        and edition.status in (EditionStatus.AWARDED, EditionStatus.PUBLISHED)
    )
