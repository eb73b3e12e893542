"""Bulk screening, service by service: a plan changes nothing and sorts the selection out, the
action moves only what the life cycle allows (checked again when confirmed), in one transaction
with a history line and an audit event each, and refuses what it cannot do in words."""

from __future__ import annotations

import pytest

from grants.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Edition,
    Programme,
    StatusChange,
    User,
)
from grants.services import lifecycle, outcomes, screening
from grants.services.errors import InvalidInput, PermissionDenied, ServiceError
from tests.web.pages import many_applications

S = ApplicationStatus
DOMAIN = "demo.prevention-prize.eu"


async def claire_and_call() -> tuple[User, Edition]:
    return await User.get(email=f"organiser@{DOMAIN}"), await Edition.get(slug="epp-2027")


async def six_in_every_state() -> list[Application]:
    """Submitted, eligible, withdrawn, in review, a draft, and one of another call."""
    made = await many_applications(6, lambda i: {"country": ("FR", "GE")[i % 2]})
    for application, status in zip(
        made, [S.SUBMITTED, S.ELIGIBLE, S.WITHDRAWN, S.IN_REVIEW, S.DRAFT, S.SUBMITTED], strict=True
    ):
        application.status = status
        await application.save(update_fields=["status"])
    edition = await Edition.get(slug="epp-2027")
    programme = await Programme.create(slug="other", name={"en": "Other"})
    other = await Edition.create(
        programme=programme,
        slug="other-2027",
        year=2027,
        title={"en": "Other 2027"},
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
    )
    await Application.filter(id=made[5].id).update(edition_id=other.id)
    return made


async def test_a_plan_changes_nothing_and_sorts_the_selection_out(demo):
    claire, edition = await claire_and_call()
    made = await six_in_every_state()
    history = await StatusChange.all().count()
    ids = [str(a.id) for a in made] + ["abc", "99999999", f"{made[0].id}"]

    plan = await screening.plan(claire, edition, action="eligible", reason="ignored", ids=ids)

    assert [a.reference for a in plan.changing] == ["BULK-0000"]
    assert [a.reference for a in plan.unchanged] == ["BULK-0001"]
    assert [(s.status, s.references) for s in plan.skipped] == [
        (S.WITHDRAWN, ["BULK-0002"]),
        (S.IN_REVIEW, ["BULK-0003"]),
    ]
    assert plan.skipped[0].why == (
        "1 was skipped, an application that is “Withdrawn” cannot become “Eligible”: BULK-0002."
    )
    assert plan.missing == 3  # the draft, the other call's and an id that does not exist
    assert plan.reason == ""  # only a refusal carries a reason to the group
    assert plan.ids.split(",") == [str(a.id) for a in made] + ["99999999"]
    assert await StatusChange.all().count() == history
    assert [a.status for a in await Application.filter(id__in=[a.id for a in made])] == [
        S.SUBMITTED,
        S.ELIGIBLE,
        S.WITHDRAWN,
        S.IN_REVIEW,
        S.DRAFT,
        S.SUBMITTED,
    ]


