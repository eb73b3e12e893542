"""Groups and their members; the checks a group must pass before it can submit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.mail import Links, queue_email
from grants.models import AgeBand, Edition, EditionStatus, Group, GroupMember, Token, User
from grants.services import audit, tokens
from grants.services.accounts import mask_email, normalise_email, valid_email
from grants.services.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceError,
    refuse_invalid,
)
from grants.services.parsing import parse_id

GROUP_KINDS = ("youth_organisation", "school_class", "informal_group")
DEFAULT_CONSENT_AGE = 18
ADULT_AGE = 18  # who may record a guardian's consent for another member


def parse_age_band(value: str) -> AgeBand | None:
    try:
        return AgeBand(value)
    except ValueError:
        return None


def _new_group_errors(
    *, name: str, kind: str, country: str, lead_first_name: str, lead_age_band: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("Enter the name of your group.")
    if kind not in GROUP_KINDS:
        errors["kind"] = _("Choose what kind of group you are.")
    country = country.strip().upper()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors["country"] = _("Choose your country.")
    if not lead_first_name.strip():
        errors["lead_first_name"] = _("Enter your first name.")
    if parse_age_band(lead_age_band) is None:
        errors["lead_age_band"] = _("Choose your age band.")
    return errors


async def create_group(
    user: User,
    *,
    name: str,
    kind: str,
    country: str,
    organisation: str,
    lead_first_name: str,
    lead_age_band: str,
) -> Group:
    """A new group with `user` as its lead member (first name and age band only)."""
    refuse_invalid(
        _new_group_errors(
            name=name,
            kind=kind,
            country=country,
            lead_first_name=lead_first_name,
            lead_age_band=lead_age_band,
        )
    )
    async with in_transaction():
        group = await Group.create(
            name=name.strip()[:200],
            kind=kind,
            country=country.strip().upper(),
            organisation=organisation.strip()[:200],
            created_by=user,
        )
        await GroupMember.create(
            group=group,
            user=user,
            first_name=lead_first_name.strip()[:80],
            role="lead",
            age_band=AgeBand(lead_age_band),
        )
        await audit.record("group.create", actor=user, object_type="group", object_id=group.id)
    return group


async def groups_of(user: User) -> list[Group]:
    """The groups the user is a member of, by name."""
    return await Group.filter(members__user_id=user.id).order_by("name", "id")


async def group_for(user: User, group_id: int) -> Group:
    """The group, if `user` is one of its members (else 404: existence is not revealed)."""
    group = await Group.get_or_none(id=group_id, members__user_id=user.id)
    if group is None:
        raise NotFound(_("This group does not exist or you are not a member."))
    return group


async def members_of(group: Group) -> list[GroupMember]:
    return await GroupMember.filter(group=group).order_by("id")


@dataclass
class GroupPage:
    group: Group
    members: list[GroupMember]
    consent_age: int
    viewer: GroupMember | None  # the signed-in user's own membership

    def may_record_consent(self, member: GroupMember) -> bool:
        return consent_refusal(self.viewer, member) is None


async def group_page(user: User, group_id: int) -> GroupPage:
    group = await group_for(user, group_id)
    members = await members_of(group)
    viewer = next((m for m in members if m.user_id == user.id), None)
    return GroupPage(group, members, await consent_age_in_force(), viewer)


async def add_member(
    user: User,
    group: Group,
    *,
    first_name: str,
    age_band: str,
    invite_email: str = "",
    links: Links | None = None,
) -> GroupMember:
    """Add a member; with `invite_email` (and `links` to make the link) they are invited by mail."""
    await group_for(user, group.id)
    errors: dict[str, str] = {}
    if not first_name.strip():
        errors["first_name"] = _("Enter the member's first name.")
    band = parse_age_band(age_band)
    if band is None:
        errors["age_band"] = _("Choose the member's age band.")
    if invite_email.strip() and not valid_email(invite_email):
        errors["invite_email"] = _("Enter an email address like name@example.org.")
    refuse_invalid(errors)
    assert band is not None
    email = normalise_email(invite_email)
    async with in_transaction():
        member = await GroupMember.create(
            group=group, first_name=first_name.strip()[:80], age_band=band, invite_email=email
        )
        if email and links is not None:
            await _send_invitation(links, user, group, member)
        await audit.record(
            "group.member_add",
            actor=user,
            object_type="group",
            object_id=group.id,
            after={"member": member.id, "age_band": band.value, "invited": bool(email)},
        )
    return member


async def _send_invitation(links: Links, inviter: User, group: Group, member: GroupMember) -> None:
    token = await tokens.issue("invite", payload={"member": member.id})
    body = _(
        'Hello %(first_name)s,\n\n%(name)s added you to the group "%(group)s" for the European '
        "Prevention Prize.\nTo join it, create an account (or log in) and accept the invitation "
        "with this link:\n%(link)s",
        first_name=member.first_name,
        name=inviter.display_name,
        group=group.name,
        link=links("invitation", token=token),
    )
    await queue_email(
        to=member.invite_email,
        subject=_(
            "%(name)s invites you to join %(group)s", name=inviter.display_name, group=group.name
        ),
        body=body + "\n\n" + tokens.lifetime_note("invite"),
    )


async def invitation(token: str) -> tuple[Token, GroupMember, Group]:
    """The open invitation behind a link, or a ServiceError when it is unknown, used or expired."""
    record = await tokens.lookup(token, "invite")
    member = None
    if record is not None and tokens.is_open(record):
        member = await GroupMember.get_or_none(
            id=record.payload.get("member"), user=None
        ).select_related("group")
    if record is None or member is None:
        raise ServiceError(_("This link is invalid or has expired. Ask for a new one."))
    return record, member, member.group


async def invitation_for(
    user: User, token: str, *, ip: str = ""
) -> tuple[Token, GroupMember, Group]:
    """The open invitation behind a link, if it was sent to `user`'s address.

    Anyone else gets PermissionDenied (and an audit event): a forwarded link lets nobody else
    see the group's members and applications, many of them minors."""
    record, member, group = await invitation(token)
    if member.invite_email and normalise_email(user.email) != member.invite_email:
        await audit.record(
            "group.invitation_refused",
            actor=user,
            object_type="group",
            object_id=group.id,
            after={"member": member.id, "reason": "other address"},
            ip=ip,
        )
        raise PermissionDenied(
            _(
                "This invitation was sent to another email address (%(masked)s). Sign in with "
                "the account of that address, or ask the person who invited you to invite the "
                "address you use here.",
                masked=mask_email(member.invite_email),
            )
        )
    return record, member, group


