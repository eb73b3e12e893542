"""The hand-written hot-path reads give exactly what the ORM gives, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from grants.models import Application, GroupMember, User, hot


def fields_of(model) -> dict:
    return {name: getattr(model, name) for name in model._meta.fields_db_projection}


async def test_an_application_of_a_member_is_the_one_the_orm_loads_with_its_call_and_group(
    settings, demo
):
    application = await Application.filter(group__members__user_id__not_isnull=True).first()
    member = await GroupMember.filter(
        group_id=application.group_id, user_id__not_isnull=True
    ).first()

    loaded = await hot.application_of_member(application.id, member.user_id)

    expected = (
        await Application.filter(id=application.id).select_related("edition", "group").first()
    )
    assert fields_of(loaded) == fields_of(expected)
    assert fields_of(await loaded.edition) == fields_of(
        await expected.edition
    )  # no query: already loaded
    assert fields_of(await loaded.group) == fields_of(await expected.group)
    assert (
        isinstance(loaded.edition.closes_at, datetime)
        and loaded.edition.closes_at.tzinfo is not None
    )
    assert isinstance(loaded.edition.allowed_types, list)


async def test_an_application_of_another_group_is_not_found(settings, demo):
    application = await Application.first()
    outsider = await User.exclude(memberships__group_id=application.group_id).first()

    assert await hot.application_of_member(application.id, outsider.id) is None
    assert await hot.application_of_member(10**9, outsider.id) is None


async def test_an_active_user_is_the_one_the_orm_loads_and_an_erased_one_is_gone(settings, demo):
    user = await User.first()
    assert fields_of(await hot.active_user(user.id)) == fields_of(await User.get(id=user.id))

    user.erased_at = datetime.now(UTC)
    await user.save(update_fields=["erased_at"])
    assert await hot.active_user(user.id) is None


async def test_an_edition_by_slug_is_the_one_the_orm_loads_with_its_programme(settings, demo):
    from grants.models import Edition

    expected = await Edition.first().select_related("programme")
    loaded = await hot.edition_by_slug(expected.slug)
    assert fields_of(loaded) == fields_of(expected)
    assert fields_of(await loaded.programme) == fields_of(await expected.programme)
    assert await hot.edition_by_slug("no-such-call") is None


async def test_the_answers_and_files_of_an_application_are_the_ones_the_orm_loads(settings, demo):
    from grants.models import Answer, Attachment

    application = await Application.filter(answers__id__not_isnull=True).first()
    for name in ("plan.pdf", "poster.png"):
        await Attachment.create(
            application=application,
            original_name=name,
            stored_name=name + "-stored",
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            uploaded_by=await User.first(),
        )
    for model in (Answer, Attachment):
        parent = await model.first()
        assert parent is not None, f"the demo has no {model.__name__}"
        expected = await model.filter(application_id=parent.application_id).order_by("id")
        loaded = await hot.children_of(model, "application_id", parent.application_id)
        assert [fields_of(row) for row in loaded] == [fields_of(row) for row in expected]
        assert len(loaded) >= 2


async def test_a_members_groups_are_the_ones_the_orm_finds(settings, demo):
    from grants.models import Group

    member = await GroupMember.filter(user_id__not_isnull=True).first()
    expected = await Group.filter(members__user_id=member.user_id).distinct().order_by("name", "id")
    assert [fields_of(g) for g in await hot.groups_of_member(member.user_id)] == [
        fields_of(g) for g in expected
    ]

    group = expected[0]
    assert fields_of(await hot.group_of_member(group.id, member.user_id)) == fields_of(group)
    outsider = await User.exclude(memberships__group_id=group.id).first()
    assert await hot.group_of_member(group.id, outsider.id) is None
    assert group.id not in [g.id for g in await hot.groups_of_member(outsider.id)]
