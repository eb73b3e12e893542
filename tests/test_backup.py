"""`grants backup` and `grants restore` (grants/backup.py): a backup taken while applicants
submit restores, into a fresh data dir (and a fresh PostgreSQL database), to a database whose
every submitted application verifies against its receipt hash, with its files on disk."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import asyncpg
import pytest
from template_databases import backend_of

import grants.db
from grants import backup
from grants.models import AgeBand, Application, Attachment, Group, GroupMember, User
from grants.passwords import hash_password
from grants.services.submission import content_hash, load_content
from grants.settings import Settings, load_settings
from grants.storage import LocalStorage

PASSWORD = "backup-password-2027"
APPLICANTS = 6
ROUNDS = 3  # applications each applicant submits, one after another
CALL = "/calls/epp-2027"
GRANTS = str(Path(sys.executable).with_name("grants"))


@pytest.fixture
async def fresh(settings, tmp_path):
    """A fresh, empty target of the same backend: a new data dir (and a new PostgreSQL
    database), as settings; dropped afterwards."""
    if backend_of(settings) == "postgres":
        missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
        if missing:
            pytest.skip(
                f"!!! {' and '.join(missing)} NOT installed: the PostgreSQL backup and restore "
                "were NOT tested (apt-get install postgresql-client) !!!"
            )
    environ = {"GRANTS_DATA_DIR": str(tmp_path / "restored"), "GRANTS_SECRET_KEY": "x"}
    name = None
    if backend_of(settings) == "postgres":
        from tests.conftest import POSTGRES_URL  # (`conftest` alone may name another folder's)

        name = f"grants_restore_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://"))
        await admin.execute(f'CREATE DATABASE "{name}"')
        environ["GRANTS_DATABASE_URL"] = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    yield load_settings(environ)
    if name:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def applicants(make_browser, count: int) -> list:
    """`count` signed-in applicants, each the lead of a group of two adults."""
    password_hash = await hash_password(PASSWORD)
    browsers = []
    for number in range(count):
        user = await User.create(
            email=f"backup{number}@example.org",
            display_name=f"B{number}",
            password_hash=password_hash,
        )
        group = await Group.create(
            name=f"Backup group {number}", kind="informal_group", country="PT", created_by=user
        )
        await GroupMember.create(
            group=group, user=user, first_name="Lead", role="lead", age_band=AgeBand.AGE_18_21
        )
        await GroupMember.create(group=group, first_name="Mate", age_band=AgeBand.AGE_22_25)
        browser = await make_browser(f"198.51.100.{number + 1}")
        await browser.log_in(user.email, PASSWORD)
        browsers.append(browser)
    return browsers


def moved(response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:1500])
    return response.headers["location"]


async def submit_one(browser, title: str) -> tuple[str, str]:
    """Apply, fill the three steps with a file, submit; the receipt's reference and hash."""
    page = await browser.page(f"{CALL}/apply")
    group_id = re.search(r'<option value="(\d+)"', page.text).group(1)
    step1 = moved(
        await browser.submit(
            f"{CALL}/apply", {"group_id": group_id, "title": title, "language": "en"}
        )
    )
    form = await browser.page(step1)
    category = re.search(r'<select id="category".*?<option value="(\d+)"', form.text, re.S)
    fields = {"title": title, "summary": "Peer talks.", "language": "en", "go": "next"}
    moved(await browser.submit(step1, {**fields, "category": category.group(1)}))
    application = step1.split("/")[2]
    answers = {"needs": "A survey.", "youth_role": "We lead.", "participants": "20"}
    pdf = b"%PDF-1.4\n" + os.urandom(64 * 1024)
    moved(
        await browser.submit(
            f"/applications/{application}/step/2",
            {**answers, "approach": "peer", "go": "next"},
            files={"workplan": ("plan.pdf", pdf, "application/pdf")},
        )
    )
    check = await browser.page(f"/applications/{application}/step/3")
    key = re.search(r'name="submit_key" value="([^"]+)"', check.text).group(1)
    receipt_url = moved(
        await browser.submit(f"/applications/{application}/submit", {"submit_key": key})
    )
    receipt = await browser.page(receipt_url)
    reference = re.search(r"EPP-2027-\d{4,}", receipt.text).group(0)
    fingerprint = re.search(r'<code class="hash">([0-9a-f]{64})</code>', receipt.text).group(1)
    return reference, fingerprint


async def keep_submitting(browser, number: int, receipts: dict[str, str]) -> None:
    for round_ in range(ROUNDS):
        reference, fingerprint = await submit_one(browser, f"Backup {number}-{round_}")
        receipts[reference] = fingerprint


