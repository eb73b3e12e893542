"""The console's application list over HTTP on both databases: search, filters, sorting and
pages as GET parameters, bad values explained and never an error, no query per row; bulk
screening with its confirmation (200 applications in one request), the reason told to the group,
and the single screening action under the same rules."""

from __future__ import annotations

import html
import logging
import re

from grants.demo import DEMO_PASSWORD
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    AuditEvent,
    Category,
    GroupMember,
    Panel,
    PanelMember,
    StatusChange,
    User,
)
from tests.web.pages import field_error, location, many_applications, references, text_of

ORGANISER = "organiser@demo.prevention-prize.eu"
LIST = "/manage/epp-2027"


async def claire(make_browser):
    browser = await make_browser("198.51.100.60")
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    return browser


def showing(page) -> str:
    return html.unescape(re.search(r'<p id="showing" role="status">(.*?)</p>', page.text).group(1))


async def test_search_filters_sorting_and_pages_each_narrow_the_list(demo, make_browser):
    categories = await Category.filter(edition__slug="epp-2027").order_by("id")
    made = await many_applications(
        120,
        lambda i: {
            "country": ("FR", "GE", "KZ")[i % 3],
            "language": ("en", "fr", "ru")[i % 4 % 3],
            "category_id": categories[i % 2].id,
            "title": f"Bulk project {119 - i:04d}",  # titles run backwards to the references
        },
    )
    await Application.filter(reference__in=["BULK-0003", "BULK-0004"]).update(status="withdrawn")
    panel = await Panel.get(slug="youth-jury")
    juror = await PanelMember.filter(panel=panel).first()
    for application in made[10:13]:
        await Assignment.create(panel=panel, juror_id=juror.user_id, application=application)
    listed = await Application.filter(edition__slug="epp-2027").exclude(status="draft").count()
    browser = await claire(make_browser)

    page = await browser.page(LIST)
    assert showing(page) == f"Showing 1–50 of {listed}"
    assert references(page) == sorted(references(page)) and len(references(page)) == 50
    second = await browser.page(LIST + "?page=2")
    assert showing(second) == f"Showing 51–100 of {listed}"
    assert not set(references(page)) & set(references(second))
    assert 'href="?page=3#applications"' in second.text and 'rel="prev"' in second.text
    big = await browser.page(LIST + "?per_page=100&page=2")
    assert showing(big) == f"Showing 101–{listed} of {listed}"

    async def refs(query: str) -> list[str]:
        found = await browser.page(f"{LIST}?{query}")
        assert found.status_code == 200 and "cannot be used" not in found.text, query
        return references(found)

    assert await refs("q=bulk+PROJECT+0007") == ["BULK-0112"]  # the title, any case
    assert await refs("q=bulk-0042") == ["BULK-0042"]  # the reference
    in_georgia = {f"BULK-{i:04d}" for i in range(1, 120, 3)}
    assert set(await refs("q=Bulk+group+GE&per_page=200")) == in_georgia  # the group's name
    assert set(await refs("country=GE&per_page=200")) == in_georgia
    assert await refs("status=withdrawn&q=bulk") == ["BULK-0003", "BULK-0004"]
    russian = {f"BULK-{i:04d}" for i in range(120) if i % 4 % 3 == 2}
    assert set(await refs("language=ru&q=bulk&per_page=200")) == russian
    second_category = {f"BULK-{i:04d}" for i in range(1, 120, 2)}
    category = f"category={categories[1].id}&q=bulk&per_page=200"
    assert set(await refs(category)) == second_category
    assert await refs(f"panel={panel.id}") == ["BULK-0010", "BULK-0011", "BULK-0012"]
    both = await browser.page(f"{LIST}?country=KZ&language=fr&q=bulk&per_page=200")
    expected = [f"BULK-{i:04d}" for i in range(120) if i % 3 == 2 and i % 4 % 3 == 1]
    assert references(both) == expected
    # The form keeps what was chosen.
    assert 'id="q" name="q" type="search" value="bulk"' in both.text
    assert '<option value="KZ" selected>' in both.text
    assert '<option value="fr" selected>' in both.text

    assert (await refs("q=bulk&sort=-submitted"))[:2] == ["BULK-0119", "BULK-0118"]
    assert (await refs("q=bulk&sort=submitted"))[:2] == ["BULK-0000", "BULK-0001"]
    assert (await refs("q=bulk&sort=title"))[:2] == ["BULK-0119", "BULK-0118"]
    assert (await refs("q=bulk&sort=-reference"))[:1] == ["BULK-0119"]
    by_country = await refs("q=bulk&sort=-country&per_page=200")
    assert by_country[:40] == sorted(
        (f"BULK-{i:04d}" for i in range(2, 120, 3)), reverse=True
    )  # KZ first, then by reference, last first
    header = await browser.page(f"{LIST}?q=bulk&sort=title")
    assert 'aria-sort="ascending"><a href="?q=bulk&amp;sort=-title">' in header.text


