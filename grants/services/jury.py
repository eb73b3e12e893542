"""The jury around the reviews: conflicts of interest, organisers' pins and removals, progress
and reminders, bids, the discussion after scoring, juror profiles and invitations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n.labels import LABELS
from grants.mail import queue_email
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Bid,
    Category,
    Conflict,
    CriterionScore,
    DiscussionComment,
    Edition,
    EditionStatus,
    Panel,
    PanelMember,
    Review,
    ReviewStatus,
    StatusChange,
    User,
)
from grants.services import audit, tokens
from grants.services.errors import NotFound, PermissionDenied, ServiceError
from grants.services.permissions import require_organiser
from grants.services.review import ASSIGNABLE, REVIEW_OPEN, exclusion_reason
from grants.settings import Settings

BID_LEVELS = ("eager", "willing", "not")
BIDDABLE = (ApplicationStatus.SUBMITTED, *ASSIGNABLE)
INVITE_TTL = timedelta(days=14)
MAX_COMMENT = 5000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def exclusion_message(reason: str) -> str:
    return {
        "same organisation": _("The juror works for the group's organisation."),
        "same country": _("The juror lives in the group's country."),
        "language not read": _("The juror does not read the application's language."),
    }.get(reason, reason)


async def _edition_application(edition: Edition, reference: str) -> Application:
    application = await Application.get_or_none(
        edition=edition, reference=reference.strip().upper()
    ).prefetch_related("edition", "group", "category")
    if application is None:
        raise ServiceError(
            _("Please correct the marked fields."),
            errors={"reference": _("No application of this call has this reference.")},
        )
    return application


async def _edition_member(edition: Edition, member_id: str | int) -> PanelMember:
    member = None
    if str(member_id).isdigit():
        member = await PanelMember.get_or_none(
            id=int(member_id), panel__edition=edition
        ).prefetch_related("user", "panel")
    if member is None:
        raise ServiceError(
            _("Please correct the marked fields."),
            errors={"member_id": _("Choose a juror of this call.")},
        )
    return member


# --- Conflicts of interest --------------------------------------------------------------------


async def declare_conflict(juror: User, assignment_id: int, *, ip: str = "") -> bool:
    """The juror declares a conflict with an assigned application (seen by reference and title
    only). The assignment goes unless its review was submitted; returns whether it went."""
    assignment = await Assignment.get_or_none(id=assignment_id, juror=juror)
    if assignment is None:
        raise NotFound(_("This review does not exist or is not assigned to you."))
    async with in_transaction():
        conflict, created = await Conflict.get_or_create(
            juror=juror,
            application_id=assignment.application_id,  # type: ignore[attr-defined]
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
            object_id=assignment.application_id,  # type: ignore[attr-defined]
            after={"juror": juror.id, "assignment_removed": removed, "new": created},
            ip=ip,
        )
    return removed


async def forbid_pair(
    user: User, edition: Edition, *, member_id: str, reference: str, reason: str = "", ip: str = ""
) -> bool:
    """An organiser forbids a juror–application pair; a not-started assignment of it goes."""
    await require_organiser(user, edition)
    member = await _edition_member(edition, member_id)
    application = await _edition_application(edition, reference)
    async with in_transaction():
        conflict, created = await Conflict.get_or_create(
            juror_id=member.user_id,
            application=application,  # type: ignore[attr-defined]
            defaults={
                "source": "organiser",
                "reason": reason.strip()[:200] or "set by the organisers",
            },
        )
        if not created:
            raise ServiceError(
                _("This juror already has a conflict of interest with this application.")
            )
        assignment = await Assignment.get_or_none(juror_id=member.user_id, application=application)  # type: ignore[attr-defined]
        removed = assignment is not None and not await Review.exists(assignment=assignment)
        if removed:
            await assignment.delete()  # type: ignore[union-attr]
        await audit.record(
            "conflict.organiser",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={
                "juror": member.user_id,
                "reason": conflict.reason,  # type: ignore[attr-defined]
                "assignment_removed": removed,
            },
            ip=ip,
        )
    return removed


# --- Organisers' changes to the assignment ----------------------------------------------------


async def pin_pair(
    user: User, edition: Edition, *, member_id: str, reference: str, ip: str = ""
) -> Assignment:
    """Assign one juror to one application by hand; kept by every later automatic run."""
    await require_organiser(user, edition)
    member = await _edition_member(edition, member_id)
    application = await _edition_application(edition, reference)
    if application.status not in ASSIGNABLE:
        raise ServiceError(
            _("Only eligible applications can be assigned: screen this application first.")
        )
    if await Conflict.exists(juror_id=member.user_id, application=application):  # type: ignore[attr-defined]
        raise ServiceError(
            _(
                "%(juror)s has a conflict of interest with %(ref)s: this pair can never be assigned.",
                juror=member.user.display_name,
                ref=application.reference,
            )
        )
    reason = exclusion_reason(member, application)
    if reason:
        raise ServiceError(
            _(
                "%(juror)s cannot review %(ref)s: %(reason)s",
                juror=member.user.display_name,
                ref=application.reference,
                reason=exclusion_message(reason),
            )
        )
    if await Assignment.exists(juror_id=member.user_id, application=application):  # type: ignore[attr-defined]
        raise ServiceError(
            _(
                "%(juror)s is already assigned to %(ref)s.",
                juror=member.user.display_name,
                ref=application.reference,
            )
        )
    async with in_transaction():
        assignment = await Assignment.create(
            panel_id=member.panel_id,
            juror_id=member.user_id,  # type: ignore[attr-defined]
            application=application,
            pinned=True,
        )
        if application.status == ApplicationStatus.ELIGIBLE:
            application.status = ApplicationStatus.IN_REVIEW
            await application.save(update_fields=["status", "updated_at"])
            await StatusChange.create(
                application=application, from_status="eligible", to_status="in_review", actor=user
            )
        await audit.record(
            "assignment.pin",
            actor=user,
            object_type="assignment",
            object_id=assignment.id,
            after={"juror": member.user_id, "application": application.id},
            ip=ip,
        )  # type: ignore[attr-defined]
    return assignment


async def unassign(user: User, edition: Edition, assignment_id: str, *, ip: str = "") -> Assignment:
    """Take a not-started review away from its juror (the next run may give it to another)."""
    await require_organiser(user, edition)
    assignment = None
    if str(assignment_id).isdigit():
        assignment = await Assignment.get_or_none(
            id=int(assignment_id), application__edition=edition
        ).prefetch_related("application", "juror")
    if assignment is None:
        raise NotFound(_("This assignment does not exist."))
    if await Review.exists(assignment=assignment):
        raise ServiceError(
            _(
                "%(juror)s has already started reviewing %(ref)s: this assignment is kept.",
                juror=assignment.juror.display_name,
                ref=assignment.application.reference,
            )
        )
    async with in_transaction():
        await assignment.delete()
        await audit.record(
            "assignment.remove",
            actor=user,
            object_type="assignment",
            object_id=assignment_id,
            before={"juror": assignment.juror_id, "application": assignment.application_id},  # type: ignore[attr-defined]
            ip=ip,
        )
    return assignment


# --- Progress, reminders, closing -------------------------------------------------------------


@dataclass
class JurorProgress:
    member: PanelMember
    assigned: int = 0
    drafts: int = 0
    submitted: int = 0

    @property
    def unsubmitted(self) -> int:
        return self.assigned - self.submitted


@dataclass
class ApplicationProgress:
    application: Application
    assigned: int = 0
    submitted: int = 0
    assignments: list[Assignment] = field(default_factory=list)


@dataclass
class Progress:
    jurors: list[JurorProgress]
    applications: list[ApplicationProgress]
    k: int

    @property
    def unassigned(self) -> list[ApplicationProgress]:
        """Applications waiting for jurors: fewer than k assigned."""
        return [a for a in self.applications if a.assigned < self.k]


async def progress(user: User, edition: Edition) -> Progress:
    await require_organiser(user, edition)
    members = (
        await PanelMember.filter(panel__edition=edition)
        .prefetch_related("user", "panel")
        .order_by("panel_id", "id")
    )
    applications = await Application.filter(edition=edition, status__in=ASSIGNABLE).order_by(
        "reference"
    )
    assignments = await Assignment.filter(application__edition=edition).prefetch_related(
        "juror", "panel", "application"
    )
    reviews = {
        r.assignment_id: r for r in await Review.filter(assignment__application__edition=edition)
    }  # type: ignore[attr-defined]
    by_juror = {(m.user_id, m.panel_id): JurorProgress(m) for m in members}  # type: ignore[attr-defined]
    by_application = {a.id: ApplicationProgress(a) for a in applications}
    for assignment in sorted(assignments, key=lambda a: a.id):
        review = reviews.get(assignment.id)
        row = by_juror.get((assignment.juror_id, assignment.panel_id))  # type: ignore[attr-defined]
        if row:
            row.assigned += 1
            row.drafts += review is not None and review.status == ReviewStatus.DRAFT
            row.submitted += review is not None and review.status == ReviewStatus.SUBMITTED
        app_row = by_application.get(assignment.application_id)  # type: ignore[attr-defined]
        if app_row:
            app_row.assigned += 1
            app_row.submitted += review is not None and review.status == ReviewStatus.SUBMITTED
            app_row.assignments.append(assignment)
    return Progress(
        jurors=list(by_juror.values()),
        applications=list(by_application.values()),
        k=edition.reviews_per_application,
    )


async def send_reminders(user: User, edition: Edition, *, settings: Settings, ip: str = "") -> int:
    """One reminder mail per juror who has reviews to finish; returns how many were queued."""
    await require_organiser(user, edition)
    if edition.status not in REVIEW_OPEN:
        raise ServiceError(
            _("The review phase is closed: there is nothing to remind the jurors of.")
        )
    assignments = await Assignment.filter(application__edition=edition).prefetch_related("juror")
    submitted = set(
        await Review.filter(
            assignment__application__edition=edition, status=ReviewStatus.SUBMITTED
        ).values_list("assignment_id", flat=True)
    )
    conflicted = {
        (int(j), int(a))
        for j, a in await Conflict.filter(application__edition=edition).values_list(
            "juror_id", "application_id"
        )
    }
    pending: dict[int, tuple[User, int]] = {}
    for assignment in assignments:
        if (
            assignment.id in submitted
            or (assignment.juror_id, assignment.application_id) in conflicted
        ):  # type: ignore[attr-defined]
            continue
        juror, count = pending.get(assignment.juror_id, (assignment.juror, 0))  # type: ignore[attr-defined]
        pending[assignment.juror_id] = (juror, count + 1)  # type: ignore[attr-defined]
    async with in_transaction():
        for juror, count in pending.values():
            with i18n.speaking(juror.locale):
                title = edition.title.get(i18n.current_locale.get()) or edition.title.get(
                    "en", edition.slug
                )
                await queue_email(
                    to=juror.email,
                    subject=_(
                        "Reminder: %(n)s reviews to finish for %(call)s", n=count, call=title
                    ),
                    body=_(
                        "Hello %(name)s,\n\n%(n)s of the applications assigned to you in %(call)s still wait "
                        "for your submitted review. Your reviews:\n%(link)s\n\nThank you for your work on the jury.",
                        name=juror.display_name,
                        n=count,
                        call=title,
                        link=f"{settings.base_url}/jury",
                    ),
                )
        await audit.record(
            "jury.remind",
            actor=user,
            object_type="edition",
            object_id=edition.id,
            after={"jurors": sorted(pending)},
            ip=ip,
        )
    return len(pending)


async def close_review(user: User, edition: Edition, *, ip: str = "") -> None:
    """End the review phase: the call moves to deliberation and scores are frozen."""
    await require_organiser(user, edition)
    if edition.status not in REVIEW_OPEN:
        raise ServiceError(_("The review phase is already closed."))
    before = edition.status
    edition.status = EditionStatus.DELIBERATION
    await edition.save(update_fields=["status"])
    await audit.record(
        "edition.phase",
        actor=user,
        object_type="edition",
        object_id=edition.id,
        before={"status": before},
        after={"status": edition.status},
        ip=ip,
    )


# --- Bids -------------------------------------------------------------------------------------


async def _memberships(juror: User, edition: Edition) -> list[PanelMember]:
    members = await PanelMember.filter(user=juror, panel__edition=edition).prefetch_related("panel")
    if not members:
        raise PermissionDenied(_("Only the jurors of this call can do this."))
    return members


@dataclass
class BidRow:
    application: Application
    level: str


async def bid_sheet(juror: User, edition: Edition) -> list[BidRow]:
    """The titles a juror may bid on: every application of the call they could review."""
    members = await _memberships(juror, edition)
    if edition.blind_review:
        raise ServiceError(_("This call uses blind review: jurors do not bid on applications."))
    applications = (
        await Application.filter(edition=edition, status__in=BIDDABLE)
        .prefetch_related("group", "edition", "category")
        .order_by("reference")
    )
    conflicted = set(await Conflict.filter(juror=juror).values_list("application_id", flat=True))
    bids = {
        b.application_id: b.level
        for b in await Bid.filter(juror=juror, application__edition=edition)
    }  # type: ignore[attr-defined]
    return [
        BidRow(a, bids.get(a.id, ""))
        for a in applications
        if a.id not in conflicted and any(exclusion_reason(m, a) is None for m in members)
    ]


async def save_bids(juror: User, edition: Edition, levels: dict[int, str], *, ip: str = "") -> int:
    rows = {row.application.id: row for row in await bid_sheet(juror, edition)}
    if edition.status not in REVIEW_OPEN:
        raise ServiceError(_("The review phase is closed: bids can no longer be changed."))
    changed = 0
    async with in_transaction():
        for application_id, level in levels.items():
            if application_id not in rows or level not in (*BID_LEVELS, ""):
                continue
            if level == "":
                changed += await Bid.filter(juror=juror, application_id=application_id).delete()
                continue
            await Bid.update_or_create(
                juror=juror, application_id=application_id, defaults={"level": level}
            )
            changed += 1
        await audit.record(
            "bid.save",
            actor=juror,
            object_type="edition",
            object_id=edition.id,
            after={str(k): v for k, v in levels.items() if k in rows},
            ip=ip,
        )
    return changed


# --- Discussion after scoring -----------------------------------------------------------------


@dataclass
class OtherReview:
    juror_name: str
    review: Review
    scores: dict[str, CriterionScore]


@dataclass
class Discussion:
    open: bool  # the juror submitted their own review: they may see the others and discuss
    reviews: list[OtherReview] = field(default_factory=list)
    comments: list[DiscussionComment] = field(default_factory=list)


async def _panel_colleagues(assignment: Assignment) -> list[Assignment]:
    """The other assignments of the same application in the same panel, without conflicted jurors."""
    others = (
        await Assignment.filter(
            application_id=assignment.application_id, panel_id=assignment.panel_id
        )
        .exclude(  # type: ignore[attr-defined]
            id=assignment.id
        )
        .prefetch_related("juror")
    )
    conflicted = set(
        await Conflict.filter(application_id=assignment.application_id).values_list(
            "juror_id", flat=True
        )
    )  # type: ignore[attr-defined]
    return [a for a in others if a.juror_id not in conflicted]  # type: ignore[attr-defined]


async def discussion(juror: User, assignment: Assignment) -> Discussion:
    """What a juror sees of their panel's reviews of this application: nothing before their own
    review is submitted (no anchoring), then the others' submitted reviews and the comments."""
    own = await Review.get_or_none(assignment=assignment)
    if own is None or own.status != ReviewStatus.SUBMITTED:
        return Discussion(open=False)
    colleagues = await _panel_colleagues(assignment)
    reviews = []
    for other in colleagues:
        review = await Review.get_or_none(assignment=other, status=ReviewStatus.SUBMITTED)
        if review is not None:
            scores = {s.criterion: s for s in await CriterionScore.filter(review=review)}
            reviews.append(OtherReview(other.juror.display_name, review, scores))
    authors = {juror.id, *(a.juror_id for a in colleagues)}  # type: ignore[attr-defined]
    comments = (
        await DiscussionComment.filter(
            application_id=assignment.application_id,  # type: ignore[attr-defined]
            author_id__in=authors,
        )
        .prefetch_related("author")
        .order_by("created_at", "id")
    )
    return Discussion(open=True, reviews=reviews, comments=list(comments))