async def accept_invitation(user: User, token: str, *, ip: str = "") -> Group:
    """Link the invited member to `user` (once), if the invitation was sent to their address.

    Opening the link mailed to that address confirms it, as a verification link would."""
    await invitation_for(user, token, ip=ip)  # refused (and audited) before anything changes
    async with in_transaction():
        record, member, group = await invitation(token)
        if await GroupMember.exists(group=group, user=user):
            raise ServiceError(_("You are already a member of this group."))
        if not await tokens.consume(record, user=user):
            raise ServiceError(_("This link is invalid or has expired. Ask for a new one."))
        member.user = user
        await member.save(update_fields=["user_id"])
        if user.email_verified_at is None:
            user.email_verified_at = datetime.now(UTC)
            await user.save(update_fields=["email_verified_at"])
        await audit.record(
            "group.invitation_accept",
            actor=user,
            object_type="group",
            object_id=group.id,
            after={"member": member.id},
            ip=ip,
        )
    return group


def consent_refusal(recorder: GroupMember | None, member: GroupMember) -> str | None:
    """Why `recorder` may not record a guardian's consent for `member`; None when they may.

    Only an adult member of the group (18 or over by their age band) who is not that member
    records it: a minor cannot vouch for their own guardian, nor for another minor's."""
    if recorder is not None and recorder.id == member.id:
        return _(
            "You cannot record a guardian's consent for yourself. An adult member of your "
            "group (18 or over), such as a teacher or youth worker, records it after speaking "
            "with your parent or guardian."
        )
    if recorder is None or recorder.age_band.lower_age < ADULT_AGE:
        return _(
            "Only an adult member of the group (18 or over) can record a guardian's consent. "
            "Invite an adult, such as a teacher or youth worker, to join your group with their "
            "own account."
        )
    return None


