"""The demo data: a complete, consistent European Prevention Prize 2027, loaded once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

import grants.db
from grants.demo import DEMO_PASSWORD, DemoSummary, format_logins, load_demo
from grants.models import (
    Answer,
    Application,
    ApplicationStatus,
    Category,
    Edition,
    EditionRole,
    GroupMember,
    Panel,
    PanelMember,
    Programme,
    Question,
    StatusChange,
    User,
)
from grants.passwords import verify_password
from grants.services.submission import content_hash, load_content, submission_problems
from grants.settings import load_settings
from scoring import get_rubric, rubric_fingerprint


@pytest.fixture
async def settings(tmp_path):
    settings = load_settings({"GRANTS_DATA_DIR": str(tmp_path), "GRANTS_SECRET_KEY": "test"})
    await grants.db.migrate(settings)
    await grants.db.open_database(settings)
    try:
        yield settings
    finally:
        await grants.db.close_database()


async def _counts() -> dict[str, int]:
    models = (
        Programme,
        Edition,
        Category,
        Question,
        Panel,
        PanelMember,
        EditionRole,
        User,
        GroupMember,
        Application,
        Answer,
        StatusChange,
    )
    return {model.__name__: await model.all().count() for model in models}


async def test_demo_loads_a_complete_consistent_edition_once(settings):
    summary = await load_demo(settings)
    assert isinstance(summary, DemoSummary)
    assert summary.edition_slug == "epp-2027"

    edition = await Edition.get(slug="epp-2027")
    assert edition.status == "open" and edition.year == 2027
    assert edition.opens_at < datetime.now(UTC) < edition.closes_at
    assert len(edition.eligible_countries) >= 39 and {"FR", "UA", "MD"} <= set(
        edition.eligible_countries
    )
    rubric = get_rubric("prevention-prize")
    assert edition.rubric_version == rubric.version
    assert edition.rubric_fingerprint == rubric_fingerprint(rubric)
    assert set(edition.title) == set(edition.rules) == {"en", "fr", "ru"}
    assert await Category.filter(edition=edition).count() == 3

    # Applications: >= 12 submitted, >= 4 in each language, sequential unique references.
    submitted = await Application.filter(edition=edition, status=ApplicationStatus.SUBMITTED)
    assert len(submitted) >= 12 == summary.applications
    languages = Counter(a.language for a in submitted)
    assert all(languages[lang] >= 4 for lang in ("en", "fr", "ru")), languages
    assert len({a.category_id for a in submitted}) == 3
    everything = await Application.filter(edition=edition).order_by("id")
    references = [a.reference for a in everything]
    assert references == [f"EPP-2027-{n:04d}" for n in range(1, len(everything) + 1)]
    assert edition.next_reference == len(everything) + 1
    drafts = [a for a in everything if a.status == ApplicationStatus.DRAFT]
    assert len(drafts) == 2 == summary.drafts
    assert all(a.reference > max(s.reference for s in submitted) for a in drafts)

    for application in submitted:
        assert application.submitted_at is not None and application.submitted_at < datetime.now(UTC)
        content = await load_content(application)
        assert application.content_hash == content_hash(application, content)
        answers = content.answers
        assert isinstance(answers["needs"], str) and not answers["needs"].startswith('"')
        assert isinstance(answers["youth_role"], str) and isinstance(answers["participants"], int)
        assert answers["approach"] in {"evidence-based", "peer", "arts", "sport", "other"}
        assert date.fromisoformat(answers["start_date"]) < date.today()
        # The app's own submission checks accept every demo application (answers, team, consent).
        assert await submission_problems(application, content) == {}, application.reference
        history = await StatusChange.filter(application=application).order_by("id")
        assert [(h.from_status, h.to_status) for h in history][-1] == ("draft", "submitted")

    # Jury: 6 jurors over 2 panels, every application language read by >= 3 jurors.
    members = await PanelMember.all().prefetch_related("panel")
    assert len(members) == 6
    assert Counter(m.panel.slug for m in members) == {"expert-jury": 4, "youth-jury": 2}
    for lang in ("en", "fr", "ru"):
        assert sum(lang in m.languages for m in members) >= 3, lang
    group_orgs = {a.group.organisation for a in await Application.all().prefetch_related("group")}
    assert not group_orgs & {m.organisation for m in members}
    assert await EditionRole.filter(edition=edition, role="organiser").count() == 1
    assert await User.filter(is_admin=True).count() == 1

    # Log-ins: every account in the summary exists and the shared password works.
    text = format_logins(summary)
    assert text.startswith(f"Demo log-ins (password: {DEMO_PASSWORD}):")
    assert len(summary.logins) == 1 + 1 + 6 + 3
    for role, email in summary.logins:
        assert email in text and role in text
        assert await User.exists(email=email, email_verified_at__not_isnull=True)
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    assert await verify_password(juror.password_hash, DEMO_PASSWORD)
    assert not await verify_password(juror.password_hash, "wrong-password")

    # Idempotent: a second load changes nothing.
    before = await _counts()
    assert await load_demo(settings) is None
    assert await _counts() == before
