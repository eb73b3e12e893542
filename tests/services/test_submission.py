"""The submission service without HTTP: typed answers, word counts, references."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from grants.models import (
    AgeBand,
    Application,
    Edition,
    EditionStatus,
    Group,
    GroupMember,
    Programme,
    QuestionKind,
    User,
)
from grants.services import submission
from grants.services.errors import ServiceError
from grants.services.forms import form_of, parse_answer, word_count
from grants.services.submission import allocate_reference

OPTIONS = [{"value": "peer", "label": {"en": "Peer"}}, {"value": "arts", "label": {"en": "Arts"}}]


def question(kind: QuestionKind, word_limit: int | None = None):
    return SimpleNamespace(kind=kind, word_limit=word_limit, options=OPTIONS)


NUMBER_ERROR = "Enter a number, for example 12."
DATE_ERROR = "Enter a date as YYYY-MM-DD, for example 2026-03-01."
LINK_ERROR = "Enter a full web address starting with https://"


@pytest.mark.parametrize(
    ("kind", "word_limit", "raw", "value", "error"),
    [
        # text: trimmed, empty is no answer, word limits count words
        (QuestionKind.SHORT_TEXT, None, "  Peer talks  ", "Peer talks", None),
        (QuestionKind.SHORT_TEXT, None, "   ", None, None),
        (QuestionKind.SHORT_TEXT, None, None, None, None),
        (QuestionKind.SHORT_TEXT, None, "x" * 301, "x" * 301, "Keep this under 300 characters."),
        (QuestionKind.LONG_TEXT, 3, "one two three", "one two three", None),
        (
            QuestionKind.LONG_TEXT,
            3,
            "one two\nthree four",
            "one two\nthree four",
            "Use at most 3 words (now 4).",
        ),
        (QuestionKind.LONG_TEXT, None, "word " * 5000, ("word " * 5000).strip(), None),
        # numbers: integers stay integers, a decimal comma is understood, nonsense is refused
        (QuestionKind.NUMBER, None, "25", 25, None),
        (QuestionKind.NUMBER, None, " 12,5 ", 12.5, None),
        (QuestionKind.NUMBER, None, "twelve", "twelve", NUMBER_ERROR),
        (QuestionKind.NUMBER, None, "nan", "nan", NUMBER_ERROR),
        (QuestionKind.NUMBER, None, "inf", "inf", NUMBER_ERROR),
        (QuestionKind.NUMBER, None, "1e999", "1e999", NUMBER_ERROR),
        # dates: ISO only
        (QuestionKind.DATE, None, "2026-09-01", "2026-09-01", None),
        (QuestionKind.DATE, None, "01/09/2026", "01/09/2026", DATE_ERROR),
        (QuestionKind.DATE, None, "2026-02-30", "2026-02-30", DATE_ERROR),
        # links: a full http(s) address
        (
            QuestionKind.LINK,
            None,
            "https://example.org/project",
            "https://example.org/project",
            None,
        ),
        (QuestionKind.LINK, None, "example.org", "example.org", LINK_ERROR),
        (QuestionKind.LINK, None, "javascript:alert(1)", "javascript:alert(1)", LINK_ERROR),
        # choices: only the options given
        (QuestionKind.CHOICE, None, "peer", "peer", None),
        (QuestionKind.CHOICE, None, "hacking", "hacking", "Choose one of the options."),
        (QuestionKind.MULTI_CHOICE, None, ["peer", "", "arts"], ["peer", "arts"], None),
        (QuestionKind.MULTI_CHOICE, None, None, [], None),
        (
            QuestionKind.MULTI_CHOICE,
            None,
            ["peer", "hacking"],
            ["peer", "hacking"],
            "Choose from the options given.",
        ),
    ],
)
def test_parse_answer(kind, word_limit, raw, value, error):
    assert parse_answer(question(kind, word_limit), raw) == (value, error)


def test_a_non_string_answer_to_a_text_question_is_no_answer():
    assert parse_answer(question(QuestionKind.SHORT_TEXT), ["a", "list"]) == (None, None)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("one", 1),
        ("one  two\nthree\tfour", 4),
        ("l'école — c'est ça", 4),
        ("Молодёжь за здоровье", 3),
    ],
)
def test_word_count(text, count):
    assert word_count(text) == count


@pytest.fixture
async def call(settings):
    """An open edition, a user (no argon2: this is not about passwords) and their group."""
    now = datetime.now(UTC)
    programme = await Programme.create(slug="prize", name={"en": "Prize"})
    edition = await Edition.create(
        programme=programme,
        slug="prize-2027",
        year=2027,
        title={"en": "Prize 2027"},
        status=EditionStatus.OPEN,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        reference_prefix="EPP",
    )
    user = await User.create(email="alice@example.org", display_name="Alice", password_hash="x")
    group = await Group.create(name="Peers", kind="informal_group", country="PT", created_by=user)
    await GroupMember.create(
        group=group, user=user, first_name="Alice", role="lead", age_band=AgeBand.AGE_18_21
    )
    return SimpleNamespace(edition=edition, user=user, group=group)


async def test_references_are_sequential_per_edition(call):
    first = await submission.create_draft(
        call.user, edition=call.edition, group_id=str(call.group.id), title="One", language="en"
    )
    second = await submission.create_draft(
        call.user, edition=call.edition, group_id=str(call.group.id), title="Two", language="fr"
    )
    assert (first.reference, second.reference) == ("EPP-2027-0001", "EPP-2027-0002")
    assert (await Edition.get(id=call.edition.id)).next_reference == 3


async def test_allocate_reference_does_not_trust_a_stale_edition(call):
    stale = await Edition.get(id=call.edition.id)
    assert await allocate_reference(stale) == "EPP-2027-0001"
    assert await allocate_reference(stale) == "EPP-2027-0002"  # same (stale) object, next number


async def test_references_stay_unique_under_concurrent_drafts(call):
    drafts = await asyncio.gather(
        *(
            submission.create_draft(
                call.user,
                edition=call.edition,
                group_id=str(call.group.id),
                title=f"Draft {n}",
                language="en",
            )
            for n in range(20)
        )
    )
    references = sorted(d.reference for d in drafts)
    assert references == [f"EPP-2027-{n:04d}" for n in range(1, 21)]
    assert await Application.filter(edition=call.edition).count() == 20


async def test_a_draft_needs_a_title_a_language_and_an_open_call(call):
    with pytest.raises(ServiceError) as caught:
        await submission.create_draft(
            call.user, edition=call.edition, group_id=str(call.group.id), title=" ", language="xx"
        )
    assert set(caught.value.errors) == {"title", "language"}
    call.edition.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    await call.edition.save()
    with pytest.raises(ServiceError, match="not accepting applications"):
        await submission.create_draft(
            call.user,
            edition=call.edition,
            group_id=str(call.group.id),
            title="Late",
            language="en",
        )
    assert await Application.all().count() == 0


async def test_saving_answers_again_updates_them_in_place_even_from_two_tabs_at_once(call):
    from grants.models import Answer, Question

    needs = await Question.create(
        edition=call.edition,
        key="needs",
        step=2,
        kind=QuestionKind.LONG_TEXT,
        label={"en": "Needs"},
    )
    count = await Question.create(
        edition=call.edition, key="count", step=2, kind=QuestionKind.NUMBER, label={"en": "Count"}
    )
    draft = await submission.create_draft(
        call.user, edition=call.edition, group_id=str(call.group.id), title="T", language="en"
    )
    questions = (await form_of(call.edition)).questions
    assert await submission.save_answers(
        call.user, draft, {"needs": "A survey", "count": "x"}, questions
    ) == {"count": NUMBER_ERROR}  # kept although wrong, so nothing typed is lost
    await asyncio.gather(
        *(
            submission.save_answers(
                call.user, draft, {"needs": f"Tab {n}", "count": "12"}, questions
            )
            for n in range(2)
        )
    )
    answers = {a.question_id: a.value for a in await Answer.filter(application=draft)}
    assert answers[count.id] == 12 and answers[needs.id] in {"Tab 0", "Tab 1"}
    assert await Answer.filter(application=draft).count() == 2


async def test_a_step_with_a_file_is_saved_whole_or_not_at_all(call, settings):
    import io

    from grants.models import Answer, Attachment, AuditEvent, Question

    needs = await Question.create(
        edition=call.edition,
        key="needs",
        step=2,
        kind=QuestionKind.LONG_TEXT,
        label={"en": "Needs"},
    )
    plan = await Question.create(
        edition=call.edition, key="plan", step=2, kind=QuestionKind.FILE, label={"en": "Plan"}
    )
    draft = await submission.create_draft(
        call.user, edition=call.edition, group_id=str(call.group.id), title="T", language="en"
    )
    pdf = b"%PDF-1.4\n" + b"x" * 5000

    # A question that no longer exists makes the answers' write fail inside the transaction.
    vanished = SimpleNamespace(
        id=10**9, key="gone", kind=QuestionKind.SHORT_TEXT, word_limit=None, options=[]
    )
    with pytest.raises(Exception, match="(?i)foreign key|violates"):
        await submission.save_answers(
            call.user,
            draft,
            {"needs": "A survey", "gone": "x"},
            [needs, vanished],
            uploads=[(plan, submission.Upload("plan.pdf", io.BytesIO(pdf)))],
            settings=settings,
        )
    assert await Answer.filter(application=draft).count() == 0
    assert await Attachment.filter(application=draft).count() == 0
    assert await AuditEvent.filter(action="attachment.upload").count() == 0
    assert [p.name for p in settings.upload_dir.iterdir()] == []  # the stored file was taken back

    errors = await submission.save_answers(
        call.user,
        draft,
        {"needs": "A survey"},
        [needs, plan],
        uploads=[(plan, submission.Upload("plan.pdf", io.BytesIO(pdf)))],
        settings=settings,
    )
    assert errors == {}
    attachment = await Attachment.get(application=draft)
    assert (attachment.original_name, attachment.size) == ("plan.pdf", len(pdf))
    assert (settings.upload_dir / attachment.stored_name).read_bytes() == pdf
    assert await AuditEvent.filter(action="attachment.upload").count() == 1
    assert await Answer.filter(application=draft).count() == 1