async def post_comment(
    juror: User, assignment: Assignment, body: str, *, ip: str = ""
) -> DiscussionComment:
    if not (await discussion(juror, assignment)).open:
        raise ServiceError(_("Submit your own review before joining the discussion."))
    if assignment.application.edition.status not in REVIEW_OPEN:
        raise ServiceError(_("The review phase is closed: the discussion is over."))
    text = body.strip()
    if not text:
        raise ServiceError(
            _("Please correct the marked fields."), errors={"body": _("Write your comment first.")}
        )
    if len(text) > MAX_COMMENT:
        raise ServiceError(
            _("Please correct the marked fields."),
            errors={"body": _("Keep your comment under %(n)s characters.", n=MAX_COMMENT)},
        )
    async with in_transaction():
        comment = await DiscussionComment.create(
            application_id=assignment.application_id, author=juror, body=text
        )  # type: ignore[attr-defined]
        await audit.record(
            "discussion.comment",
            actor=juror,
            object_type="application",
            object_id=assignment.application_id,
            after={"comment": comment.id},
            ip=ip,
        )  # type: ignore[attr-defined]
    return comment


# --- Profiles ---------------------------------------------------------------------------------


async def memberships_of(user: User) -> list[PanelMember]:
    return (
        await PanelMember.filter(user=user)
        .prefetch_related("panel", "panel__edition")
        .order_by("id")
    )


