"""Groups without HTTP: who may submit (team size, country, guardians' consent), invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grants.models import (
    AgeBand,
    AuditEvent,
    Edition,
    EditionStatus,
    Group,
    GroupMember,
    Programme,
    User,
)
from grants.services import groups
from grants.services.errors import NotFound, PermissionDenied, ServiceError


@pytest.fixture
async def edition(settings):
    now = datetime.now(UTC)
    programme = await Programme.create(slug="prize", name={"en": "Prize"})
    return await Edition.create(
        programme=programme,
        slug="prize-2027",
        year=2027,
        title={"en": "Prize 2027"},
        status=EditionStatus.OPEN,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        eligible_countries=["PT", "GE"],
        consent_age=18,
        min_team_size=2,
        max_team_size=3,
    )


@pytest.fixture
async def alice(settings):
    return await User.create(email="alice@example.org", display_name="Alice", password_hash="x")


async def make_group(user: User, *, country: str = "pt", lead_band: str = "18_21") -> Group:
    return await groups.create_group(
        user,
        name="Peers",
        kind="informal_group",
        country=country,
        organisation="",
        lead_first_name="Alice",
        lead_age_band=lead_band,
    )


async def test_a_complete_adult_team_from_an_eligible_country_has_no_blockers(edition, alice):
    group = await make_group(alice)
    assert group.country == "PT"
    await groups.add_member(alice, group, first_name="Bruno", age_band="22_25")
    assert await groups.submission_blockers(group, edition) == []


async def test_team_size_is_checked_both_ways(edition, alice):
    group = await make_group(alice)
    assert await groups.submission_blockers(group, edition) == [
        "A team must have between 2 and 3 members. Yours has 1."
    ]
    for name in ("Bruno", "Chloé", "Dato"):
        await groups.add_member(alice, group, first_name=name, age_band="18_21")
    assert await groups.submission_blockers(group, edition) == [
        "A team must have between 2 and 3 members. Yours has 4."
    ]


async def test_a_group_from_outside_the_call_cannot_submit(edition, alice):
    group = await make_group(alice, country="us")
    await groups.add_member(alice, group, first_name="Bruno", age_band="18_21")
    assert await groups.submission_blockers(group, edition) == [
        "Groups from US cannot apply to this call."
    ]
    edition.eligible_countries = []  # no list: every country may apply
    assert await groups.submission_blockers(group, edition) == []


async def test_every_minor_needs_a_recorded_consent(edition, alice):
    group = await make_group(alice, lead_band="16_17")
    bruno = await groups.add_member(alice, group, first_name="Bruno", age_band="14_15")
    blockers = await groups.submission_blockers(group, edition)
    assert len(blockers) == 2
    assert blockers[0].startswith("Alice is under 18: record a parent's or guardian's consent")
    assert blockers[1].startswith("Bruno is under 18")

    # Alice is 16: she may record neither her own guardian's consent nor Bruno's.
    lead = await GroupMember.get(group=group, role="lead")
    for member_id in (lead.id, bruno.id):
        with pytest.raises(PermissionDenied):
            await groups.record_consent(alice, group, member_id, guardian_name="Maria Silva")
    assert await AuditEvent.filter(action="group.consent_refused", actor=alice).count() == 2
    assert len(await groups.submission_blockers(group, edition)) == 2

    # Their teacher, an adult member with her own account, records both.
    teresa = await User.create(email="teresa@example.org", display_name="Teresa", password_hash="x")
    await GroupMember.create(group=group, user=teresa, first_name="Teresa", age_band="over_25")
    with pytest.raises(ServiceError) as caught:
        await groups.record_consent(teresa, group, bruno.id, guardian_name="  ")
    assert "guardian_name" in caught.value.errors
    await groups.record_consent(teresa, group, bruno.id, guardian_name="Ana Costa")
    await groups.record_consent(teresa, group, lead.id, guardian_name="Maria Silva")
    assert await groups.submission_blockers(group, edition) == []
    assert await AuditEvent.filter(action="group.consent", actor=teresa).count() == 2
    await lead.refresh_from_db()

    edition.consent_age = 16  # a call with a lower consent age does not ask for 16-17 year olds
    lead.guardian_consent_at = None
    await lead.save()
    assert await groups.submission_blockers(group, edition) == []


async def test_creating_a_group_reports_every_missing_field(alice):
    with pytest.raises(ServiceError) as caught:
        await groups.create_group(
            alice,
            name=" ",
            kind="gang",
            country="Portugal",
            organisation="",
            lead_first_name="",
            lead_age_band="forty",
        )
    assert set(caught.value.errors) == {
        "name",
        "kind",
        "country",
        "lead_first_name",
        "lead_age_band",
    }
    assert await Group.all().count() == 0


async def test_only_members_can_change_a_group(alice):
    group = await make_group(alice)
    mallory = await User.create(
        email="mallory@example.org", display_name="Mallory", password_hash="x"
    )
    with pytest.raises(NotFound):
        await groups.add_member(mallory, group, first_name="Mallory", age_band="18_21")
    assert await groups.groups_of(mallory) == []
    assert [g.id for g in await groups.groups_of(alice)] == [group.id]


@pytest.mark.parametrize(
    ("band", "consent_age", "needed"),
    [
        ("16_17", 18, True),
        ("18_21", 18, False),  # the usual age: bands end exactly there
        ("16_17", 17, True),  # a 16-year-old is in the band: the whole band is asked
        ("14_15", 15, True),
        ("18_21", 21, True),
        ("22_25", 21, False),
        ("under_14", 14, True),
        ("over_25", 18, False),
    ],
)
def test_a_member_needs_a_guardians_consent_when_their_band_reaches_below_the_calls_age(
    band, consent_age, needed
):
    from types import SimpleNamespace

    from grants.models import AgeBand

    member = SimpleNamespace(age_band=AgeBand(band), guardian_consent_at=None)
    edition = SimpleNamespace(consent_age=consent_age)
    assert groups.needs_consent(member, edition) is needed
    member.guardian_consent_at = datetime.now(UTC)
    assert groups.needs_consent(member, edition) is False


@pytest.mark.parametrize(
    ("recorder", "same_person", "allowed"),
    [
        ("18_21", False, True),
        ("over_25", False, True),
        ("16_17", False, False),  # a minor vouches for nobody's guardian
        ("under_14", False, False),
        ("18_21", True, False),  # nor for one's own, at any age
        ("16_17", True, False),
        (None, False, False),  # not a member of the group
    ],
)
def test_only_an_adult_other_member_may_record_a_guardians_consent(recorder, same_person, allowed):
    from types import SimpleNamespace

    member = SimpleNamespace(id=1, age_band=AgeBand.AGE_16_17)
    by = None
    if recorder is not None:
        by = SimpleNamespace(id=1 if same_person else 2, age_band=AgeBand(recorder))
    assert (groups.consent_refusal(by, member) is None) is allowed
