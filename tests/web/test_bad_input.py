"""Bad input is the user's mistake, never the server's: each value a form or a path can carry
that once ended in a 500 is now a 400 in the user's language that keeps what they typed (or a 404
for an id that cannot exist). One strict parser (grants/services/parsing.py) reads them all."""

from __future__ import annotations

import html
import logging

import pytest

from grants.demo import DEMO_PASSWORD
from grants.models import Answer, Application, Attachment, AuditEvent, Group, PanelMember, User
from tests.web.pages import ANSWERS, PDF, field_error

APPLICANT = "applicant1@demo.prevention-prize.eu"
ORGANISER = "organiser@demo.prevention-prize.eu"


async def draft_of_applicant(browser) -> Application:
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    user = await User.get(email=APPLICANT)
    return (
        await Application.filter(group__members__user=user, status="draft").order_by("id").first()
    )


def test_the_parser_takes_ascii_digits_within_bounds_only():
    from grants.services.parsing import decimal_number, parse_id, whole_number

    assert whole_number("42") == 42 and whole_number(" 7 ") == 7
    for typed in ["²", "١٢", "𝟗", "½", "-1", "1e3", "1_000", "", "0x10", str(2**31)]:
        assert parse_id(typed) is None, typed
    assert whole_number("99999999999999999999999999", 0, 10**30) == 99999999999999999999999999
    assert decimal_number("12,5") == 12.5 and decimal_number("-3") == -3
    assert isinstance(decimal_number("12.0"), int)
    for typed in ["1e308", "inf", "-Infinity", "nan", "²", "١٢", "1_000", "19000000000000000000"]:
        assert decimal_number(typed) is None, typed


async def test_a_failed_log_in_with_an_email_longer_than_the_audit_column_is_a_400(
    settings, browser
):
    email = "someone." + "x" * 80 + "@example.org"
    await browser.page("/login")
    response = await browser.submit("/login", {"email": email, "password": "not the password"})
    assert response.status_code == 400
    assert "The email or the password is wrong." in response.text
    assert f'value="{email}"' in response.text  # what was typed stays in the field
    event = await AuditEvent.get(action="login.failed")
    assert len(event.object_id) <= 64 and event.object_id.startswith("someone.xxx")


@pytest.mark.parametrize(
    "path",
    [
        "/groups/2147483648",  # one past PostgreSQL's integer
        "/groups/9223372036854775808",  # one past 64 bits
        "/applications/99999999999999999999999999/receipt",
        "/applications/1/step/18446744073709551616",
        "/jury/reviews/2147483648",
        "/manage/applications/9223372036854775808",
        "/groups/%C2%B2",  # "²"
        "/applications/%D9%A1/receipt",  # Arabic-Indic one
    ],
)
async def test_an_id_that_cannot_exist_is_a_404(demo, browser, path):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    response = await browser.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert "This page does not exist." in response.text


@pytest.mark.parametrize(
    "typed", ["²", "١٢", "1e308", "-1e308", "inf", "nan", "19000000000000000000", "1_000"]
)
async def test_a_number_answer_is_ascii_digits_within_bounds(demo, browser, typed):
    draft = await draft_of_applicant(browser)
    url = f"/applications/{draft.id}/step/2"
    response = await browser.submit(url, {**ANSWERS, "participants": typed})
    assert response.status_code == 400
    assert field_error(response, "participants") == "Error: Enter a number, for example 12."
    assert f'value="{typed}"' in response.text

    response = await browser.submit(url, {**ANSWERS, "participants": "12,5"})
    assert response.status_code == 303
    stored = await Answer.get(application=draft, question__key="participants")
    assert stored.payload["value"] == 12.5


async def test_unicode_digits_and_huge_ids_in_the_organisers_forms_are_field_errors(demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    member = await PanelMember.all().order_by("id").first()
    for member_id in ["²", "99999999999999999999", str(2**31)]:
        response = await browser.submit(
            "/manage/epp-2027/jury/pin", {"member_id": member_id, "reference": "EPP-2027-0001"}
        )
        assert response.status_code == 400, member_id
        assert "Choose a juror of this call." in response.text
    response = await browser.submit(
        "/manage/epp-2027/ranking",
        {"reference": "EPP-2027-0001", "title": "First prize", "position": "²", "amount_eur": "١"},
    )
    assert response.status_code == 400
    assert field_error(response, "position") and field_error(response, "amount_eur")
    assert str(member.id)  # the member exists: only the typed ids were wrong


async def test_a_long_reference_is_a_field_error_and_never_floods_the_log(demo, browser, caplog):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    caplog.set_level(logging.DEBUG)
    for reference in ["EPP-2027-0001" + "X" * 40, "EPP-2027-0001" + "X" * 500_000]:
        response = await browser.submit(
            "/manage/epp-2027/ranking",
            {"reference": reference, "title": "First prize", "position": "1"},
        )
        assert response.status_code == 400
        assert field_error(response, "reference")
        assert 'value="First prize"' in response.text  # the other fields are kept
    response = await browser.post(  # over the 1 MB a field may have: the form cannot be read
        "/manage/epp-2027/ranking",
        data={"reference": "X" * (2 << 20), "csrf_token": browser.csrf},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 400
    assert "Ce formulaire n’a pas pu être lu" in html.unescape(response.text)
    assert all(len(record.getMessage()) < 5000 for record in caplog.records)


async def test_a_text_longer_than_the_form_states_is_refused_on_its_field(demo, browser):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    response = await browser.submit(
        "/groups/new",
        {
            "name": "Peer educators " + "x" * 50_000,
            "kind": "school_class",
            "country": "fr",
            "lead_first_name": "Zoé",
            "lead_age_band": "18_21",
        },
    )
    assert response.status_code == 400
    assert field_error(response, "name").startswith("Error: Use at most 50000 characters")
    assert 'value="Zoé"' in response.text


async def test_nul_characters_never_reach_the_database(demo, browser, settings):
    draft = await draft_of_applicant(browser)
    response = await browser.submit(
        "/groups/new",
        {
            "name": "Nul\x00 group",
            "kind": "school_class",
            "country": "fr",
            "lead_first_name": "Zo\x00é",
            "lead_age_band": "18_21",
        },
    )
    assert response.status_code == 303, response.text[-2000:]
    group = await Group.get(name="Nul group")
    assert group.id

    # A raw multipart body: httpx would escape the NUL, a script need not.
    boundary = "nulboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in {**ANSWERS, "csrf_token": browser.csrf}.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="workplan"; '
        f'filename="plan\x00.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + PDF
        + b"\r\n"
    )
    response = await browser.post(
        f"/applications/{draft.id}/step/2",
        content=b"".join(parts) + f"--{boundary}--\r\n".encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 303, response.text[-2000:]
    attachment = await Attachment.filter(application=draft).order_by("-id").first()
    assert attachment.original_name == "plan.pdf"
