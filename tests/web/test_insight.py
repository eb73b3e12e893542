"""The audit log page and its CSV, and the dashboard (web/insight.py), as organisers and
administrators use them."""

from __future__ import annotations

import csv
import html
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime

from grants.demo import DEMO_PASSWORD
from grants.models import (
    Application,
    Assignment,
    AuditEvent,
    Edition,
    PanelMember,
    Review,
    ReviewStatus,
    User,
)
from grants.services import audit, dashboard
from tests.web.pages import field_error

ORGANISER = "organiser@demo.prevention-prize.eu"
ADMIN = "admin@demo.prevention-prize.eu"
AUDIT = "/manage/epp-2027/audit"
IP = "198.51.100.23"
SVG = "{http://www.w3.org/2000/svg}"


async def a_trail() -> dict[str, int]:
    """Events on the demo: 60 reads of EPP-2027-0001 by the organiser, a juror's review of
    EPP-2027-0002 a year ago, a sign-up (no edition's business) and one by a formula-named actor."""
    organiser = await User.get(email=ORGANISER)
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    first = await Application.get(reference="EPP-2027-0001")
    second = await Application.get(reference="EPP-2027-0002")
    member = await PanelMember.filter(user=juror).first()
    assignment = await Assignment.create(panel_id=member.panel_id, juror=juror, application=second)
    review = await Review.create(assignment=assignment, status=ReviewStatus.SUBMITTED)
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                action="application.read",
                actor=organiser,
                object_type="application",
                object_id=str(first.id),
                ip=IP,
            )
            for _ in range(60)
        ]
    )
    old = await audit.record(
        "review.submit", actor=juror, object_type="review", object_id=review.id, ip=IP
    )
    await AuditEvent.filter(id=old.id).update(at=datetime(2025, 3, 10, 12, tzinfo=UTC))
    await audit.record("account.signup", actor=juror, object_type="user", object_id=juror.id)
    mallory = await User.create(
        email="mallory@example.org",
        password_hash="!",
        display_name='=HYPERLINK("http://x.example","y")',
    )
    await audit.record(
        "discussion.comment", actor=mallory, object_type="application", object_id=first.id, ip=IP
    )
    return {"reads": 60, "all": 60 + 1 + 1 + 1}  # and the demo's own demo.load