async def test_the_action_checks_each_status_again_and_writes_history_and_audit(demo):
    claire, edition = await claire_and_call()
    made = await six_in_every_state()
    reason = "The group's members are older than 25."
    plan = await screening.plan(
        claire, edition, action="ineligible", reason=reason, ids=[str(a.id) for a in made]
    )
    assert [a.reference for a in plan.changing] == ["BULK-0000", "BULK-0001"]
    made[1].status = S.IN_REVIEW  # assigned to jurors between the confirmation and the click
    await made[1].save(update_fields=["status"])

    done = await screening.act(
        claire, edition, action="ineligible", reason=reason, ids=[plan.ids], ip="192.0.2.9"
    )

    assert [a.reference for a in done.changing] == ["BULK-0000"]
    assert done.summary() == [
        "1 application marked “Not eligible”.",
        "2 were skipped, an application that is “In review” cannot become “Not eligible”: "
        "BULK-0001, BULK-0003.",
        "1 was skipped, an application that is “Withdrawn” cannot become “Not eligible”: "
        "BULK-0002.",
        "2 selected applications are not this call's: skipped.",
    ]
    await made[0].refresh_from_db()
    await made[1].refresh_from_db()
    assert (made[0].status, made[1].status) == (S.INELIGIBLE, S.IN_REVIEW)
    change = await StatusChange.get(application=made[0])
    assert (change.from_status, change.to_status, change.note, change.actor_id) == (
        "submitted",
        "ineligible",
        reason,
        claire.id,
    )
    assert not await StatusChange.exists(application_id__in=[a.id for a in made[1:]])
    event = await AuditEvent.get(action="application.screen")
    assert (event.object_id, event.before, event.after, event.ip) == (
        str(made[0].id),
        {"status": "submitted"},
        {"status": "ineligible", "note": reason},
        "192.0.2.9",
    )
    assert (await outcomes.latest_notes([made[0]])) == {made[0].id: reason}  # the mail's reason


async def test_shortlisting_moves_only_applications_in_review(demo):
    claire, edition = await claire_and_call()
    made = await six_in_every_state()
    done = await screening.act(
        claire, edition, action="shortlist", reason="", ids=[str(a.id) for a in made[:4]]
    )
    assert [a.reference for a in done.changing] == ["BULK-0003"]
    assert {s.status for s in done.skipped} == {S.SUBMITTED, S.ELIGIBLE, S.WITHDRAWN}
    assert (await Application.get(id=made[3].id)).status == S.SHORTLISTED
    assert await AuditEvent.filter(action="application.shortlist").count() == 1


async def test_all_that_match_the_filters_are_taken_when_asked(demo):
    claire, edition = await claire_and_call()
    made = await many_applications(9, lambda i: {"country": ("FR", "GE", "KZ")[i % 3]})
    plan = await screening.plan(
        claire,
        edition,
        action="eligible",
        reason="",
        ids=[str(made[0].id)],  # ticked, but "all that match" wins
        everything=True,
        params={"country": "GE", "sort": "-reference", "page": "7"},
    )
    assert [a.reference for a in plan.changing] == ["BULK-0001", "BULK-0004", "BULK-0007"]


async def test_what_cannot_be_done_is_refused_in_words(demo):
    claire, edition = await claire_and_call()
    made = await many_applications(2)
    ids = [str(a.id) for a in made]

    async def errors(**asked) -> dict[str, str]:
        with pytest.raises(InvalidInput) as refused:
            await screening.act(claire, edition, **{"ids": ids, "reason": "", **asked})
        return refused.value.errors

    assert "action" in await errors(action="delete")
    assert await errors(action="ineligible", reason=" \n ") == {
        "reason": "Write the reason the groups will be told."
    }
    assert "2000 characters" in (await errors(action="ineligible", reason="x" * 2001))["reason"]
    assert (
        "Tick at least one" in (await errors(action="eligible", ids=["", "x", "0"]))["application"]
    )
    too_many = [",".join(str(n) for n in range(1, 2003))]
    assert "at most 2000" in (await errors(action="eligible", ids=too_many))["application"]
    juror = await User.get(email=f"juror1@{DOMAIN}")
    with pytest.raises(PermissionDenied):
        await screening.plan(juror, edition, action="eligible", reason="", ids=ids)
    assert not await StatusChange.exists(application_id__in=[a.id for a in made])


async def test_moving_many_refuses_a_move_the_life_cycle_forbids(demo):
    made = await many_applications(2)
    made[1].status = S.WITHDRAWN
    with pytest.raises(ServiceError, match="cannot become"):
        await lifecycle.move_many(made, S.ELIGIBLE, actor=None)
    assert await Application.filter(id__in=[a.id for a in made], status=S.ELIGIBLE).count() == 0
    assert not await StatusChange.exists(application_id__in=[a.id for a in made])
