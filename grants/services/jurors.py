"""Jurors: their memberships of panels, the profile assignment reads (languages, country,
organisation, expertise, load), and invitations to a jury."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n.labels import READ_LANGUAGES
from grants.mail import Links, queue_email
from grants.models import Category, Edition, Panel, PanelMember, Token, User
from grants.services import audit, tokens
from grants.services.accounts import mask_email, normalise_email, valid_email
from grants.services.editions import panel_of_edition
from grants.services.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServiceError,
    refuse_invalid,
)
from grants.services.forms import categories_of
from grants.services.parsing import parse_id, whole_number
from grants.services.permissions import require_organiser

MAX_LOAD = 500
PROFILE_FIELDS = ("languages", "country", "organisation", "expertise", "max_load")


async def memberships_of(user: User) -> list[PanelMember]:
    return (
        await PanelMember.filter(user=user).select_related("panel", "panel__edition").order_by("id")
    )


@dataclass
class Membership:
    member: PanelMember
    categories: list[Category]  # of the membership's call, for the expertise choice


async def profile(user: User) -> list[Membership]:
    """The user's jury memberships, each with the categories of its call."""
    return [Membership(m, await categories_of(m.panel.edition)) for m in await memberships_of(user)]


@dataclass(frozen=True)
class ProfileChange:
    """A juror's profile as typed in the form (raw text; `update_profile` checks it)."""

    languages: list[str]
    country: str
    organisation: str
    expertise: list[str]
    max_load: str


def _profile_errors(change: ProfileChange, member: PanelMember) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not set(change.languages) & set(READ_LANGUAGES):
        errors["languages"] = _("Choose at least one language you read.")
    country = change.country.strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = _("Enter the two-letter country code, for example FR.")
    if whole_number(change.max_load, member.min_load, MAX_LOAD) is None:
        errors["max_load"] = _("Enter a whole number between %(lo)s and 500.", lo=member.min_load)
    return errors


def _profile(member: PanelMember) -> dict[str, Any]:
    return {name: getattr(member, name) for name in PROFILE_FIELDS}


async def update_profile(
    user: User, member_id: str | int, change: ProfileChange, *, ip: str = ""
) -> PanelMember:
    number = parse_id(member_id)
    member = None
    if number is not None:
        member = await PanelMember.get_or_none(id=number, user=user).select_related(
            "panel", "panel__edition"
        )
    if member is None:
        raise NotFound(_("This jury membership does not exist or is not yours."))
    refuse_invalid(_profile_errors(change, member))
    slugs = {c.slug for c in await categories_of(member.panel.edition)}
    before = _profile(member)
    member.languages = [code for code in READ_LANGUAGES if code in set(change.languages)]
    member.country = change.country.strip().upper()
    member.organisation = change.organisation.strip()[:200]
    member.expertise = [slug for slug in change.expertise if slug in slugs]
    member.max_load = int(change.max_load.strip())  # checked above
    async with in_transaction():
        await member.save(update_fields=list(PROFILE_FIELDS))
        await audit.record(
            "juror.profile",
            actor=user,
            object_type="panel_member",
            object_id=member.id,
            before=before,
            after=_profile(member),
            ip=ip,
        )
    return member


async def invite_juror(
    user: User, edition: Edition, *, panel_id: str, email: str, links: Links, ip: str = ""
) -> str:
    """Mail a single-use link that makes the invited address's owner a juror of the panel (signed
    in with that address, verified; see `accept_invitation`)."""
    await require_organiser(user, edition)
    errors: dict[str, str] = {}
    panel: Panel | None = None
    try:
        panel = await panel_of_edition(edition, panel_id)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if not valid_email(email):
        errors["email"] = _("Enter an email address such as name@example.org.")
    refuse_invalid(errors)
    assert panel is not None
    address = normalise_email(email)
    invited = await User.get_or_none(email=address)
    async with in_transaction():
        token = await tokens.issue("jury_invite", payload={"panel_id": panel.id, "email": address})
        with i18n.speaking(invited.locale if invited else i18n.current_locale.get()):
            call = i18n.translated(edition.title) or edition.slug
            body = _(
                "Hello,\n\nthe organisers of %(call)s invite you to join the %(panel)s. Log in "
                "or create an account with this email address (%(email)s), then open this link "
                "to accept:\n%(link)s",
                call=call,
                panel=i18n.translated(panel.name) or panel.slug,
                email=address,
                link=links("jury_invitation", token=token),
            )
            await queue_email(
                to=address,
                subject=_("Invitation to the jury of %(call)s", call=call),
                body=body + "\n\n" + tokens.lifetime_note("jury_invite"),
            )
        await audit.record(
            "jury.invite",
            actor=user,
            object_type="panel",
            object_id=panel.id,
            after={"email": address},
            ip=ip,
        )
    return token


