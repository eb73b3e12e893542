"""Conflicts of interest: who may never review what.

Two kinds: exclusions that follow from the data (same organisation, same country where the call
says so, a language the juror does not read), worked out by `exclusion_reason`, and recorded
conflicts (declared by the juror, or set by the organisers), read by `conflicted_pairs`, the one
query every other service asks.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import (
    Application,
    Assignment,
    Conflict,
    Edition,
    PanelMember,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit
from grants.services.editions import application_by_reference, juror_of_edition
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import require_organiser

Pair = tuple[int, int]  # (juror's user id, application id)


def exclusion_reason(member: PanelMember, application: Application) -> str | None:
    """Why this juror may never review this application (automatic conflicts and language).

    `application` must have its `group` and `edition` loaded."""
    group = application.group
    if (
        member.organisation
        and group.organisation
        and member.organisation.strip().lower() == group.organisation.strip().lower()
    ):
        return "same organisation"
    if (
        application.edition.same_country_conflict
        and member.country
        and member.country == group.country
    ):
        return "same country"
    if application.language not in member.languages:
        return "language not read"
    return None


def exclusion_message(reason: str) -> str:
    return {
        "same organisation": _("The juror works for the group's organisation."),
        "same country": _("The juror lives in the group's country."),
        "language not read": _("The juror does not read the application's language."),
    }.get(reason, reason)


async def conflicted_pairs(
    *,
    edition: Edition | None = None,
    juror: User | None = None,
    application_id: int | None = None,
) -> set[Pair]:
    """(juror's user id, application id) of every recorded conflict, narrowed by the edition,
    the juror and/or the application given."""
    query = Conflict.all()
    if edition is not None:
        query = query.filter(application__edition=edition)
    if juror is not None:
        query = query.filter(juror=juror)
    if application_id is not None:
        query = query.filter(application_id=application_id)
    return {(int(j), int(a)) for j, a in await query.values_list("juror_id", "application_id")}


async def declare_conflict(juror: User, assignment_id: int, *, ip: str = "") -> bool:
    """The juror declares a conflict with an assigned application (seen by reference and title
    only). The assignment goes unless its review was submitted; returns whether it went."""
    assignment = await Assignment.get_or_none(id=assignment_id, juror=juror)
    if assignment is None:
        raise NotFound(_("This review does not exist or is not assigned to you."))
    application_id = assignment.application_id
    async with in_transaction():
        _conflict, created = await Conflict.get_or_create(
            juror=juror,
            application_id=application_id,
            defaults={"source": "declared", "reason": "declared by the juror"},
        )
        review = await Review.get_or_none(assignment=assignment)
        removed = review is None or review.status != ReviewStatus.SUBMITTED
        if removed:
            await assignment.delete()
        await audit.record(
            "conflict.declare",
            actor=juror,
            object_type="application",
            object_id=application_id,
            after={"juror": juror.id, "assignment_removed": removed, "new": created},
            ip=ip,
        )
    return removed


async def forbid_pair(
    user: User, edition: Edition, *, member_id: str, reference: str, reason: str = "", ip: str = ""
) -> bool:
    """An organiser forbids a juror–application pair; a not-started assignment of it goes."""
    await require_organiser(user, edition)
    member = await juror_of_edition(edition, member_id)
    application = await application_by_reference(edition, reference)
    juror_id = member.user_id
    async with in_transaction():
        conflict, created = await Conflict.get_or_create(
            juror_id=juror_id,
            application=application,
            defaults={
                "source": "organiser",
                "reason": reason.strip()[:200] or "set by the organisers",
            },
        )
        if not created:
            raise ServiceError(
                _("This juror already has a conflict of interest with this application.")
            )
        assignment = await Assignment.get_or_none(juror_id=juror_id, application=application)
        removed = assignment is not None and not await Review.exists(assignment=assignment)
        if assignment is not None and removed:
            await assignment.delete()
        await audit.record(
            "conflict.organiser",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={"juror": juror_id, "reason": conflict.reason, "assignment_removed": removed},
            ip=ip,
        )
    return removed
