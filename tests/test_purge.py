"""`grants purge`: each kind of data goes after its retention time, nothing younger; a dry run
counts and removes nothing; orphan uploads and unfinished .part files are swept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from grants.models import (
    Answer,
    Application,
    ApplicationStatus,
    Attachment,
    AuditEvent,
    Edition,
    EditionStatus,
    Group,
    LoginAttempt,
    OutboxEmail,
    Programme,
    Question,
    QuestionKind,
    Token,
    User,
    UserSession,
)
from grants.purge import purge, report

DAY = timedelta(days=1)
TWO_HOURS_AGO = time.time() - 2 * 3600


def old_file(directory: Path, name: str, *, fresh: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"%PDF-1.4\n")
    if not fresh:
        os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    return path


async def world(settings) -> SimpleNamespace:
    """Two calls (closed 100 and 10 days ago), drafts and a submission, links, failed log-ins,
    mail and audit events of every age, files referenced and not."""
    now = datetime.now(UTC)
    programme = await Programme.create(slug="prize", name={"en": "Prize"})
    user = await User.create(email="alice@example.org", display_name="Alice", password_hash="x")
    group = await Group.create(name="Peers", country="PT", created_by=user)

    async def edition(slug: str, closed_days_ago: int) -> Edition:
        return await Edition.create(
            programme=programme,
            slug=slug,
            year=2026,
            title={"en": slug},
            status=EditionStatus.CLOSED,
            opens_at=now - timedelta(days=closed_days_ago + 30),
            closes_at=now - timedelta(days=closed_days_ago),
        )

    long_ago, recent = await edition("old", 100), await edition("recent", 10)
    question = await Question.create(
        edition=long_ago, key="needs", kind=QuestionKind.SHORT_TEXT, label={"en": "Needs"}
    )

    async def application(call: Edition, reference: str, status: ApplicationStatus) -> Application:
        return await Application.create(
            edition=call,
            group=group,
            reference=reference,
            title=reference,
            status=status,
            created_by=user,
        )

    old_draft = await application(long_ago, "OLD-1", ApplicationStatus.DRAFT)
    submitted = await application(long_ago, "OLD-2", ApplicationStatus.SUBMITTED)
    recent_draft = await application(recent, "NEW-1", ApplicationStatus.DRAFT)
    await Answer.create(application=old_draft, question=question, payload={"value": "x"})
    uploads = settings.upload_dir
    files = SimpleNamespace(
        of_old_draft=old_file(uploads, "d" * 32),
        of_submitted=old_file(uploads, "s" * 32),
        orphan=old_file(uploads, "o" * 32),
        fresh_orphan=old_file(uploads, "f" * 32, fresh=True),
        part=old_file(uploads, f".{'p' * 32}.part"),
        fresh_part=old_file(uploads, f".{'q' * 32}.part", fresh=True),
    )
    for app, path in ((old_draft, files.of_old_draft), (submitted, files.of_submitted)):
        await Attachment.create(
            application=app,
            original_name="plan.pdf",
            stored_name=path.name,
            content_type="application/pdf",
            size=9,
            sha256="0" * 64,
            uploaded_by=user,
        )

    async def token(name: str, *, expires: timedelta, used: timedelta | None = None) -> None:
        await Token.create(
            purpose="reset",
            token_hash=name * 64,
            user=user,
            expires_at=now + expires,
            used_at=now + used if used is not None else None,
        )

    await token("a", expires=-10 * DAY)  # expired long ago: goes
    await token("b", expires=DAY, used=-10 * DAY)  # used long ago: goes
    await token("c", expires=DAY)  # open: stays
    await token("d", expires=-DAY)  # expired yesterday: stays a week
    for key, age in (("ip:1", 2 * DAY), ("ip:2", timedelta(minutes=5))):
        attempt = await LoginAttempt.create(key=key)
        await LoginAttempt.filter(id=attempt.id).update(at=now - age)
    for name, ended in (("x", now - 40 * DAY), ("y", now - DAY), ("z", None)):
        await UserSession.create(
            user=user,
            token_hash=name * 64,
            last_seen_at=now,
            idle_seconds=3600,
            expires_at=now + DAY,
            ended_at=ended,
            ended_reason="logout" if ended else "",
        )
    for subject, sent in (("old", now - 40 * DAY), ("new", now - DAY), ("unsent", None)):
        await OutboxEmail.create(to="alice@example.org", subject=subject, body="hi", sent_at=sent)
    for action, age in (("old", 100 * DAY), ("new", DAY)):
        event = await AuditEvent.create(action=action, actor=user, ip="203.0.113.7")
        await AuditEvent.filter(id=event.id).update(at=now - age)
    return SimpleNamespace(
        old_draft=old_draft, submitted=submitted, recent_draft=recent_draft, files=files
    )


async def state() -> dict[str, object]:
    return {
        "applications": sorted(await Application.all().values_list("reference", flat=True)),
        "answers": await Answer.all().count(),
        "attachments": await Attachment.all().count(),
        "tokens": sorted(t.token_hash[0] for t in await Token.all()),
        "attempts": sorted(await LoginAttempt.all().values_list("key", flat=True)),
        "sessions": sorted(s.token_hash[0] for s in await UserSession.all()),
        "bodies": {m.subject: m.body for m in await OutboxEmail.all()},
        "ips": {e.action: e.ip for e in await AuditEvent.all()},
    }


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


async def test_a_dry_run_counts_and_removes_nothing(settings):
    made = await world(settings)
    before, files = await state(), names(settings.upload_dir)
    counts = await purge(settings, dry_run=True)
    assert [c.count for c in counts] == [1, 2, 1, 1, 1, 1, 2]
    assert await state() == before and names(settings.upload_dir) == files
    text = report(counts, dry_run=True)
    assert text.startswith("Dry run") and "would remove" in text
    assert made.files.orphan.exists() and made.files.part.exists()


async def test_purge_removes_each_kind_after_its_time_and_nothing_younger(settings):
    made = await world(settings)
    counts = await purge(settings)
    assert [c.count for c in counts] == [1, 2, 1, 1, 1, 1, 2]
    after = await state()
    assert after["applications"] == ["NEW-1", "OLD-2"]  # the old draft went, with its answer
    assert (after["answers"], after["attachments"]) == (0, 1)
    assert after["tokens"] == ["c", "d"]
    assert after["attempts"] == ["ip:2"]
    assert after["sessions"] == ["y", "z"]  # ended 40 days ago: gone; yesterday, open: kept
    assert after["bodies"] == {"old": "", "new": "hi", "unsent": "hi"}
    assert after["ips"] == {"old": "", "new": "203.0.113.7"}
    files = made.files
    assert not files.of_old_draft.exists() and not files.orphan.exists()
    assert not files.part.exists()
    assert files.of_submitted.exists()  # referenced by an attachment: stays
    assert files.fresh_orphan.exists() and files.fresh_part.exists()  # maybe an upload under way
    again = await purge(settings)
    assert [c.count for c in again] == [0, 0, 0, 0, 0, 0, 0]


def grants_purge(settings, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GRANTS_DATA_DIR": str(settings.data_dir),
        "GRANTS_DATABASE_URL": settings.resolved_database_url,
        "GRANTS_SECRET_KEY": "test-secret",
    }
    return subprocess.run(
        [sys.executable, "-m", "grants.cli", "purge", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_grants_purge_removes_orphan_and_part_files_and_keeps_referenced_ones(settings):
    made = await world(settings)
    dry = grants_purge(settings, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove" in dry.stdout and "2  files without a record" in dry.stdout
    assert made.files.orphan.exists() and made.files.part.exists()

    done = grants_purge(settings, "--orphan-hours", "1")
    assert done.returncode == 0, done.stderr
    assert "removed" in done.stdout
    assert not made.files.orphan.exists() and not made.files.part.exists()
    assert made.files.of_submitted.exists() and made.files.fresh_orphan.exists()
    assert await Application.filter(reference="OLD-1").count() == 0
