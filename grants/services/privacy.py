"""A person's own data: everything stored about them as JSON, and erasure on request.

Erasure removes or anonymises what identifies the person, never what others rely on: a
submitted application keeps its answers and files (its receipt hash stays valid), a juror's
submitted reviews and recorded conflicts stay (rankings and published awards do not move), and
the person's row stays, emptied, so every reference to it still holds. `docs/privacy.md` says
what is kept, why and for how long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.mail import LINK_END, LINK_START, MARKED_LINK
from grants.models import (
    Answer,
    Application,
    ApplicationMessage,
    ApplicationStatus,
    Assignment,
    Attachment,
    AuditEvent,
    Bid,
    Conflict,
    CriterionScore,
    DiscussionComment,
    Edition,
    EditionRole,
    GroupMember,
    LoginAttempt,
    OutboxEmail,
    PanelMember,
    Review,
    ReviewStatus,
    StatusChange,
    Token,
    User,
    UserSession,
)
from grants.passwords import verify_password
from grants.services import audit
from grants.services.accounts import normalise_email
from grants.services.errors import InvalidInput, PermissionDenied, refuse_invalid
from grants.services.permissions import require_organiser
from grants.services.submission import answers_by_key
from grants.settings import Settings
from grants.storage import LocalStorage

EXPORT_FORMAT = 1
# A link as mail.py marks a secret one, or any web address.
LINK = re.compile(f"{MARKED_LINK.pattern}|https?://[^\\s{LINK_START}{LINK_END}]+")
LINK_REMOVED = "[link removed]"
# What an erased person's stored name becomes. Stored, hence in one language: the pages that
# show jurors' names show it as it is (see docs/privacy.md).
FORMER_JUROR = "Former juror"
FORMER_MEMBER = "Former member"
ERASED_MARK = "—"  # a first name in a group after erasure
UNUSABLE_PASSWORD = "!erased"  # no argon2 hash: no password ever matches it


def erased_email(user_id: int) -> str:
    """An address nobody can own (.invalid is reserved, RFC 2606), unique per account."""
    return f"erased-{user_id}@erased.invalid"


def without_links(body: str) -> str:
    """A mail body as the export shows it: the links (single-use tokens) taken out."""
    return LINK.sub(LINK_REMOVED, body)


def _plain(value: Any) -> Any:
    """JSON-ready: dates in ISO 8601 (UTC), enums by their value, containers walked."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- Export --------------------------------------------------------------------------------


def _account(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "locale": user.locale,
        "timezone": user.timezone,
        "is_admin": user.is_admin,
        "email_verified_at": user.email_verified_at,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
    }


async def _memberships(user: User) -> list[dict[str, Any]]:
    members = await GroupMember.filter(user=user).select_related("group").order_by("id")
    return [
        {
            "group": {
                "id": m.group.id,
                "name": m.group.name,
                "kind": m.group.kind,
                "country": m.group.country,
                "organisation": m.group.organisation,
                "created_by_you": m.group.created_by_id == user.id,
            },
            "first_name": m.first_name,
            "role": m.role,
            "age_band": m.age_band,  # the only age data stored: never a birth date
            "guardian_consent_at": m.guardian_consent_at,
            "guardian_name": m.guardian_name,
            "joined_at": m.created_at,
        }
        for m in members
    ]


async def _applications(user: User) -> list[dict[str, Any]]:
    applications = (
        await Application.filter(group__members__user_id=user.id)
        .distinct()
        .select_related("edition", "group", "category")
        .order_by("id")
    )
    exported = []
    for a in applications:
        attachments = await Attachment.filter(application=a).order_by("id")
        history = await StatusChange.filter(application=a).order_by("at", "id")
        messages = await ApplicationMessage.filter(application=a).order_by("created_at", "id")
        exported.append(
            {
                "reference": a.reference,
                "call": a.edition.slug,
                "group": a.group.name,
                "title": a.title,
                "summary": a.summary,
                "language": a.language,
                "category": a.category.slug if a.category else None,
                "status": a.status,
                "publish_consent": a.publish_consent,
                "submitted_at": a.submitted_at,
                "content_hash": a.content_hash,
                "created_by_you": a.created_by_id == user.id,
                "answers": await answers_by_key(a),
                "attachments": [
                    {
                        "name": f.original_name,
                        "content_type": f.content_type,
                        "size": f.size,
                        "sha256": f.sha256,
                        "uploaded_at": f.created_at,
                        "uploaded_by_you": f.uploaded_by_id == user.id,
                    }
                    for f in attachments
                ],
                "history": [
                    {"from": h.from_status, "to": h.to_status, "at": h.at, "note": h.note}
                    for h in history
                ],
                "messages_from_organisers": [
                    {"at": m.created_at, "body": m.body} for m in messages
                ],
            }
        )
    return exported


