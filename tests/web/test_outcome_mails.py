"""Telling the groups over HTTP: outcome mails previewed, then released (and only then delivered
over real SMTP, in French and Russian), their texts checked, and messages between the secretariat
and a group on the application's pages."""

from __future__ import annotations

from email.header import decode_header, make_header

from grants import mail
from grants.demo import DEMO_PASSWORD
from grants.models import Application
from tests.web.pages import field_error, location, text_of

DOMAIN = "demo.prevention-prize.eu"
ORGANISER = f"organiser@{DOMAIN}"
REASON = "Проект начался до срока, указанного в правилах."


async def first_of(local: str) -> Application:
    return (
        await Application.filter(created_by__email=f"{local}@{DOMAIN}", status="submitted")
        .order_by("reference")
        .first()
    )


async def signed_in(make_browser, local: str, ip: str):
    browser = await make_browser(ip)
    await browser.log_in(f"{local}@{DOMAIN}", DEMO_PASSWORD)
    return browser


def read(message) -> tuple[str, str]:
    subject = str(make_header(decode_header(message["Subject"])))
    return subject, message.get_payload(decode=True).decode()


async def test_outcome_mails_arrive_over_smtp_in_french_and_russian_only_after_release(
    demo, settings, smtp, make_browser
):
    claire = await signed_in(make_browser, "organiser", "198.51.100.2")
    french, russian = await first_of("applicant1"), await first_of("applicant3")
    screen = "/manage/applications/{}/screen"
    location(await claire.submit(screen.format(french.id), {"decision": "eligible"}))
    location(
        await claire.submit(screen.format(russian.id), {"decision": "ineligible", "note": REASON})
    )

    console = await claire.page("/manage/epp-2027/outcomes")
    assert console.status_code == 200
    page = text_of(console)
    assert f"{french.reference} : votre candidature est recevable" in page  # the French preview
    assert REASON in page and "1 group still to tell (Russian: 1)" in page
    await mail.send_all_due(settings)
    assert not smtp.to(f"applicant1@{DOMAIN}") and not smtp.to(f"applicant3@{DOMAIN}")

    refused = await claire.submit("/manage/epp-2027/outcomes/release", {"kind": "eligible"})
    assert refused.status_code == 400
    assert "Tick the box" in field_error(refused, "confirm_eligible")
    for kind in ("eligible", "ineligible", "eligible"):  # the second eligible: a double release
        release = {"kind": kind, f"confirm_{kind}": "yes"}
        location(await claire.submit("/manage/epp-2027/outcomes/release", release))
    await mail.send_all_due(settings)

    (to_french,) = smtp.to(f"applicant1@{DOMAIN}")
    subject, body = read(to_french)
    assert subject == f"{french.reference} : votre candidature est recevable"
    assert body.startswith("Bonjour Les Pairs de Jette,") and f"« {french.title} »" in body
    assert f"/applications/{french.id}/receipt" in body
    (to_russian,) = smtp.to(f"applicant3@{DOMAIN}")
    subject, body = read(to_russian)
    assert subject == f"{russian.reference}: ваша заявка не допущена к конкурсу"
    assert body.startswith("Здравствуйте, Молодёжь за здоровье!") and REASON in body
    page = text_of(await claire.page("/manage/epp-2027/outcomes"))
    assert "0 groups still to tell" in page and "1 group already told" in page


async def test_mail_texts_are_checked_previewed_and_saved_per_language(demo, make_browser):
    claire = await signed_in(make_browser, "organiser", "198.51.100.2")
    form = await claire.page("/manage/epp-2027/outcomes/texts?kind=ineligible")
    assert form.status_code == 200 and "{reason}" in form.text
    typed = {"kind": "ineligible", "subject_fr": "Désolés, {groupe}", "body_fr": "Car : {reason}"}

    refused = await claire.submit("/manage/epp-2027/outcomes/texts", {**typed, "action": "save"})
    assert refused.status_code == 400
    assert "Unknown placeholder {groupe}" in field_error(refused, "subject_fr")
    assert 'value="Désolés, {groupe}"' in text_of(refused) and "Car : {reason}" in refused.text

    typed["subject_fr"] = "Désolés, {group}"
    preview = await claire.submit("/manage/epp-2027/outcomes/texts", {**typed, "action": "preview"})
    assert preview.status_code == 200 and "Désolés, Groupe d’exemple" in text_of(preview)
    location(await claire.submit("/manage/epp-2027/outcomes/texts", {**typed, "action": "save"}))
    console = text_of(await claire.page("/manage/epp-2027/outcomes"))
    section = console.split('id="outcome-ineligible"')[1].split("</section>")[0]
    assert "Désolés, Groupe d’exemple" in section and "Car : Raison d’exemple" in section
    assert "Preview in Russian · no text of your own in this language" in section
    assert "Preview in French · no text" not in section


async def test_messages_go_both_ways_mailed_and_only_to_the_group(
    demo, settings, smtp, make_browser
):
    application = await first_of("applicant1")
    claire = await signed_in(make_browser, "organiser", "198.51.100.2")
    anais = await signed_in(make_browser, "applicant1", "198.51.100.3")
    daria = await signed_in(make_browser, "applicant3", "198.51.100.4")
    on_console = f"/manage/applications/{application.id}"
    on_receipt = f"/applications/{application.id}/receipt"

    to_group = {"message": "Could you send us your budget?"}
    assert location(await claire.submit(f"{on_console}/messages", to_group)).endswith("#messages")
    receipt = text_of(await anais.page(on_receipt))
    assert "The secretariat" in receipt and "Could you send us your budget?" in receipt
    location(await anais.submit(f"{on_receipt.rsplit('/', 1)[0]}/messages", {"message": "Yes."}))
    assert "Yes." in text_of(await claire.page(on_console))

    await mail.send_all_due(settings)
    (mailed,) = smtp.to(f"applicant1@{DOMAIN}")  # in Anaïs's language, French
    assert read(mailed)[0] == f"Un message au sujet de votre candidature {application.reference}"
    assert "Could you send us your budget?" in read(mailed)[1]
    (mailed,) = smtp.to(ORGANISER)
    assert "Yes." in read(mailed)[1]

    too_long = {"message": "x" * 5001}
    refused = await anais.submit(f"/applications/{application.id}/messages", too_long)
    assert refused.status_code == 400 and field_error(refused, "message")
    assert "x" * 5001 in refused.text  # what was typed, kept
    empty = await claire.submit(f"{on_console}/messages", {"message": "  "})
    assert empty.status_code == 400 and "Write your message." in field_error(empty, "message")

    nosy = await daria.submit(f"/applications/{application.id}/messages", {"message": "Hi"})
    assert nosy.status_code == 404
    seen = await daria.get(on_receipt)
    assert seen.status_code == 404 and "budget" not in seen.text
