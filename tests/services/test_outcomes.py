"""Outcome mails and messages, service by service: nothing is queued before a release, each group
is told once in its language with the placeholders filled, texts are checked, and messages reach
the other side only."""

from __future__ import annotations

import string
from email.header import decode_header, make_header
from email.message import Message

import pytest

from grants import i18n, mail
from grants.models import (
    Application,
    ApplicationMessage,
    ApplicationStatus,
    AuditEvent,
    Edition,
    OutboxEmail,
    OutcomeKind,
    OutcomeNotice,
    User,
)
from grants.services import awards, lifecycle, messages, outcomes, screening
from grants.services.errors import InvalidInput, NotFound, PermissionDenied, ServiceError

DOMAIN = "demo.prevention-prize.eu"


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def links(name: str, /, **params: object) -> str:
    return f"https://prize.example/{name}/" + "/".join(str(v) for v in params.values())


async def person(local: str) -> User:
    return await User.get(email=f"{local}@{DOMAIN}")


async def first_of(local: str) -> Application:
    """The first submitted application of a demo applicant's group (applicant1 reads French,
    applicant3 Russian; the first application of each is written in English and Russian)."""
    return (
        await Application.filter(created_by__email=f"{local}@{DOMAIN}", status="submitted")
        .order_by("reference")
        .first()
    )


async def test_mails_go_only_when_released_in_each_groups_language_and_once(demo, settings, smtp):
    claire, edition = await person("organiser"), await Edition.get(slug="epp-2027")
    french, russian = await first_of("applicant1"), await first_of("applicant3")
    await screening.screen(claire, french.id, decision="eligible")
    reason = "Проект начался до срока, указанного в правилах."
    await screening.screen(claire, russian.id, decision="ineligible", note=reason)
    assert await OutboxEmail.all().count() == 0  # screening tells nobody by itself

    summaries = {s.kind: s for s in await outcomes.console(claire, edition, links=links)}
    assert summaries[OutcomeKind.ELIGIBLE].pending == {"en": 0, "fr": 1, "ru": 0}
    assert summaries[OutcomeKind.INELIGIBLE].pending == {"en": 0, "fr": 0, "ru": 1}
    ru_preview = summaries[OutcomeKind.INELIGIBLE].previews[2]
    assert ru_preview.language == "ru" and reason in ru_preview.mail.body
    assert await OutboxEmail.all().count() == 0  # previews queue nothing
    with pytest.raises(InvalidInput):
        await outcomes.release(claire, edition, kind_code="eligible", confirmed=False, links=links)

    for kind in ("eligible", "ineligible"):
        done = await outcomes.release(claire, edition, kind_code=kind, confirmed=True, links=links)
        assert (done.applications, done.mails) == (1, 1)
    await mail.send_all_due(settings)
    (fr_mail,) = smtp.to(f"applicant1@{DOMAIN}")
    assert subject(fr_mail) == f"{french.reference} : votre candidature est recevable"
    body = fr_mail.get_payload(decode=True).decode()
    assert "Bonjour Les Pairs de Jette" in body and f"« {french.title} »" in body
    assert f"https://prize.example/receipt/{french.id}" in body and "{" not in body
    (ru_mail,) = smtp.to(f"applicant3@{DOMAIN}")
    body = ru_mail.get_payload(decode=True).decode()
    assert "не допущена" in subject(ru_mail) and reason in body and russian.title in body

    for kind in ("eligible", "ineligible"):  # again: nobody is mailed twice
        done = await outcomes.release(claire, edition, kind_code=kind, confirmed=True, links=links)
        assert (done.applications, done.mails) == (0, 0)
    assert await OutboxEmail.all().count() == 2 and await OutcomeNotice.all().count() == 2
    assert await AuditEvent.filter(action="outcome.release").count() == 4


async def test_a_juror_cannot_release_and_an_unknown_outcome_is_refused(demo):
    edition = await Edition.get(slug="epp-2027")
    with pytest.raises(PermissionDenied):
        await outcomes.release(
            await person("juror1"), edition, kind_code="eligible", confirmed=True, links=links
        )
    with pytest.raises(ServiceError):
        await outcomes.release(
            await person("organiser"), edition, kind_code="winner", confirmed=True, links=links
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Bonjour {groupe}", "Unknown placeholder {groupe}"),
        ("{reason}", "Unknown placeholder {reason}"),  # eligible mails have no reason
        ("{group!r}", "without"),
        ("{group:>9}", "without"),
        ("{group.name}", "Unknown placeholder"),
        ("a { alone", "no partner"),
        ("}", "no partner"),
    ],
)
def test_bad_placeholders_are_named(text, problem):
    assert problem in (outcomes.placeholder_error(text, OutcomeKind.ELIGIBLE) or "")


def test_good_texts_are_filled_and_braces_can_be_written():
    assert outcomes.placeholder_error("{{x}} {group} {reference}", OutcomeKind.ELIGIBLE) is None
    assert outcomes.fill("{{x}} {group}", {"group": "G {reason}"}) == "{x} G {reason}"


