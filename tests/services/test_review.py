"""An edition's rubric is pinned by the first score and cannot change silently afterwards."""

from __future__ import annotations

import pytest

import scoring
from grants.models import Application, Assignment, Edition, Panel, User
from grants.services import assignment, review
from grants.services.errors import ServiceError


async def a_juror_assignment() -> Assignment:
    edition = await Edition.get(slug="epp-2027")
    panel = await Panel.filter(edition=edition).first()
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    application = await Application.get(reference="EPP-2027-0001")
    await Assignment.create(panel=panel, juror=juror, application=application)
    return await assignment.assignment_for_juror(
        juror, (await Assignment.get(juror=juror, application=application)).id
    )


async def test_the_first_score_pins_the_rubric_and_a_changed_rubric_is_refused(settings, demo):
    assignment = await a_juror_assignment()
    edition = assignment.application.edition
    await Edition.filter(id=edition.id).update(rubric_fingerprint="")
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    draft = (
        {"needs-evidence": "3"}
        if "needs-evidence" in scoring.get_rubric(edition.rubric_name).criterion_ids
        else {}
    )

    errors = await review.save_review(
        juror, assignment, raw_scores=draft, comments={}, overall_comment="", submit=False
    )
    assert errors == {}
    pinned = (await Edition.get(id=edition.id)).rubric_fingerprint
    assert pinned == scoring.rubric_fingerprint(scoring.get_rubric(edition.rubric_name))

    # Someone swaps the rubric file behind the edition's back: scoring stops with a clear message.
    await Edition.filter(id=edition.id).update(rubric_fingerprint="0" * 64)
    with pytest.raises(ServiceError, match="rubric"):
        await review.save_review(
            juror, assignment, raw_scores=draft, comments={}, overall_comment="", submit=False
        )
