"""Conflicts of interest: who may never review what.

Three kinds: exclusions that follow from a juror's profile (same organisation, same country where
the call says so, a language the juror does not read), worked out by `exclusion_reason`;
membership of the group that applied (linked to the juror's account, or invited at the juror's
address and not yet accepted), found by `group_member_pairs`; and recorded conflicts (declared by
the juror, or set by the organisers). `conflicted_pairs`, the one query every other service asks,
gives the last two; `pair_exclusion` says in words why one pair is excluded, whatever the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import (
    Application,
    Assignment,
    Conflict,
    Edition,
    GroupMember,
    PanelMember,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit
from grants.services.accounts import normalise_email
from grants.services.editions import application_by_reference, juror_of_edition
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import require_organiser

Pair = tuple[int, int]  # (juror's user id, application id)
GROUP_MEMBER = "member of the group"


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
        GROUP_MEMBER: _("The juror is a member of the group that applied."),
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
    """(juror's user id, application id) of every recorded conflict and every membership of the
    applying group, narrowed by the edition, the juror and/or the application given."""
    query = Conflict.all()
    if edition is not None:
        query = query.filter(application__edition=edition)
    if juror is not None:
        query = query.filter(juror=juror)
    if application_id is not None:
        query = query.filter(application_id=application_id)
    recorded = {(int(j), int(a)) for j, a in await query.values_list("juror_id", "application_id")}
    members = await group_member_pairs(edition=edition, juror=juror, application_id=application_id)
    return recorded | members


async def group_member_pairs(
    *,
    edition: Edition | None = None,
    juror: User | None = None,
    application_id: int | None = None,
) -> set[Pair]:
    """(user id, application id) wherever the user is a member of the application's group: the
    membership is linked to their account, or was sent to their address and is not accepted yet
    (whoever accepted it since, the invited person stays conflicted)."""
    members = GroupMember.all()
    applications = Application.all()
    if edition is not None:
        members = members.filter(group__applications__edition=edition)
        applications = applications.filter(edition=edition)
    if application_id is not None:
        members = members.filter(group__applications__id=application_id)
        applications = applications.filter(id=application_id)
    if juror is not None:
        members = members.filter(Q(user_id=juror.id) | Q(invite_email=normalise_email(juror.email)))
    rows = await members.distinct().values_list("group_id", "user_id", "invite_email")
    if not rows:
        return set()
    invited = User.filter(
        email__in=Subquery(members.filter(invite_email__not="").values("invite_email"))
    )
    user_of = dict(await invited.values_list("email", "id"))
    people: dict[int, set[int]] = {}  # group id -> user ids
    for group_id, user_id, email in rows:
        for person in (user_id, user_of.get(email)):
            if person is not None:
                people.setdefault(int(group_id), set()).add(int(person))
    if juror is not None:  # a few groups; else the edition's (or one) applications are the scope
        applications = applications.filter(group_id__in=list(people))
    return {
        (person, int(a))
        for a, g in await applications.values_list("id", "group_id")
        for person in people.get(int(g), ())
    }


async def pair_exclusion(member: PanelMember, application: Application) -> str | None:
    """Why this juror may never review this application, in words (a membership of the group,
    a recorded conflict, or the juror's profile); None when they may.

    `member.user` and the application's `group` and `edition` must be loaded."""
    juror = member.user
    if await group_member_pairs(juror=juror, application_id=application.id):
        return exclusion_message(GROUP_MEMBER)
    conflict = await Conflict.get_or_none(juror=juror, application=application)
    if conflict is not None:
        return recorded_message(conflict.source, conflict.reason)
    reason = exclusion_reason(member, application)
    return exclusion_message(reason) if reason else None


def recorded_message(source: str, reason: str) -> str:
    """A recorded conflict in words: declared by the juror, or set by the organisers (why)."""
    if source == "declared":
        return _("The juror declared a conflict of interest.")
    return _("The organisers recorded a conflict of interest: %(reason)s", reason=reason)


async def conflict_reasons(*, edition: Edition) -> dict[Pair, str]:
    """Every pair of `conflicted_pairs(edition=...)` with why, in words (a membership of the
    applying group first, as `pair_exclusion` says)."""
    reasons = {
        (int(j), int(a)): recorded_message(source, reason)
        for j, a, source, reason in await Conflict.filter(application__edition=edition).values_list(
            "juror_id", "application_id", "source", "reason"
        )
    }
    member = exclusion_message(GROUP_MEMBER)
    reasons.update((pair, member) for pair in await group_member_pairs(edition=edition))
    return reasons


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
        if review is not None and not removed:
            await _review_excluded(juror, review, application_id, "declared by the juror", ip)
    return removed


@dataclass(frozen=True)
class Forbidden:
    """What forbidding a pair did to its assignment: removed (nothing was started), or kept
    with its review (`review_status`), which then counts no more in the ranking."""

    assignment_removed: bool
    review_status: str | None = None


async def forbid_pair(
    user: User, edition: Edition, *, member_id: str, reference: str, reason: str = "", ip: str = ""
) -> Forbidden:
    """An organiser forbids a juror–application pair. A not-started assignment of it goes; a
    started or submitted review is never deleted: it is kept, left out of the ranking (with the
    reason, `conflict_reasons`) and the exclusion audited."""
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
        review = await Review.get_or_none(assignment=assignment) if assignment else None
        removed = assignment is not None and review is None
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
        if review is not None:
            await _review_excluded(user, review, application.id, conflict.reason, ip)
    return Forbidden(removed, str(review.status) if review else None)


async def _review_excluded(
    actor: User, review: Review, application_id: int, reason: str, ip: str
) -> None:
    """Audit that a kept review of a pair now in conflict is left out of the ranking."""
    await audit.record(
        "review.excluded",
        actor=actor,
        object_type="review",
        object_id=review.id,
        after={
            "application": application_id,
            "assignment": review.assignment_id,
            "status": str(review.status),
            "reason": reason,
        },
        ip=ip,
    )