async def categories_of(edition: Edition) -> list[Category]:
    return await Category.filter(edition=edition).order_by("id")


JUROR_LANGUAGES = tuple(code for code in LABELS["language"] if code != "other")


async def update_profile(
    user: User,
    member_id: int,
    *,
    languages: list[str],
    country: str,
    organisation: str,
    expertise: list[str],
    max_load: str,
    ip: str = "",
) -> PanelMember:
    member = await PanelMember.get_or_none(id=member_id, user=user).prefetch_related(
        "panel", "panel__edition"
    )
    if member is None:
        raise NotFound(_("This jury membership does not exist or is not yours."))
    errors: dict[str, str] = {}
    chosen = [code for code in JUROR_LANGUAGES if code in set(languages)]
    if not chosen:
        errors["languages"] = _("Choose at least one language you read.")
    country = country.strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = _("Enter the two-letter country code, for example FR.")
    slugs = {c.slug for c in await categories_of(member.panel.edition)}
    load = max_load.strip()
    if not load.isdigit() or not member.min_load <= int(load) <= 500:
        errors["max_load"] = _("Enter a whole number between %(lo)s and 500.", lo=member.min_load)
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    before = {
        "languages": member.languages,
        "country": member.country,
        "organisation": member.organisation,
        "expertise": member.expertise,
        "max_load": member.max_load,
    }
    member.languages = chosen
    member.country = country
    member.organisation = organisation.strip()[:200]
    member.expertise = [slug for slug in expertise if slug in slugs]
    member.max_load = int(load)
    async with in_transaction():
        await member.save(
            update_fields=["languages", "country", "organisation", "expertise", "max_load"]
        )
        await audit.record(
            "juror.profile",
            actor=user,
            object_type="panel_member",
            object_id=member.id,
            before=before,
            after={
                "languages": member.languages,
                "country": member.country,
                "organisation": member.organisation,
                "expertise": member.expertise,
                "max_load": member.max_load,
            },
            ip=ip,
        )
    return member


