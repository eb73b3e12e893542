"""The dossier over HTTP: an assigned juror opens the application's files under neutral names
(blind demo), a conflicted or unassigned juror gets 404, PDFs and images open in the browser and
the rest downloads, nothing is sniffed or cached, every opening is audited; organisers read
every review, its scores and comments, and the files under their own names."""

from __future__ import annotations

import io
from urllib.parse import quote

from scored_demo import REFERENCES, score_demo

from grants.demo import DEMO_PASSWORD
from grants.models import (
    Application,
    Assignment,
    Attachment,
    AuditEvent,
    Conflict,
    PanelMember,
    User,
)
from grants.services.review import edition_rubric
from grants.storage import LocalStorage
from tests.web.pages import PDF, text_of

ZIP = b"PK\x05\x06" + b"\x00" * 18  # an empty zip archive


async def stored(settings, application: Application, name: str, data: bytes, kind: str):
    file = await LocalStorage(settings.upload_dir).save(io.BytesIO(data), max_bytes=1 << 20)
    return await Attachment.create(
        application=application,
        original_name=name,
        stored_name=file.stored_name,
        content_type=kind,
        size=file.size,
        sha256=file.sha256,
        uploaded_by_id=application.created_by_id,
    )


async def files_sent_by_the_group(settings) -> tuple[Application, list[Attachment]]:
    """EPP-2027-0003 with a PDF and a zip whose names carry the group's name."""
    application = await Application.get(reference="EPP-2027-0003").select_related("group")
    group = application.group.name
    return application, [
        await stored(settings, application, f"{group} – plan.pdf", PDF, "application/pdf"),
        await stored(settings, application, f"{group} budget.zip", ZIP, "application/zip"),
    ]


async def signed_in(make_browser, email: str):
    browser = await make_browser()
    await browser.log_in(email, DEMO_PASSWORD)
    return browser


async def test_an_assigned_juror_opens_the_files_under_neutral_names(settings, demo, make_browser):
    application, (pdf, archive) = await files_sent_by_the_group(settings)
    panel_jurors = await PanelMember.all().order_by("id").select_related("user").limit(3)
    juror, conflicted, unassigned = (m.user for m in panel_jurors)
    assignment = await Assignment.create(
        panel_id=panel_jurors[0].panel_id, juror=juror, application=application
    )
    await Assignment.create(
        panel_id=panel_jurors[1].panel_id, juror=conflicted, application=application
    )
    await Conflict.create(juror=conflicted, application=application, source="organiser")
    group = application.group.name

    browser = await signed_in(make_browser, juror.email)
    page = await browser.page(f"/jury/reviews/{assignment.id}")
    assert page.status_code == 200
    assert "each file has a neutral name" in text_of(page)
    for file, name in ((pdf, "file-1.pdf"), (archive, "file-2.zip")):
        assert f"/applications/{application.id}/files/{file.id}" in page.text
        assert f"{application.reference}-{name}" in page.text
    assert group not in text_of(page)

    shown = await browser.get(f"/applications/{application.id}/files/{pdf.id}")
    neutral = f"{application.reference}-file-1.pdf"
    assert shown.status_code == 200 and shown.content == PDF
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"] == (
        f"inline; filename=\"{neutral}\"; filename*=UTF-8''{neutral}"
    )
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"] == "no-store"
    assert "object-src 'self'" in shown.headers["content-security-policy"]
    downloaded = await browser.get(f"/applications/{application.id}/files/{archive.id}")
    assert downloaded.status_code == 200 and downloaded.content == ZIP
    assert downloaded.headers["content-type"] == "application/zip"
    assert downloaded.headers["content-disposition"].startswith(
        f'attachment; filename="{application.reference}-file-2.zip"'
    )
    for response in (shown, downloaded):
        headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        assert group not in headers and quote(group) not in headers

    for person in (conflicted, unassigned):
        other = await signed_in(make_browser, person.email)
        for file in (pdf, archive):
            refused = await other.get(f"/applications/{application.id}/files/{file.id}")
            assert refused.status_code == 404 and PDF not in refused.content
            assert group not in refused.text

    events = await AuditEvent.filter(action="attachment.download").order_by("id")
    assert [(e.actor_id, e.object_id, e.after) for e in events] == [
        (juror.id, str(application.id), {"attachment": pdf.id, "role": "juror"}),
        (juror.id, str(application.id), {"attachment": archive.id, "role": "juror"}),
    ]


async def test_organisers_read_every_review_and_the_files_by_name(settings, demo, make_browser):
    scored = await score_demo()
    application = await Application.get(reference=REFERENCES[0]).select_related("group")
    await Attachment.filter(application=application).delete()  # score_demo's is not on disk
    name = f"План {application.group.name}.pdf"
    pdf = await stored(settings, application, name, PDF, "application/pdf")
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")

    browser = await signed_in(make_browser, organiser.email)
    await browser.get("/language?lang=en")
    page = await browser.page(f"/manage/applications/{application.id}")
    assert page.status_code == 200
    text = text_of(page)
    assignments = (
        await Assignment.filter(application=application).select_related("juror").order_by("id")
    )
    assert len(assignments) == 4
    for assigned in assignments:  # juror names, though the call is blind: organisers run the jury
        assert assigned.juror.display_name in text
    for criterion in edition_rubric(scored.edition).criteria:
        assert criterion.label.as_dict()["en"] in text
    assert text.count("-2 points: no budget") == 4  # each juror's comment on the first criterion
    assert "Review 1" in text and "Review 3" in text  # overall comments
    assert name in text

    shown = await browser.get(f"/applications/{application.id}/files/{pdf.id}")
    assert shown.status_code == 200 and shown.content == PDF
    disposition = shown.headers["content-disposition"]
    assert disposition.startswith('inline; filename="') and disposition.endswith(
        "filename*=UTF-8''" + quote(name, safe="")
    )
    (event,) = await AuditEvent.filter(action="attachment.download")
    assert (event.actor_id, event.after) == (
        organiser.id,
        {"attachment": pdf.id, "role": "organiser"},
    )