async def record_consent(
    user: User, group: Group, member_id: int | str, *, guardian_name: str, ip: str = ""
) -> GroupMember:
    """Record that a parent or guardian consented for a member of the user's group: only an
    adult member who is not that member may (PermissionDenied otherwise, audited)."""
    await group_for(user, group.id)
    number = parse_id(member_id)
    member = None
    if number is not None:
        member = await GroupMember.get_or_none(id=number, group=group)
    if member is None:
        raise ServiceError(_("This member does not exist."))
    refusal = consent_refusal(await GroupMember.get_or_none(group=group, user=user), member)
    if refusal is not None:
        await audit.record(
            "group.consent_refused",
            actor=user,
            object_type="group",
            object_id=group.id,
            after={"member": member.id},
            ip=ip,
        )
        raise PermissionDenied(refusal)
    if not guardian_name.strip():
        raise InvalidInput(
            {"guardian_name": _("Enter the name of the parent or guardian who consented.")}
        )
    member.guardian_name = guardian_name.strip()[:120]
    member.guardian_consent_at = datetime.now(UTC)
    member.consent_recorded_by = user
    async with in_transaction():
        await member.save()
        await audit.record(
            "group.consent",
            actor=user,
            object_type="group",
            object_id=group.id,
            after={"member": member.id},
            ip=ip,
        )
    return member


async def consent_age_in_force() -> int:
    """The age under which a member needs a guardian's consent for some call open now.

    A group is not tied to one call, so its page asks for consent up to the highest consent
    age among the open calls: an applicant told by a call to record consent can always do so.
    """
    query = Edition.filter(status=EditionStatus.OPEN).values_list("consent_age", flat=True)
    # values_list(flat=True) gives values, not the tuples Tortoise's types say (tortoise-orm#1112)
    ages = cast(list[int], await query)
    return max([DEFAULT_CONSENT_AGE, *ages])


def needs_consent(member: GroupMember, edition: Edition) -> bool:
    # Only the band is known, so a band reaching below the consent age needs consent for everyone
    # in it: asking an adult's guardian once too often is better than missing a minor's.
    return member.age_band.lower_age < edition.consent_age and member.guardian_consent_at is None


def _consent_problem(member: GroupMember, edition: Edition) -> str:
    if member.age_band.upper_age < edition.consent_age:
        return _(
            "%(name)s is under %(age)s: record a parent's or guardian's consent on the group "
            "page before submitting.",
            name=member.first_name,
            age=edition.consent_age,
        )
    return _(
        "%(name)s's age band reaches below %(age)s, the age from which this call needs no "
        "guardian's consent: record a parent's or guardian's consent on the group page before "
        "submitting.",
        name=member.first_name,
        age=edition.consent_age,
    )


async def submission_blockers(group: Group, edition: Edition) -> list[str]:
    """Why this group cannot submit to this edition yet; empty when it can."""
    problems: list[str] = []
    members = await members_of(group)
    if not (edition.min_team_size <= len(members) <= edition.max_team_size):
        problems.append(
            _(
                "A team must have between %(lo)s and %(hi)s members. Yours has %(n)s.",
                lo=edition.min_team_size,
                hi=edition.max_team_size,
                n=len(members),
            )
        )
    if edition.eligible_countries and group.country not in edition.eligible_countries:
        problems.append(_("Groups from %(c)s cannot apply to this call.", c=group.country))
    problems.extend(_consent_problem(m, edition) for m in members if needs_consent(m, edition))
    return problems