# --- Invitations ------------------------------------------------------------------------------


async def invite_juror(
    user: User, edition: Edition, *, panel_id: str, email: str, settings: Settings, ip: str = ""
) -> str:
    """Mail a single-use link that makes whoever opens it (logged in) a juror of the panel."""
    await require_organiser(user, edition)
    errors: dict[str, str] = {}
    panel = (
        await Panel.get_or_none(id=int(panel_id), edition=edition)
        if str(panel_id).isdigit()
        else None
    )
    if panel is None:
        errors["panel_id"] = _("Choose a panel of this call.")
    address = email.strip().lower()
    if not EMAIL.match(address) or len(address) > 254:
        errors["email"] = _("Enter an email address such as name@example.org.")
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    assert panel is not None
    invited = await User.get_or_none(email=address)
    async with in_transaction():
        token = await tokens.issue(
            "jury_invite", ttl=INVITE_TTL, payload={"panel_id": panel.id, "email": address}
        )
        with i18n.speaking(invited.locale if invited else i18n.current_locale.get()):
            lang = i18n.current_locale.get()
            call = edition.title.get(lang) or edition.title.get("en", edition.slug)
            panel_name = panel.name.get(lang) or panel.name.get("en", panel.slug)
            await queue_email(
                to=address,
                subject=_("Invitation to the jury of %(call)s", call=call),
                body=_(
                    "Hello,\n\nthe organisers of %(call)s invite you to join the %(panel)s. Log in or create an "
                    "account, then open this link to accept:\n%(link)s\n\nThe link works once and for 14 days.",
                    call=call,
                    panel=panel_name,
                    link=f"{settings.base_url}/jury/invitations/{token}",
                ),
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


async def accept_invitation(user: User, token: str, *, ip: str = "") -> PanelMember:
    async with in_transaction():
        record = await tokens.lookup(token, "jury_invite")
        if record is None or record.expires_at < datetime.now(UTC):
            raise ServiceError(
                _(
                    "This invitation link is invalid or has expired. Ask the organisers for a new one."
                )
            )
        if record.used_at is not None:
            raise ServiceError(
                _("This invitation has already been used. Each invitation link works only once.")
            )
        panel = await Panel.get_or_none(id=record.payload.get("panel_id"))
        if panel is None:
            raise ServiceError(
                _(
                    "This invitation link is invalid or has expired. Ask the organisers for a new one."
                )
            )
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