async def verify(settings: Settings, receipts: dict[str, str]) -> list[str]:
    """Open `settings`' database and check every submitted application of the stream against
    its receipt; returns the references found (problems fail the assertions)."""
    await grants.db.open_database(settings)
    try:
        storage = LocalStorage(settings.upload_dir)
        submitted = await Application.filter(title__startswith="Backup ", status="submitted")
        for application in submitted:
            recomputed = content_hash(application, await load_content(application))
            assert application.content_hash == recomputed == receipts[application.reference]
            assert application.submitted_at is not None
        # Every file the database names is there, whole (drafts' files included).
        for attachment in await Attachment.all():
            data = storage.open_path(attachment.stored_name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == attachment.sha256, attachment.stored_name
        return sorted(a.reference for a in submitted)
    finally:
        await grants.db.close_database()


async def test_a_backup_taken_during_a_stream_of_submissions_restores_to_receipts_that_verify(
    settings, demo, make_browser, fresh, tmp_path
):
    browsers = await applicants(make_browser, APPLICANTS)
    receipts: dict[str, str] = {}
    stream = [
        asyncio.create_task(keep_submitting(browser, number, receipts))
        for number, browser in enumerate(browsers)
    ]
    while len(receipts) < 2:  # some acknowledged, the rest on their way
        assert not any(task.done() and task.exception() for task in stream)
        await asyncio.sleep(0.01)
    acknowledged_before = dict(receipts)
    archive = tmp_path / "backup.tar.gz"
    manifest = await backup.create_backup(settings, archive)
    acknowledged_meanwhile = len(receipts) - len(acknowledged_before)
    still_running = sum(not task.done() for task in stream)
    await asyncio.gather(*stream)

    assert len(receipts) == APPLICANTS * ROUNDS
    # The stream was under way when the backup began, and went on while it ran or after it.
    assert len(acknowledged_before) < APPLICANTS * ROUNDS
    assert acknowledged_meanwhile > 0 or still_running > 0
    assert archive.stat().st_mode & 0o777 == 0o600
    await grants.db.close_database()
    try:
        restored = await backup.restore(fresh, archive)
        found = await verify(fresh, receipts)
    finally:
        await grants.db.open_database(settings)
    assert restored == manifest
    # Everything acknowledged before the backup began is in it; later ones may be.
    assert set(acknowledged_before) <= set(found) <= set(receipts)
    assert len(list(fresh.upload_dir.iterdir())) == manifest.uploads > 0


def grants_command(settings: Settings, *arguments: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "GRANTS_DATA_DIR": str(settings.data_dir), "GRANTS_SECRET_KEY": "x"}
    environ.pop("GRANTS_DATABASE_URL", None)
    if settings.database_url:
        environ["GRANTS_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [GRANTS, *arguments], env=environ, capture_output=True, text=True, timeout=120
    )


async def test_the_commands_back_up_restore_and_refuse_to_overwrite_without_force(
    settings, demo, fresh, tmp_path
):
    folder = tmp_path / "backups"
    folder.mkdir()
    made = grants_command(settings, "backup", "--output", str(folder))
    assert made.returncode == 0, made.stderr
    (archive,) = folder.iterdir()
    assert re.fullmatch(r"grants-\d{8}T\d{6}Z\.tar\.gz", archive.name)
    assert f"to {archive}" in made.stdout

    first = grants_command(fresh, "restore", str(archive))
    again = grants_command(fresh, "restore", str(archive))
    forced = grants_command(fresh, "restore", "--force", str(archive))

    assert first.returncode == 0, first.stderr
    assert "(empty)" in first.stdout and "Restored" in first.stdout
    assert again.returncode == 1
    assert "tables now" in again.stdout and "Restored" not in again.stdout
    assert "already holds" in again.stderr and "--force" in again.stderr
    assert forced.returncode == 0, forced.stderr
    await grants.db.close_database()
    try:
        await grants.db.open_database(fresh)
        restored = await Application.filter(status="submitted").count()
    finally:
        await grants.db.close_database()
        await grants.db.open_database(settings)
    assert restored == await Application.filter(status="submitted").count() > 0


def rewrite(archive: Path, target: Path, change) -> None:
    """A copy of `archive` with each member passed through `change(info, data)` → (info, data)."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for info in source:
            data = source.extractfile(info).read()
            info, data = change(info, data)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


@pytest.fixture
async def sqlite_archive(tmp_path) -> tuple[Path, Settings]:
    """A backup of a migrated SQLite database with one upload, and an empty target."""
    source = load_settings({"GRANTS_DATA_DIR": str(tmp_path / "source"), "GRANTS_SECRET_KEY": "x"})
    await grants.db.migrate(source)
    source.upload_dir.mkdir()
    (source.upload_dir / ("ab" * 16)).write_bytes(b"%PDF-1.4 upload")
    archive = tmp_path / "backup.tar.gz"
    await backup.create_backup(source, archive)
    target = load_settings({"GRANTS_DATA_DIR": str(tmp_path / "target"), "GRANTS_SECRET_KEY": "x"})
    return archive, target


async def test_a_damaged_archive_is_refused_before_anything_changes(sqlite_archive, tmp_path):
    archive, target = sqlite_archive
    damaged = tmp_path / "damaged.tar.gz"

    def flip(info, data):
        if info.name == backup.SQLITE_MEMBER:
            data = data[:-1] + bytes([data[-1] ^ 1])
        return info, data

    rewrite(archive, damaged, flip)
    with pytest.raises(backup.BackupError, match="missing or damaged"):
        await backup.restore(target, damaged)
    assert not backup.sqlite_path(target).exists()
    assert list(target.upload_dir.iterdir()) == []


async def test_an_archive_with_a_path_outside_its_folders_is_refused(sqlite_archive, tmp_path):
    archive, target = sqlite_archive
    hostile = tmp_path / "hostile.tar.gz"

    def escape(info, data):
        if info.name.startswith("uploads/"):
            info.name = "uploads/../../escaped"
        return info, data

    rewrite(archive, hostile, escape)
    with pytest.raises(backup.BackupError, match="unexpected member"):
        await backup.restore(target, hostile)
    assert not (tmp_path / "escaped").exists() and not (target.data_dir / "escaped").exists()
    assert not backup.sqlite_path(target).exists()


async def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    stray = tmp_path / "notes.tar.gz"
    with tarfile.open(stray, "w:gz") as out:
        out.addfile(tarfile.TarInfo("notes.txt"), io.BytesIO(b""))
    with pytest.raises(backup.BackupError, match="not a grants backup"):
        backup.read_manifest(stray)
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(backup.BackupError, match="cannot be read as a grants backup"):
        backup.read_manifest(tmp_path / "plain.txt")