async def test_bad_parameters_are_ignored_and_said_so_never_an_error(demo, make_browser):
    browser = await claire(make_browser)
    odd = (
        "status=draft&country=ZZZ&category=99999999999&language=xx&panel=abc&sort=evil"
        "&per_page=7&page=%C2%B2&q=" + "%00" + "x" * 500
    )
    page = await browser.page(f"{LIST}?{odd}")
    assert page.status_code == 200
    problems = re.search(r'<div class="notice" role="status"><ul>(.*?)</ul>', page.text).group(1)
    for field in ("Status", "Country", "Category", "Language", "Panel", "Sort by", "Per page"):
        assert f"cannot be used for “{field}”" in html.unescape(problems), field
    assert "“²” cannot be used for “Page”" in html.unescape(problems)
    listed = await Application.filter(edition__slug="epp-2027").exclude(status="draft").count()
    assert references(page) == []  # the search for "xxx…" (cut to 200) matches nothing
    everything = await browser.page(f"{LIST}?status=draft&sort=evil")
    assert len(references(everything)) == listed  # the rest ignored: the whole list

    beyond = await browser.page(f"{LIST}?page=99")
    assert beyond.status_code == 200
    assert "There is only 1 page: this is the last one." in text_of(beyond)
    assert showing(beyond) == f"Showing 1–{listed} of {listed}"
    for query in ("page=0", "page=-1", "page=1e9", "per_page=0", "category=-3", "q=%27+OR+1%3D1"):
        assert (await browser.page(f"{LIST}?{query}")).status_code == 200, query


async def test_the_list_costs_the_same_queries_for_25_rows_as_for_200(demo, make_browser, caplog):
    made = await many_applications(200, lambda i: {"country": ("FR", "GE")[i % 2]})
    panel = await Panel.get(slug="expert-jury")
    jurors = await PanelMember.filter(panel=panel).order_by("id").limit(2)
    await Assignment.bulk_create(
        [
            Assignment(panel=panel, juror_id=member.user_id, application=application)
            for application in made
            for member in jurors
        ]
    )
    await Application.filter(reference__in=["BULK-0001", "BULK-0150"]).update(status="ineligible")
    browser = await claire(make_browser)

    async def selects(per_page: int) -> int:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            page = await browser.page(f"{LIST}?q=bulk&per_page={per_page}")
        assert len(references(page)) == per_page
        return sum("SELECT" in record.getMessage().upper() for record in caplog.records)

    few, many = await selects(25), await selects(200)
    assert few == many, (few, many)
    assert few > 0  # the log does show the queries


async def test_two_hundred_applications_are_marked_eligible_in_one_request(demo, make_browser):
    made = await many_applications(203)
    withdrawn = [a.reference for a in made[-3:]]
    await Application.filter(reference__in=withdrawn).update(status="withdrawn")
    browser = await claire(make_browser)
    page = await browser.page(LIST + "?q=bulk&per_page=200")
    assert len(references(page)) == 200
    history_before = await StatusChange.all().count()

    posts: list[str] = []

    async def count(request):
        if request.method == "POST":
            posts.append(request.url.path)

    browser.event_hooks["request"].append(count)
    # Every application that matches the search: 200 submitted, 3 withdrawn.
    confirmation = await browser.submit(
        "/manage/epp-2027/screening",
        {"action": "eligible", "everything": "all", "q": "bulk", "per_page": "200"},
    )
    assert confirmation.status_code == 200
    text = text_of(confirmation)
    assert "You are about to mark 200 applications “Eligible”" in text
    assert "3 were skipped, an application that is “Withdrawn” cannot become “Eligible”" in text
    assert await Application.filter(status="eligible").count() == 0  # nothing changed yet
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', text))
    assert fields["action"] == "eligible" and len(fields["ids"].split(",")) == 203
    done = await browser.submit("/manage/epp-2027/screening/confirm", fields)
    assert location(done) == "/manage/epp-2027?q=bulk&per_page=200"
    assert posts == ["/manage/epp-2027/screening", "/manage/epp-2027/screening/confirm"]

    assert await Application.filter(reference__startswith="BULK-", status="eligible").count() == 200
    assert await Application.filter(reference__in=withdrawn, status="withdrawn").count() == 3
    changes = await StatusChange.filter(to_status="eligible").prefetch_related("actor")
    assert len(changes) == 200 == await StatusChange.all().count() - history_before
    assert {(c.from_status, c.actor.email) for c in changes} == {("submitted", ORGANISER)}
    events = await AuditEvent.filter(action="application.screen")
    assert sorted(int(e.object_id) for e in events) == sorted(a.id for a in made[:200])
    assert all(e.before == {"status": "submitted"} and e.ip == "198.51.100.60" for e in events)
    after = await browser.page(location(done))
    flash = html.unescape(
        re.search(r'<div class="flash" role="status">(.*?)</div>', after.text).group(1)
    )
    assert flash.startswith("200 applications marked “Eligible”. 3 were skipped")


