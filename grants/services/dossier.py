"""The dossier: who may open an application's files and under which name, and what organisers
read of an application's reviews and discussion.

One rule for every file (`reader_role`): a member of the applying group, an organiser of the
call (or an administrator), and a juror assigned to the application without a conflict of
interest (`conflicts.conflicted_pairs`, the one home of conflicts) open it; anyone else is told
it does not exist (404). Under blind review a juror gets a file under a neutral name made of the
reference and the file's position ("EPP-2027-0003-file-1.pdf"), never the name it was uploaded
with, which often names the group. Every opening is audited (`attachment.download`: who, which
file, in what role).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import scoring
from grants.i18n import gettext as _
from grants.i18n.labels import juror_name
from grants.models import (
    Application,
    Assignment,
    Attachment,
    CriterionScore,
    DiscussionComment,
    GroupMember,
    Review,
    User,
)
from grants.services import audit
from grants.services.conflicts import conflicted_pairs
from grants.services.errors import NotFound
from grants.services.permissions import is_organiser
from grants.services.review import edition_rubric

# Types a browser shows itself (by the type sniffed at upload, never the file's name); any
# other file is downloaded. No SVG: an image that can carry scripts is not opened inline.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp"})
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class Role(StrEnum):
    """In what capacity a person opens a file (recorded in the audit trail)."""

    GROUP = "group"
    ORGANISER = "organiser"
    ADMIN = "admin"
    JUROR = "juror"


@dataclass(frozen=True)
class DossierFile:
    """A file as one reader sees it: the name shown and sent, and whether it opens in the
    browser."""

    attachment: Attachment
    name: str
    inline: bool


@dataclass(frozen=True)
class OpenedFile(DossierFile):
    role: Role


def neutral_name(reference: str, position: int, content_type: str) -> str:
    """A file's name that says nothing of who sent it: reference, position (from 1), extension
    of its stored type."""
    extension = EXTENSIONS.get(content_type) or (
        (mimetypes.guess_extension(content_type) or ".bin").lstrip(".")
    )
    return f"{reference}-file-{position}.{extension}"


def _as_read(
    application: Application, attachments: list[Attachment], *, neutral: bool
) -> list[DossierFile]:
    return [
        DossierFile(
            attachment=a,
            name=neutral_name(application.reference, position, a.content_type)
            if neutral
            else a.original_name,
            inline=a.content_type in INLINE_TYPES,
        )
        for position, a in enumerate(attachments, start=1)
    ]


async def _attachments(application: Application) -> list[Attachment]:
    return list(
        await Attachment.filter(application=application).select_related("question").order_by("id")
    )


async def files_of(application: Application, *, neutral: bool = False) -> list[DossierFile]:
    """Every file of `application` (already allowed to the reader), in upload order, named as
    the reader sees it (`neutral`: a blind juror)."""
    return _as_read(application, await _attachments(application), neutral=neutral)


async def juror_files(assignment: Assignment) -> list[DossierFile]:
    """The files of a juror's assignment as `assignment_for_juror` returned it (so assigned and
    not conflicted): neutral names under blind review."""
    application = assignment.application
    return await files_of(application, neutral=application.edition.blind_review)


async def reader_role(user: User, application: Application) -> Role | None:
    """Why `user` may open `application`'s files, or None. `application.edition` is loaded."""
    if await GroupMember.exists(group_id=application.group_id, user_id=user.id):
        return Role.GROUP
    if await is_organiser(user, application.edition):
        return Role.ADMIN if user.is_admin else Role.ORGANISER
    if await Assignment.exists(juror=user, application=application) and not (
        await conflicted_pairs(juror=user, application_id=application.id)
    ):
        return Role.JUROR
    return None


async def open_attachment(
    user: User, application_id: int, attachment_id: int, *, ip: str = ""
) -> OpenedFile:
    """One file, if `user` may open it, with the name it is sent under; the opening audited.
    NotFound for anything else (the file's existence is not revealed)."""
    application = await Application.get_or_none(id=application_id).select_related("edition")
    role = await reader_role(user, application) if application is not None else None
    if application is None or role is None:
        raise NotFound(_("This file does not exist."))
    neutral = role == Role.JUROR and application.edition.blind_review
    files = await files_of(application, neutral=neutral)
    chosen = next((f for f in files if f.attachment.id == attachment_id), None)
    if chosen is None:
        raise NotFound(_("This file does not exist."))
    await audit.record(
        "attachment.download",
        actor=user,
        object_type="application",
        object_id=application.id,
        after={"attachment": attachment_id, "role": role.value},
        ip=ip,
    )
    return OpenedFile(
        attachment=chosen.attachment, name=chosen.name, inline=chosen.inline, role=role
    )


# What organisers read of the jury's work ------------------------------------------------------


@dataclass(frozen=True)
class CriterionRead:
    criterion: scoring.Criterion  # its label in words: `criterion.label`
    score: float | None
    comment: str


@dataclass(frozen=True)
class ReviewRead:
    """One juror's review of an application as organisers read it (names even under blind
    review: organisers run the jury)."""

    assignment: Assignment  # with its juror and panel
    status: str  # "none" (not begun), "draft" or "submitted": label("review", status)
    submitted_at: datetime | None
    overall_comment: str
    scores: list[CriterionRead]  # in the rubric's order
    conflicted: bool  # a conflict of interest recorded since the juror was assigned

    @property
    def juror_name(self) -> str:
        juror = self.assignment.juror
        return juror_name(juror.display_name, juror.erased_at)


async def reviews_of(application: Application) -> list[ReviewRead]:
    """Every assignment of `application` with its review (begun or not), by panel and juror.
    `application.edition` is loaded; the caller checked the reader is an organiser."""
    rubric = edition_rubric(application.edition)
    assignments = (
        await Assignment.filter(application=application)
        .select_related("juror", "panel")
        .order_by("panel_id", "id")
    )
    reviews = await Review.filter(assignment_id__in=[a.id for a in assignments]).prefetch_related(
        "scores"
    )
    by_assignment = {r.assignment_id: r for r in reviews}
    conflicted = await conflicted_pairs(application_id=application.id)
    return [
        _review_read(a, by_assignment.get(a.id), rubric, (a.juror_id, application.id) in conflicted)
        for a in assignments
    ]


def _review_read(
    assignment: Assignment, review: Review | None, rubric: scoring.Rubric, conflicted: bool
) -> ReviewRead:
    scores: dict[str, CriterionScore] = {s.criterion: s for s in review.scores} if review else {}
    return ReviewRead(
        assignment=assignment,
        status=review.status.value if review else "none",
        submitted_at=review.submitted_at if review else None,
        overall_comment=review.overall_comment if review else "",
        scores=[
            CriterionRead(
                criterion=c,
                score=scores[c.id].score if c.id in scores else None,
                comment=scores[c.id].comment if c.id in scores else "",
            )
            for c in rubric.criteria
        ],
        conflicted=conflicted,
    )


async def discussion_of(application: Application) -> list[DiscussionComment]:
    """The jury's whole discussion of `application`, oldest first, with authors."""
    return list(
        await DiscussionComment.filter(application=application)
        .select_related("author")
        .order_by("created_at", "id")
    )
