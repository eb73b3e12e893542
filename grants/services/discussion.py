"""The panel's discussion of one application, open to a juror once their own review is in.

Nothing of the others is shown before (no anchoring on someone else's scores); jurors with a
conflict of interest neither see nor are seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.i18n.labels import juror_name
from grants.models import (
    Assignment,
    CriterionScore,
    DiscussionComment,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit, lifecycle
from grants.services.conflicts import conflicted_pairs
from grants.services.errors import InvalidInput, ServiceError

MAX_COMMENT = 5000


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
    """The other assignments of the same application in the same panel, without conflicted
    jurors."""
    application_id = assignment.application_id
    others = (
        await Assignment.filter(application_id=application_id, panel_id=assignment.panel_id)
        .exclude(id=assignment.id)
        .select_related("juror")
    )
    conflicted = await conflicted_pairs(application_id=application_id)
    return [a for a in others if (a.juror_id, application_id) not in conflicted]


def _shown_name(juror: User) -> str:
    """A juror's name as colleagues see it; an erased juror's in the reader's language."""
    return juror_name(juror.display_name, juror.erased_at)


async def discussion(juror: User, assignment: Assignment) -> Discussion:
    """What a juror sees of their panel's reviews of this application: nothing before their own
    review is submitted, then the others' submitted reviews and the comments."""
    own = await Review.get_or_none(assignment=assignment)
    if own is None or own.status != ReviewStatus.SUBMITTED:
        return Discussion(open=False)
    colleagues = {a.id: a for a in await _panel_colleagues(assignment)}
    submitted = await Review.filter(
        assignment_id__in=list(colleagues), status=ReviewStatus.SUBMITTED
    ).prefetch_related("scores")
    reviews = [
        OtherReview(
            _shown_name(colleagues[r.assignment_id].juror),
            r,
            {s.criterion: s for s in r.scores},
        )
        for r in sorted(submitted, key=lambda r: r.assignment_id)
    ]
    authors = {juror.id, *(a.juror_id for a in colleagues.values())}
    comments = (
        await DiscussionComment.filter(
            application_id=assignment.application_id,
            author_id__in=authors,
        )
        .select_related("author")
        .order_by("created_at", "id")
    )
    return Discussion(open=True, reviews=reviews, comments=list(comments))


async def post_comment(
    juror: User, assignment: Assignment, body: str, *, ip: str = ""
) -> DiscussionComment:
    if not (await discussion(juror, assignment)).open:
        raise ServiceError(_("Submit your own review before joining the discussion."))
    if assignment.application.edition.status not in lifecycle.REVIEW_OPEN:
        raise ServiceError(_("The review phase is closed: the discussion is over."))
    text = body.strip()
    if not text:
        raise InvalidInput({"body": _("Write your comment first.")})
    if len(text) > MAX_COMMENT:
        raise InvalidInput({"body": _("Keep your comment under %(n)s characters.", n=MAX_COMMENT)})
    async with in_transaction():
        comment = await DiscussionComment.create(
            application_id=assignment.application_id,
            author=juror,
            body=text,
        )
        await audit.record(
            "discussion.comment",
            actor=juror,
            object_type="application",
            object_id=assignment.application_id,
            after={"comment": comment.id},
            ip=ip,
        )
    return comment