async def _jury(user: User) -> dict[str, Any]:
    panels = await PanelMember.filter(user=user).select_related("panel", "panel__edition")
    reviews = (
        await Review.filter(assignment__juror_id=user.id)
        .prefetch_related("assignment__application", "scores")
        .order_by("id")
    )
    conflicts = await Conflict.filter(juror=user).select_related("application").order_by("id")
    bids = await Bid.filter(juror=user).select_related("application").order_by("id")
    return {
        "panels": [
            {
                "call": m.panel.edition.slug,
                "panel": m.panel.slug,
                "languages": m.languages,
                "country": m.country,
                "organisation": m.organisation,
                "expertise": m.expertise,
                "accepted_at": m.accepted_at,
            }
            for m in panels
        ],
        "reviews": [
            {
                "application": r.assignment.application.reference,
                "status": r.status,
                "submitted_at": r.submitted_at,
                "overall_comment": r.overall_comment,
                "scores": {s.criterion: {"score": s.score, "comment": s.comment} for s in r.scores},
            }
            for r in reviews
        ],
        "conflicts": [
            {"application": c.application.reference, "source": c.source, "reason": c.reason}
            for c in conflicts
        ],
        "bids": [{"application": b.application.reference, "level": b.level} for b in bids],
    }


async def _comments(user: User) -> list[dict[str, Any]]:
    comments = await DiscussionComment.filter(author=user).select_related("application")
    return [
        {"application": c.application.reference, "at": c.created_at, "body": c.body}
        for c in sorted(comments, key=lambda c: c.id)
    ]


def _about(user: User) -> Q:
    """Audit events about a person: theirs, on their account, or on their address."""
    return (
        Q(actor_id=user.id)
        | Q(object_type="user", object_id=str(user.id))
        | Q(object_type="email", object_id=user.email)
    )


async def _audit_events(user: User) -> list[dict[str, Any]]:
    events = await AuditEvent.filter(_about(user)).order_by("at", "id")
    return [
        {
            "at": e.at,
            "action": e.action,
            "by_you": e.actor_id == user.id,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "before": e.before,
            "after": e.after,
            "ip": e.ip,
        }
        for e in events
    ]


async def _mails(user: User) -> list[dict[str, Any]]:
    mails = await OutboxEmail.filter(to=user.email).order_by("created_at", "id")
    return [
        {
            "subject": m.subject,
            "body": without_links(m.body),
            "written_at": m.created_at,
            "sent_at": m.sent_at,
        }
        for m in mails
    ]


async def export(user: User, *, ip: str = "") -> dict[str, Any]:
    """Everything stored about `user`, JSON-ready (the export is audited)."""
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": datetime.now(UTC),
        "account": _account(user),
        "groups": await _memberships(user),
        "applications": await _applications(user),
        "jury": await _jury(user),
        "discussion_comments": await _comments(user),
        "audit_events": await _audit_events(user),
        "mails": await _mails(user),
    }
    await audit.record("privacy.export", actor=user, object_type="user", object_id=user.id, ip=ip)
    return dict(_plain(data))


# --- Erasure -------------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an erasure did, for the audit trail and the tests."""

    user_id: int
    drafts_deleted: list[str] = field(default_factory=list)  # references
    files_deleted: int = 0
    assignments_removed: int = 0


async def _sole_drafts(user: User) -> list[Application]:
    """Unsubmitted drafts whose group has no account-holding member but `user`."""
    drafts = await Application.filter(
        status=ApplicationStatus.DRAFT, group__members__user_id=user.id
    ).distinct()
    sole = []
    for draft in drafts:
        others = GroupMember.filter(group_id=draft.group_id, user_id__not_isnull=True)
        if not await others.exclude(user_id=user.id).exists():
            sole.append(draft)
    return sole


async def delete_drafts(ids: list[int]) -> list[str]:
    """Delete unsubmitted applications with everything hanging on them; returns their files'
    stored names (call inside a transaction, delete the files after it commits)."""
    if not ids:
        return []
    names = await Attachment.filter(application_id__in=ids).values_list("stored_name", flat=True)
    await Answer.filter(application_id__in=ids).delete()
    await Attachment.filter(application_id__in=ids).delete()
    await StatusChange.filter(application_id__in=ids).delete()
    await ApplicationMessage.filter(application_id__in=ids).delete()
    await Application.filter(id__in=ids).delete()
    return [str(n) for n in names]


async def _leave_jury(user: User) -> int:
    """Keep submitted reviews (the ranking rests on them) and conflicts; drop the rest."""
    reviewed = Review.filter(assignment__juror_id=user.id, status=ReviewStatus.SUBMITTED)
    kept = await reviewed.values_list("assignment_id", flat=True)
    unreviewed = Assignment.filter(juror=user).exclude(id__in=list(kept))
    ids = list(await unreviewed.values_list("id", flat=True))
    if ids:
        await CriterionScore.filter(review__assignment_id__in=ids).delete()
        await Review.filter(assignment_id__in=ids).delete()
        await Assignment.filter(id__in=ids).delete()
    await Bid.filter(juror=user).delete()
    # Never assigned again; country and languages stay (they explain recorded conflicts).
    await PanelMember.filter(user=user).update(
        organisation="", expertise=[], min_load=0, max_load=0
    )
    return len(ids)