@dataclass(frozen=True)
class JuryInvitation:
    """What a jury invitation offers, for its confirmation page."""

    panel: Panel
    edition: Edition


async def _open_invitation(token: str) -> tuple[Token, Panel]:
    """The invitation behind a link with its panel and call; ServiceError when unusable."""
    invalid = _("This invitation link is invalid or has expired. Ask the organisers for a new one.")
    record = await tokens.lookup(token, "jury_invite")
    if record is None or record.expires_at < datetime.now(UTC):
        raise ServiceError(invalid)
    if record.used_at is not None:
        raise ServiceError(
            _("This invitation has already been used. Each invitation link works only once.")
        )
    panel = await Panel.get_or_none(id=record.payload.get("panel_id")).select_related("edition")
    if panel is None:
        raise ServiceError(invalid)
    return record, panel


async def _check_invitee(user: User, record: Token, panel: Panel, *, ip: str) -> None:
    """Only the invited address's owner, with that address verified, may accept (403 else,
    audited): a forwarded or leaked link makes nobody else a juror."""
    invited = str(record.payload.get("email", ""))
    if normalise_email(user.email) != invited:
        reason = "other address"
        message = _(
            "This invitation was sent to another email address (%(masked)s). Sign in with the "
            "account of that address to accept it, or ask the organisers to invite you.",
            masked=mask_email(invited),
        )
    elif user.email_verified_at is None:
        reason = "address not verified"
        message = _(
            "Confirm your email address first: open the link we sent to it when you signed up, "
            "then open this invitation again."
        )
    else:
        return
    await audit.record(
        "jury.accept_refused",
        actor=user,
        object_type="panel",
        object_id=panel.id,
        after={"reason": reason, "token": record.id},
        ip=ip,
    )
    raise PermissionDenied(message)


async def jury_invitation(user: User, token: str, *, ip: str = "") -> JuryInvitation:
    """The invitation behind a link, if `user` is the one invited (see `accept_invitation`)."""
    record, panel = await _open_invitation(token)
    await _check_invitee(user, record, panel, ip=ip)
    return JuryInvitation(panel=panel, edition=panel.edition)


async def accept_invitation(user: User, token: str, *, ip: str = "") -> PanelMember:
    """Make `user` a juror of the invitation's panel (the link works once), if the invitation
    was sent to their verified address; anyone else gets PermissionDenied (and an audit event).
    """
    record, panel = await _open_invitation(token)
    await _check_invitee(user, record, panel, ip=ip)
    async with in_transaction():
        if not await tokens.consume(record, user=user):
            raise ServiceError(
                _("This invitation has already been used. Each invitation link works only once.")
            )
        member, created = await PanelMember.get_or_create(
            panel=panel,
            user=user,
            defaults={"accepted_at": datetime.now(UTC), "languages": [user.locale]},
        )
        if not created and member.accepted_at is None:
            member.accepted_at = datetime.now(UTC)
            await member.save(update_fields=["accepted_at"])
        await audit.record(
            "jury.accept",
            actor=user,
            object_type="panel_member",
            object_id=member.id,
            after={"panel": panel.id, "invited_email": record.payload.get("email")},
            ip=ip,
        )
    await member.fetch_related("panel", "panel__edition")
    return member
