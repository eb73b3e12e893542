"""The life of an application: which status may follow which, and the history every move writes."""

from __future__ import annotations

import pytest

from grants.models import Application, ApplicationStatus, StatusChange, User
from grants.services import lifecycle
from grants.services.errors import ServiceError

S = ApplicationStatus


def test_the_design_s_lifecycle_is_the_table():
    paths = [
        (S.DRAFT, S.SUBMITTED, S.ELIGIBLE, S.IN_REVIEW, S.SHORTLISTED, S.AWARDED),
        (S.DRAFT, S.SUBMITTED, S.INELIGIBLE),
        (S.DRAFT, S.SUBMITTED, S.ELIGIBLE, S.IN_REVIEW, S.NOT_AWARDED),
        (S.DRAFT, S.WITHDRAWN),
        (S.DRAFT, S.SUBMITTED, S.WITHDRAWN),
    ]
    for path in paths:
        assert all(lifecycle.can_move(a, b) for a, b in zip(path, path[1:], strict=False)), path
    for final in (S.AWARDED, S.NOT_AWARDED, S.WITHDRAWN):
        assert not lifecycle.NEXT_STATUSES[final]
    assert not lifecycle.can_move(S.SUBMITTED, S.DRAFT)  # a submission is never reopened
    assert not lifecycle.can_move(S.IN_REVIEW, S.WITHDRAWN)  # nor withdrawn once reviewed
    assert set(lifecycle.NEXT_STATUSES) == set(ApplicationStatus)


async def test_a_move_writes_one_line_of_history_and_a_refused_one_writes_nothing(demo):
    application = await Application.get(reference="EPP-2027-0001")
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    before = await StatusChange.filter(application=application).count()

    assert await lifecycle.move(application, S.ELIGIBLE, actor=organiser, note="ok") == S.SUBMITTED
    assert await lifecycle.move(application, S.ELIGIBLE, actor=organiser) == S.ELIGIBLE  # again
    with pytest.raises(ServiceError, match="cannot become"):
        await lifecycle.move(application, S.DRAFT, actor=organiser)

    await application.refresh_from_db()
    assert application.status == S.ELIGIBLE
    history = await lifecycle.history(application)
    assert len(history) == before + 1
    assert (history[-1].from_status, history[-1].to_status, history[-1].note) == (
        "submitted",
        "eligible",
        "ok",
    )