async def _forget_address(user: User, email: str) -> None:
    """Tokens, throttling records, mail and invitations that carry the person's address."""
    invited = await GroupMember.filter(invite_email=email).values_list("id", flat=True)
    stale = []
    for token in await Token.filter(Q(user_id=user.id) | Q(purpose__in=["invite", "jury_invite"])):
        payload = token.payload or {}
        if (
            token.user_id == user.id
            or payload.get("email") == email
            or payload.get("member") in invited
        ):
            stale.append(token.id)
    await Token.filter(id__in=stale).delete()
    await GroupMember.filter(invite_email=email).update(invite_email="")
    await LoginAttempt.filter(key=f"account:{email}").delete()
    # Sessions end with the account (sessions.resolve refuses an erased user); their rows, which
    # hold the person's browsers and times, go too: the one removal outside services/sessions.
    await UserSession.filter(user_id=user.id).delete()
    await OutboxEmail.filter(to=email).delete()
    await AuditEvent.filter(actor_id=user.id).update(ip="")
    await AuditEvent.filter(object_type="email", object_id=email).update(object_id="", ip="")
    for event in await AuditEvent.filter(action__in=["jury.invite", "jury.accept"]):
        after = dict(event.after or {})
        changed = {k: "" for k in ("email", "invited_email") if after.get(k) == email}
        if changed:
            event.after = {**after, **changed}
            await event.save(update_fields=["after"])


async def _erase(actor: User, person: User, *, settings: Settings, ip: str, by: str) -> Erasure:
    email = person.email
    result = Erasure(user_id=person.id)
    async with in_transaction():
        drafts = await _sole_drafts(person)
        result.drafts_deleted = [d.reference for d in drafts]
        files = await delete_drafts([d.id for d in drafts])
        await GroupMember.filter(user=person).update(
            first_name=ERASED_MARK, guardian_name="", invite_email=""
        )
        was_juror = await PanelMember.exists(user=person)
        result.assignments_removed = await _leave_jury(person)
        await EditionRole.filter(user=person).delete()
        await _forget_address(person, email)
        person.email = erased_email(person.id)
        person.display_name = FORMER_JUROR if was_juror else FORMER_MEMBER
        person.password_hash = UNUSABLE_PASSWORD
        person.is_admin = False
        person.email_verified_at = None
        person.last_login_at = None
        person.erased_at = datetime.now(UTC)
        await person.save()
        await audit.record(
            "account.erase",
            actor=actor,
            object_type="user",
            object_id=person.id,
            after={
                "by": by,
                "drafts_deleted": result.drafts_deleted,
                "assignments_removed": result.assignments_removed,
            },
            ip="" if actor.id == person.id else ip,
        )
    storage = LocalStorage(settings.upload_dir)
    for name in files:  # after the commit: a rolled-back erasure keeps its files
        storage.delete(name)
    result.files_deleted = len(files)
    return result


async def erase_own_account(
    user: User, *, password: str, confirm: bool, settings: Settings, ip: str = ""
) -> Erasure:
    """The person erases their own account, after typing their password again."""
    errors: dict[str, str] = {}
    if not confirm:
        errors["confirm"] = _("Tick the box to confirm that you want your account erased.")
    if not password or not await verify_password(user.password_hash, password):
        errors["password"] = _("The password is wrong. Type the password you log in with.")
    refuse_invalid(errors)
    return await _erase(user, user, settings=settings, ip=ip, by="self")


async def _connected_to(person: User, edition: Edition) -> bool:
    """Whether `person` took part in `edition`: a member of an applying group, or a juror."""
    applied = await Application.filter(edition=edition, group__members__user_id=person.id).exists()
    return applied or await PanelMember.exists(user=person, panel__edition=edition)


async def erase_person(
    actor: User,
    edition: Edition,
    *,
    email: str,
    password: str,
    settings: Settings,
    ip: str = "",
) -> Erasure:
    """An organiser erases a person who took part in their call (an administrator: anyone but
    another administrator), on that person's request; the organiser confirms with their
    password."""
    await require_organiser(actor, edition)
    errors: dict[str, str] = {}
    if not password or not await verify_password(actor.password_hash, password):
        errors["password"] = _("The password is wrong. Type the password you log in with.")
    refuse_invalid(errors)
    person = await User.get_or_none(email=normalise_email(email), erased_at=None)
    if person is None or not (actor.is_admin or await _connected_to(person, edition)):
        raise InvalidInput({"email": _("Nobody with this address took part in this call.")})
    if person.id == actor.id:
        raise InvalidInput({"email": _("To erase your own account, use the page of your account.")})
    if person.is_admin:
        raise PermissionDenied(_("An administrator's account cannot be erased here."))
    if not actor.is_admin and await EditionRole.exists(user=person, role="organiser"):
        raise PermissionDenied(_("Only an administrator can erase an organiser's account."))
    return await _erase(actor, person, settings=settings, ip=ip, by="organiser")