def text_of(markup: str) -> str:
    """What a person reads: the markup without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def shown(page_text: str) -> int:
    return int(re.search(r"(\d+) events?", page_text).group(1))


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_audit_log_filters_pages_and_hides_addresses_from_organisers(demo, browser):
    counts = await a_trail()
    await browser.log_in(ORGANISER, DEMO_PASSWORD)

    everything = await browser.get(AUDIT)
    assert everything.status_code == 200, everything.text[:2000]
    assert shown(text_of(everything.text)) == counts["all"]  # no sign-up: not this call's
    assert "Account created" not in everything.text
    assert IP not in everything.text and "IP address" not in everything.text
    assert "Application read by an organiser" in everything.text
    assert "application.read" not in text_of(everything.text)  # words, not codes

    # pagination: 50 a page, newest first; a page past the last shows the last
    first_page = await browser.get(AUDIT)
    assert first_page.text.count("<tr><td><time") == 50
    assert text_of(first_page.text).index("EPP-2027-0001") > 0
    second = await browser.get(AUDIT, params={"page": "2"})
    assert second.text.count("<tr><td><time") == counts["all"] - 50
    assert "Demo data loaded" in second.text  # the oldest event is last
    assert (await browser.get(AUDIT, params={"page": "99"})).text == second.text

    # who, what, which application, when: each on its own
    async def total(**params) -> int:
        response = await browser.get(AUDIT, params=params)
        assert response.status_code == 200, response.text[:2000]
        return shown(text_of(response.text))

    assert await total(who="juror1@demo") == 1
    assert await total(who="Organiser") == counts["reads"]  # display names match too
    assert await total(action="application.read") == counts["reads"]
    assert await total(action="review.submit") == 1
    assert await total(reference="epp-2027-0002") == 1  # the review of it
    assert await total(reference="EPP-2027-0001") == counts["reads"] + 1
    assert await total(**{"from": "2025-03-10", "to": "2025-03-10"}) == 1
    assert await total(to="2025-03-09") == 0
    assert await total(**{"from": "2025-03-11"}) == counts["all"] - 1
    assert await total(who="juror1", action="application.read") == 0


async def test_bad_filters_are_a_400_in_the_readers_language_with_what_was_typed(demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    browser.headers["accept-language"] = "fr"
    for params, field, words in [
        ({"from": "2027-02-31"}, "from", "Saisissez une date"),
        ({"from": "2027-02-02", "to": "2027-02-01"}, "to", "La date de fin ne peut pas"),
        ({"action": "<script>"}, "action", "Choisissez une action"),
        ({"reference": "NOPE-1", "who": "Ana"}, "reference", "Aucune candidature de cet appel"),
        ({"page": "-1"}, "page", "Cette page n’existe pas"),
    ]:
        response = await browser.get(AUDIT, params=params)
        assert response.status_code == 400, (params, response.text[:500])
        assert words in field_error(response, field) or words in response.text, params
        for name, value in params.items():
            if name not in ("page", "action"):
                assert f'value="{value}"' in response.text  # what was typed, kept
        if "page" not in params:  # the CSV holds every page
            assert (await browser.get(AUDIT + ".csv", params=params)).status_code == 400


async def test_the_csv_holds_the_filtered_rows_neutralised_and_ips_only_for_admins(
    demo, browser, make_browser
):
    await a_trail()
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    response = await browser.get(AUDIT + ".csv", params={"reference": "EPP-2027-0001"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="epp-2027-audit-log.csv"'
    )
    header, *rows = csv_rows(response.content)
    assert "IP address" not in header and IP not in response.text
    assert len(rows) == 61
    assert rows[0][1] == "'" + '=HYPERLINK("http://x.example","y")'  # neutralised
    assert rows[0][3] == "Discussion comment" and rows[0][4] == "discussion.comment"
    assert {row[5] for row in rows} == {"EPP-2027-0001"}
    exported = await AuditEvent.filter(action="audit.export").first()
    assert exported.after == {"reference": "EPP-2027-0001"}

    admin = await make_browser()
    await admin.log_in(ADMIN, DEMO_PASSWORD)
    same = await admin.get(AUDIT + ".csv", params={"reference": "EPP-2027-0001"})
    header, *rows = csv_rows(same.content)
    assert header[-1] == "IP address" and len(rows) == 61
    assert {row[-1] for row in rows} == {IP}
    page = await admin.get(AUDIT, params={"reference": "EPP-2027-0001"})
    assert IP in page.text

    # the whole site: the sign-up too, for administrators only
    site = await admin.get("/admin/audit", params={"action": "account.signup"})
    assert site.status_code == 200 and shown(text_of(site.text)) == 1
    assert (await browser.get("/admin/audit")).status_code == 403
    site_csv = await admin.get("/admin/audit.csv", params={"action": "account.signup"})
    assert len(csv_rows(site_csv.content)) == 2


async def test_actions_read_in_french_and_russian(demo, browser):
    await a_trail()
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    french = await browser.get(AUDIT, headers={"accept-language": "fr"})
    russian = await browser.get(AUDIT, headers={"accept-language": "ru"})
    assert "Dossier lu par un organisateur" in french.text
    assert "Заявку прочитал организатор" in russian.text
    header = csv_rows(
        (await browser.get(AUDIT + ".csv", headers={"accept-language": "ru"})).content
    )[0]
    assert header[0] == "Дата и время"


async def test_the_dashboard_counts_what_the_database_holds(demo, browser):
    edition = await Edition.get(slug="epp-2027")
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    member = await PanelMember.filter(user=juror, panel__edition=edition).first()
    applications = await Application.filter(edition=edition).prefetch_related("group")
    for number, application in enumerate(applications[:3]):
        assignment = await Assignment.create(
            panel_id=member.panel_id, juror=juror, application=application
        )
        if number < 2:
            status = ReviewStatus.SUBMITTED if number == 0 else ReviewStatus.DRAFT
            await Review.create(assignment=assignment, status=status)

    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    response = await browser.get("/manage/epp-2027/dashboard", headers={"accept-language": "fr"})
    assert response.status_code == 200, response.text[:2000]

    sent_in = [a for a in applications if a.status != "draft"]
    by_country = Counter(a.group.country for a in sent_in)
    by_language = Counter(a.language for a in sent_in)
    by_status = Counter(a.status.value for a in applications)
    assert sum(by_country.values()) == len(sent_in) == demo.applications

    def table(table_id: str) -> dict[str, str]:
        body = re.search(rf'<table id="{table_id}-table">(.*?)</table>', response.text, re.S)
        cells = re.findall(r'<tr><th scope="row">(.*?)</th><td>(\d+)</td>', body.group(1), re.S)
        return {text_of(name): count for name, count in cells}

    countries = table("country")
    assert sorted(map(int, countries.values())) == sorted(by_country.values())
    assert "Belgique" in countries  # Babel's names, in the reader's language
    assert sorted(map(int, table("language").values())) == sorted(by_language.values())
    assert sorted(map(int, table("status").values())) == sorted(by_status.values())
    days = table("days")
    assert sum(map(int, days.values())) == sum(1 for a in applications if a.submitted_at)

    jurors = re.search(r'<table id="jurors-table">(.*?)</table>', response.text, re.S).group(1)
    row = re.search(rf"{re.escape(juror.display_name)}.*?</tr>", jurors, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["3", "1", "1"]  # assigned, drafts, submitted

    svgs = re.findall(r"<svg .*?</svg>", response.text, re.S)
    assert len(svgs) == 7
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title.text and desc is not None
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"

    board = await dashboard.dashboard(await User.get(email=ORGANISER), edition)
    assert board.sent_in == len(sent_in) and board.total == len(applications)
    assert [(p.assigned, p.drafts, p.submitted) for p in board.panels if p.assigned] == [(3, 1, 1)]


async def test_the_dashboards_landmarks_have_distinct_names(demo, browser):
    # axe's landmark-unique: a section named by its heading and the table region inside it
    # named alike were two landmarks a screen reader could not tell apart.
    await browser.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    page = (await browser.get("/manage/epp-2027/dashboard")).text
    headings = dict(re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', page))
    named = re.findall(r'role="region" aria-label="([^"]+)"', page)
    named += [
        headings.get(ref, ref)
        for ref in re.findall(r'<section[^>]*aria-labelledby="([^"]+)"', page)
    ]
    assert len(named) >= 7
    assert [name for name, count in Counter(named).items() if count > 1] == []
