"""Reading the audit trail (services/audit_log.py): which events concern an edition (joined in
the database by object type and id), the filters, and who may read what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grants.i18n.labels import LABELS
from grants.models import (
    Application,
    Assignment,
    Attachment,
    AuditEvent,
    Edition,
    Group,
    Panel,
    PanelMember,
    Programme,
    Review,
    User,
)
from grants.services import audit, audit_log
from grants.services.errors import InvalidInput, PermissionDenied


async def another_edition(edition: Edition, author: User) -> tuple[Edition, Application]:
    programme = await Programme.create(slug="other-prize", name={"en": "Another prize"})
    other = await Edition.create(
        programme=programme,
        slug="other-2027",
        year=2027,
        title={"en": "Another prize 2027"},
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
        reference_prefix="OTH",
    )
    group = await Group.filter().first()
    application = await Application.create(
        edition=other, group=group, reference="OTH-2027-0001", title="Elsewhere", created_by=author
    )
    return other, application


async def test_an_edition_reads_the_events_of_its_own_objects_and_no_others(demo):
    edition = await Edition.get(slug=demo.edition_slug)
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    application = await Application.get(reference="EPP-2027-0001")
    member = await PanelMember.get(user=juror, panel__edition=edition)
    assignment = await Assignment.create(
        panel_id=member.panel_id, juror=juror, application=application
    )
    review = await Review.create(assignment=assignment)
    attachment = await Attachment.create(
        application=application,
        original_name="plan.pdf",
        stored_name="x" * 32,
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_by=organiser,
    )
    other, elsewhere = await another_edition(edition, organiser)
    other_panel = await Panel.create(edition=other, name={"en": "Jury"}, slug="jury")

    mine = [
        ("edition", edition.id),
        ("application", application.id),
        ("panel", member.panel_id),
        ("panel_member", member.id),
        ("assignment", assignment.id),
        ("review", review.id),
        ("attachment", attachment.id),
    ]
    theirs = [
        ("edition", other.id),
        ("application", elsewhere.id),
        ("panel", other_panel.id),
        ("user", juror.id),  # people and groups belong to no edition
        ("group", (await Group.filter().first()).id),
        ("review", 999_999),  # an object that does not exist
    ]
    wanted = set()
    for kind, number in mine:
        event = await audit.record("x.test", actor=juror, object_type=kind, object_id=number)
        wanted.add(event.id)
    for kind, number in theirs:
        await audit.record("x.test", actor=juror, object_type=kind, object_id=number)

    found = AuditEvent.filter(audit_log.concerning_edition(edition.id), action="x.test")
    assert set(await found.values_list("id", flat=True)) == wanted

    # one application: its own events, its assignment's, review's and file's
    of_application = AuditEvent.filter(
        audit_log.concerning_application(application.id), action="x.test"
    )
    kinds = set(await of_application.values_list("object_type", flat=True))
    assert kinds == {"application", "assignment", "review", "attachment"}


async def test_only_organisers_read_an_edition_and_only_admins_the_whole_site(demo):
    edition = await Edition.get(slug=demo.edition_slug)
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    admin = await User.get(email="admin@demo.prevention-prize.eu")
    with pytest.raises(PermissionDenied):
        await audit_log.audit_page(juror, edition, {})
    with pytest.raises(PermissionDenied):
        await audit_log.audit_page(organiser, None, {})
    page = await audit_log.audit_page(organiser, edition, {})
    assert page.show_ip is False and all(row.ip is None for row in page.rows)
    assert [row.action for row in page.rows] == ["demo.load"]
    assert (await audit_log.audit_page(admin, None, {})).show_ip is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2027-02-30"}, "from"),
        ({"to": "29/01/2027"}, "to"),
        ({"from": "2027-02-02", "to": "2027-02-01"}, "to"),
        ({"action": "drop table"}, "action"),
        ({"who": "x" * 300}, "who"),
        ({"reference": "R" * 40}, "reference"),
    ],
)
def test_filters_that_cannot_be_read_are_named(params, field):
    with pytest.raises(InvalidInput) as refused:
        audit_log.parse_filters(params)
    assert set(refused.value.errors) == {field}


def test_filters_read_back_as_the_form_sends_them():
    filters = audit_log.parse_filters(
        {"who": " Juror ", "action": "review.submit", "reference": "epp-2027-0001", "from": ""}
    )
    assert filters.as_params() == {
        "who": "Juror",
        "action": "review.submit",
        "reference": "EPP-2027-0001",
    }


def test_every_audited_action_has_words_in_the_label_table():
    """The log shows actions as words: a new `audit.record("x.y", ...)` needs a row in
    grants/i18n/labels.py's "action" table (else the page falls back to the code)."""
    root = Path(__file__).resolve().parents[2] / "grants"
    written = set()
    for path in root.rglob("*.py"):
        source = path.read_text()
        written |= set(re.findall(r'audit\.record(?:_many)?\(\s*"([a-z_.]+)"', source))
        written |= set(re.findall(r'"([a-z_]+\.[a-z_]+)" if \w', source))  # "a.b" if x else ..
        if path.parent.name == "services":  # codes named once: RESET_ASKED = "a.b", {k: "a.b"}
            written |= set(re.findall(r'(?:^[A-Z_]+ = |": )"([a-z_]+\.[a-z_]+)"', source, re.M))
    assert {"application.read", "review.submit", "account.reset_requested"} <= written
    assert "application.shortlist" in written
    assert written - LABELS["action"].keys() == set()