async def test_a_reason_is_needed_to_refuse_and_the_group_reads_it(demo, make_browser):
    application = await Application.filter(status="submitted").order_by("reference").first()
    other = await Application.filter(status="submitted").order_by("-reference").first()
    browser = await claire(make_browser)
    ticked = {"action": "ineligible", "application": [str(application.id), str(other.id)]}
    refused = await browser.submit("/manage/epp-2027/screening", {**ticked, "reason": "  "})
    assert refused.status_code == 400
    assert field_error(refused, "reason") == "Write the reason the groups will be told."
    assert f'value="{application.id}" id="pick-{application.id}" checked' in refused.text
    assert 'value="ineligible" id="action-ineligible" checked' in refused.text
    nothing = await browser.submit("/manage/epp-2027/screening", {"action": "eligible"})
    assert nothing.status_code == 400 and "Tick at least one application" in nothing.text

    reason = "The project started before the call opened.\nSee rule 4."
    confirmation = await browser.submit(
        "/manage/epp-2027/screening", {**ticked, "reason": reason, "status": "submitted"}
    )
    assert confirmation.status_code == 200
    text = text_of(confirmation)
    assert "You are about to mark 2 applications “Not eligible”" in text and reason in text
    assert 'href="/manage/epp-2027?status=submitted#applications">Cancel</a>' in text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', text))
    fields["reason"] = html.unescape(fields["reason"])
    location(await browser.submit("/manage/epp-2027/screening/confirm", fields))
    await application.refresh_from_db()
    assert application.status == ApplicationStatus.INELIGIBLE
    change = await StatusChange.filter(application=application).order_by("-id").first()
    assert change.note == reason

    member = await GroupMember.filter(
        group_id=application.group_id, user_id__not_isnull=True
    ).first()
    group = await make_browser("198.51.100.61")
    await group.log_in((await User.get(id=member.user_id)).email, DEMO_PASSWORD)
    await group.page("/language?lang=fr&next=/me")
    for url in ("/me", f"/applications/{application.id}/receipt"):
        told = text_of(await group.page(url))
        assert "Pourquoi elle n’est pas éligible :" in told, url
        assert reason in told, url
    listed = text_of(await browser.page(LIST + "?status=ineligible"))
    assert "Reason: The project started before the call opened." in listed


async def test_the_single_screen_action_follows_the_same_rules(demo, make_browser):
    first, second = await Application.filter(status="submitted").order_by("reference").limit(2)
    browser = await claire(make_browser)
    url = f"/manage/applications/{first.id}/screen"
    refused = await browser.submit(url, {"decision": "ineligible"})
    assert refused.status_code == 400
    assert "Write the reason the groups will be told." in refused.text
    location(await browser.submit(url, {"decision": "ineligible", "note": "Out of scope."}))
    location(await browser.submit(url, {"decision": "eligible"}))
    await first.refresh_from_db()
    assert first.status == ApplicationStatus.ELIGIBLE
    changes = await StatusChange.filter(application=first).order_by("id")
    assert [(c.to_status, c.note) for c in changes[-2:]] == [
        ("ineligible", "Out of scope."),
        ("eligible", ""),
    ]
    assert (
        await AuditEvent.filter(action="application.screen", object_id=str(first.id)).count() == 2
    )

    second.status = ApplicationStatus.WITHDRAWN
    await second.save()
    stuck = await browser.submit(
        f"/manage/applications/{second.id}/screen", {"decision": "eligible"}
    )
    assert stuck.status_code == 400
    assert "cannot become “Eligible”" in text_of(stuck)