def names(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", ["en", "fr", "ru"])
def test_every_default_text_in_every_language_uses_only_its_placeholders(language):
    for kind in OutcomeKind:
        text = outcomes.default_text(kind, language)
        english = outcomes.default_text(kind, "en")
        for mine, source in ((text.subject, english.subject), (text.body, english.body)):
            assert outcomes.placeholder_error(mine, kind) is None, (language, kind, mine)
            assert names(mine) == names(source), (language, kind)


async def test_saved_texts_replace_the_default_in_their_language_only(demo):
    claire, edition = await person("organiser"), await Edition.get(slug="epp-2027")
    with pytest.raises(InvalidInput) as refused:
        await outcomes.save_texts(
            claire,
            edition,
            kind_code="ineligible",
            typed={"subject_fr": "Désolés {groupe}", "body_fr": "{reason}"},
        )
    assert "{groupe}" in refused.value.errors["subject_fr"]
    await outcomes.save_texts(
        claire,
        edition,
        kind_code="ineligible",
        typed={"subject_fr": "Désolés, {group}", "body_fr": "Raison : {reason}"},
    )
    texts = await outcomes.texts_of(edition)
    assert texts[OutcomeKind.INELIGIBLE, "fr"] == outcomes.Text(
        "Désolés, {group}", "Raison : {reason}", own=True
    )
    assert not texts[OutcomeKind.INELIGIBLE, "ru"].own
    with i18n.speaking("ru"):
        assert texts[OutcomeKind.INELIGIBLE, "ru"].subject == i18n.gettext(
            outcomes.DEFAULTS[OutcomeKind.INELIGIBLE][0]
        )


async def test_a_group_is_told_in_its_leads_language_not_its_applications(demo):
    application = await first_of("applicant1")
    await application.fetch_related("created_by")
    assert application.language == "en"  # written in English for the jury
    assert outcomes.group_language(application) == "fr"  # Anaïs reads the site in French


async def test_awarded_mail_names_the_award(demo, settings, smtp):
    claire, edition = await person("organiser"), await Edition.get(slug="epp-2027")
    french = await first_of("applicant1")
    french = await screening.screen(claire, french.id, decision="eligible")
    await awards.record_award(
        claire,
        edition,
        reference=french.reference,
        title="Prix du jury",
        position="1",
        amount_eur="5000",
        citation="",
    )
    await lifecycle.move(french, ApplicationStatus.AWARDED, actor=claire)
    await outcomes.release(claire, edition, kind_code="awarded", confirmed=True, links=links)
    await mail.send_all_due(settings)
    (awarded,) = smtp.to(f"applicant1@{DOMAIN}")
    assert "Prix du jury, 5\u202f000 euros" in awarded.get_payload(decode=True).decode()


# --- Messages ----------------------------------------------------------------------------------


async def test_messages_go_both_ways_by_mail_in_each_readers_language(demo, settings, smtp):
    claire, anais = await person("organiser"), await person("applicant1")
    application = await first_of("applicant1")
    await messages.write_to_group(
        claire, application.id, body="Pouvez-vous envoyer le budget ?", links=links
    )
    await messages.write_to_organisers(
        anais, application.id, body="Le voici, en pièce jointe.", links=links
    )
    thread = await messages.thread(application)
    assert [(m.from_secretariat, m.author_id) for m in thread] == [
        (True, claire.id),
        (False, anais.id),
    ]
    await mail.send_all_due(settings)
    (to_group,) = smtp.to(anais.email)
    assert subject(to_group) == f"Un message au sujet de votre candidature {application.reference}"
    assert "Pouvez-vous envoyer le budget ?" in to_group.get_payload(decode=True).decode()
    (to_secretariat,) = smtp.to(claire.email)  # Claire reads French
    assert "Le voici" in to_secretariat.get_payload(decode=True).decode()
    assert "un message de Les Pairs de Jette" in subject(to_secretariat)
    events = await AuditEvent.filter(action="application.message").order_by("id")
    assert [e.after["from"] for e in events] == ["secretariat", "group"]


async def test_nobody_else_reads_or_writes_a_groups_messages(demo):
    application = await first_of("applicant1")
    daria, juror = await person("applicant3"), await person("juror1")
    with pytest.raises(NotFound):
        await messages.write_to_organisers(daria, application.id, body="Hello", links=links)
    with pytest.raises(NotFound):
        await messages.conversation(daria, application.id, secretariat=False)
    with pytest.raises(PermissionDenied):
        await messages.write_to_group(juror, application.id, body="Hello", links=links)
    with pytest.raises(InvalidInput):
        await messages.write_to_group(
            await person("organiser"), application.id, body="   ", links=links
        )
    assert await ApplicationMessage.all().count() == 0 and await OutboxEmail.all().count() == 0
