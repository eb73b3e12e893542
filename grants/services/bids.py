"""Bids: before assignment, jurors say which applications they would like to review (only where
review is not blind: bidding shows titles)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.models import Application, ApplicationStatus, Bid, Edition, PanelMember, User
from grants.services import audit, lifecycle
from grants.services.conflicts import conflicted_pairs, exclusion_reason
from grants.services.errors import PermissionDenied, ServiceError

BID_LEVELS = ("eager", "willing", "not")
BIDDABLE = (ApplicationStatus.SUBMITTED, *lifecycle.ASSIGNABLE)


@dataclass
class BidRow:
    application: Application
    level: str


async def _memberships(juror: User, edition: Edition) -> list[PanelMember]:
    members = await PanelMember.filter(user=juror, panel__edition=edition).select_related("panel")
    if not members:
        raise PermissionDenied(_("Only the jurors of this call can do this."))
    return members


async def bid_sheet(juror: User, edition: Edition) -> list[BidRow]:
    """The titles a juror may bid on: every application of the call they could review."""
    members = await _memberships(juror, edition)
    if edition.blind_review:
        raise ServiceError(_("This call uses blind review: jurors do not bid on applications."))
    applications = (
        await Application.filter(edition=edition, status__in=BIDDABLE)
        .select_related("group", "edition", "category")
        .order_by("reference")
    )
    conflicted = await conflicted_pairs(edition=edition, juror=juror)
    levels = dict(
        await Bid.filter(juror=juror, application__edition=edition).values_list(
            "application_id", "level"
        )
    )
    return [
        BidRow(a, levels.get(a.id, ""))
        for a in applications
        if (juror.id, a.id) not in conflicted
        and any(exclusion_reason(m, a) is None for m in members)
    ]


async def save_bids(juror: User, edition: Edition, levels: dict[int, str], *, ip: str = "") -> int:
    """Save the juror's bids (application id -> level, "" for none); returns how many changed."""
    rows = {row.application.id for row in await bid_sheet(juror, edition)}
    if edition.status not in lifecycle.REVIEW_OPEN:
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
