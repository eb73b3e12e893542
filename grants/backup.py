"""`grants backup` and `grants restore`: one archive file holding the database and the uploads.

The archive is a gzipped tar, written with mode 0600 (it holds minors' data):

    manifest.json      the format, the backend, when, the database member's size and SHA-256,
                       the number and size of the uploads; always the first member
    database.sqlite3   SQLite: a copy made with the online backup API, in one step, so one
                       consistent snapshot while the app keeps writing (WAL mode)
    database.pgdump    PostgreSQL: `pg_dump --format=custom`, one consistent snapshot as well
    uploads/<name>     every stored attachment

Order is what makes it consistent: the database first, then the uploads. An attachment's file is
on disk (fsynced, renamed into place) before the row naming it is committed, so every file the
database snapshot names is already there when the uploads are copied. Files stored after the
snapshot come along unnamed (orphans once restored, which `grants purge` removes). A file
deleted between the snapshot and the copy (a draft's attachment removed at that moment) is
missing from the archive; submitted applications' files are not deleted.

The secret key (GRANTS_SECRET_KEY or the data dir's `secret_key` file) is not in the archive: a
backup must not carry the key that signs sessions. Restored elsewhere without it, people sign
in again.

A restore checks the manifest and every member before it touches anything, refuses a database
that holds tables unless forced, puts the uploads in place first and the database last (SQLite
through the backup API again, so no stale WAL file survives; PostgreSQL with `pg_restore
--single-transaction`, so a failed restore changes nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # ships no type information
from tortoise.backends.base.config_generator import expand_db_url

from grants.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
UPLOADS = "uploads"
# A stored attachment's name (grants/storage.py: random hex); anything else is not ours.
UPLOAD_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
COMPRESS_LEVEL = 6  # gzip's default; 9 costs twice the time for little on PDFs and images
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What an archive holds (its first member, manifest.json)."""

    format: int
    backend: str  # "sqlite" or "postgres"
    created_at: str  # ISO 8601, UTC
    database_member: str
    database_bytes: int
    database_sha256: str
    uploads: int
    uploads_bytes: int


@dataclass(frozen=True)
class Target:
    """Where a restore writes, and what is there now."""

    backend: str
    database: str  # the SQLite file, or the PostgreSQL database (and schema)
    upload_dir: Path
    tables: int  # tables the database holds now; a restore over them needs --force


# --- where the database is ----------------------------------------------------------------------


def backend_of(settings: Settings) -> str:
    url = settings.resolved_database_url
    return "postgres" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def sqlite_path(settings: Settings) -> Path:
    return Path(expand_db_url(settings.resolved_database_url)["credentials"]["file_path"])


def _postgres_credentials(settings: Settings) -> dict[str, Any]:
    return dict(expand_db_url(settings.resolved_database_url)["credentials"])


def _postgres_environ(settings: Settings) -> dict[str, str]:
    """libpq's variables for pg_dump and pg_restore (the password never on a command line);
    other PG* variables of the environment (PGSSLMODE...) pass through."""
    credentials = _postgres_credentials(settings)
    environ = dict(os.environ)
    for variable, key in (
        ("PGHOST", "host"),
        ("PGPORT", "port"),
        ("PGUSER", "user"),
        ("PGPASSWORD", "password"),
        ("PGDATABASE", "database"),
    ):
        if credentials.get(key) not in (None, ""):
            environ[variable] = str(credentials[key])
    return environ


def _postgres_label(settings: Settings) -> str:
    credentials = _postgres_credentials(settings)
    where = f"{credentials.get('host')}:{credentials.get('port')}/{credentials.get('database')}"
    schema = credentials.get("schema")
    return f"PostgreSQL database {where}" + (f" (schema {schema})" if schema else "")


# --- backup ---------------------------------------------------------------------------------------


def default_output(settings: Settings, now: datetime | None = None) -> Path:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return settings.data_dir / "backups" / f"grants-{moment}.tar.gz"


def output_path(settings: Settings, output: Path | None) -> Path:
    """The archive's path: `output`, a dated file in `output` if it is a directory, or a dated
    file in the data dir's backups/ folder."""
    if output is None:
        return default_output(settings)
    return output / default_output(settings).name if output.is_dir() else output


async def create_backup(settings: Settings, output: Path) -> Manifest:
    """Write an archive of the database and the uploads to the file `output`; it appears
    complete or not at all. Safe while the app runs."""
    if output.exists():
        raise BackupError(f"{output} exists already; choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    backend = backend_of(settings)
    # Staged in the data dir, beside the uploads, so they can be hard-linked rather than copied.
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".backup-") as staging:
        stage = Path(staging)
        if backend == "sqlite":
            member = SQLITE_MEMBER
            await asyncio.to_thread(_sqlite_snapshot, sqlite_path(settings), stage / member)
        else:
            member = POSTGRES_MEMBER
            await _pg_dump(settings, stage / member)
        # Only now the uploads: every file the snapshot names is on disk already.
        count, size = await asyncio.to_thread(_stage_uploads, settings.upload_dir, stage / UPLOADS)
        manifest = Manifest(
            format=FORMAT,
            backend=backend,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database_member=member,
            database_bytes=(stage / member).stat().st_size,
            database_sha256=await asyncio.to_thread(_sha256, stage / member),
            uploads=count,
            uploads_bytes=size,
        )
        await asyncio.to_thread(_write_archive, stage, manifest, output)
    return manifest


def _sqlite_snapshot(source_path: Path, target: Path) -> None:
    """Copy the live database with SQLite's online backup API, all pages in one step: one read
    transaction, so one consistent snapshot; in WAL mode writers go on meanwhile."""
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}; nothing to back up")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: everything in one step
        # One self-contained file in the archive (the app turns WAL on again when it opens it).
        copy.execute("PRAGMA journal_mode=DELETE")
        problem = copy.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite backup of {source_path} failed: {exc}") from exc
    finally:
        copy.close()
        source.close()
    if problem != "ok":
        raise BackupError(f"the copy of {source_path} fails SQLite's check: {problem}")


async def _pg_dump(settings: Settings, target: Path) -> None:
    schema = _postgres_credentials(settings).get("schema")
    command = ["pg_dump", "--format=custom", f"--file={target}"]
    if schema:
        command.append(f"--schema={schema}")
    await _run_tool(command, environ=_postgres_environ(settings))


async def _run_tool(command: list[str], *, environ: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed; it comes with PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client, of the server's major version or newer)"
        )
    process = await asyncio.create_subprocess_exec(
        *command,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = (err or out).decode(errors="replace").strip()[-2000:]
        raise BackupError(f"{command[0]} failed (exit status {process.returncode}): {said}")


def _stage_uploads(upload_dir: Path, target: Path) -> tuple[int, int]:
    """Hard-link (or copy, across file systems) every stored upload into `target`."""
    target.mkdir()
    count = size = 0
    if not upload_dir.exists():
        return 0, 0
    for entry in sorted(os.scandir(upload_dir), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False) or not UPLOAD_NAME.fullmatch(entry.name):
            continue  # a .part file being written, or not an upload at all
        try:
            try:
                os.link(entry.path, target / entry.name)
            except OSError:
                shutil.copy2(entry.path, target / entry.name)
        except FileNotFoundError:
            continue  # deleted meanwhile (a draft's attachment removed, an orphan purged)
        count += 1
        size += (target / entry.name).stat().st_size
    return count, size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_archive(stage: Path, manifest: Manifest, output: Path) -> None:
    partial = output.with_name(f".{output.name}.part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL) as archive:
                _add_bytes(archive, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
                archive.add(stage / manifest.database_member, arcname=manifest.database_member)
                for upload in sorted((stage / UPLOADS).iterdir()):
                    archive.add(upload, arcname=f"{UPLOADS}/{upload.name}")
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, fileobj=io.BytesIO(data))


# --- restore --------------------------------------------------------------------------------------


def read_manifest(archive_path: Path) -> Manifest:
    """The archive's manifest (its first member), checked; BackupError if it is not a backup."""
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            first = archive.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{archive_path} is not a grants backup (no manifest first)")
            reader = archive.extractfile(first)
            assert reader is not None
            fields = json.loads(reader.read(1_000_000))
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive_path} cannot be read as a grants backup: {exc}") from exc
    try:
        manifest = Manifest(**fields)
    except TypeError as exc:
        raise BackupError(f"{archive_path} has a manifest this version cannot read") from exc
    if manifest.format != FORMAT:
        raise BackupError(f"{archive_path} is of backup format {manifest.format}, not {FORMAT}")
    if manifest.database_member not in (SQLITE_MEMBER, POSTGRES_MEMBER):
        raise BackupError(f"{archive_path} names an unknown database member")
    return manifest


async def inspect_target(settings: Settings) -> Target:
    """Where a restore with these settings writes, and how many tables are there now."""
    if backend_of(settings) == "sqlite":
        path = sqlite_path(settings)
        tables = await asyncio.to_thread(_sqlite_tables, path)
        return Target("sqlite", f"SQLite database {path}", settings.upload_dir, tables)
    tables = await _postgres_tables(settings)
    return Target("postgres", _postgres_label(settings), settings.upload_dir, tables)


def _sqlite_tables(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    connection = sqlite3.connect(path, timeout=30)
    try:
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        return int(connection.execute(query).fetchone()[0])
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be read as a SQLite database: {exc}") from exc
    finally:
        connection.close()


async def _postgres_tables(settings: Settings) -> int:
    credentials = _postgres_credentials(settings)
    try:
        connection = await asyncpg.connect(
            host=credentials.get("host"),
            port=credentials.get("port"),
            user=credentials.get("user"),
            password=credentials.get("password"),
            database=credentials.get("database"),
            timeout=10,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {_postgres_label(settings)}: {exc}") from exc
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            credentials.get("schema") or "public",
        )
    finally:
        await connection.close()
    return int(count)


async def restore(settings: Settings, archive_path: Path, *, force: bool = False) -> Manifest:
    """Put an archive's uploads and database in place of these settings' own. Refuses a database
    that holds tables unless `force`; checks every member before it changes anything."""
    manifest = read_manifest(archive_path)
    target = await inspect_target(settings)
    if manifest.backend != target.backend:
        raise BackupError(
            f"this backup holds a {_backend_name(manifest.backend)} database, and these settings "
            f"name a {_backend_name(target.backend)} one ({target.database}); restore it where "
            "GRANTS_DATABASE_URL names the same kind of database"
        )
    if target.tables and not force:
        raise BackupError(
            f"{target.database} already holds {target.tables} tables; a restore replaces them. "
            "Stop the app, then run the restore again with --force"
        )
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    # Staged beside the uploads, so each file is renamed into place.
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".restore-") as staging:
        stage = Path(staging)
        await asyncio.to_thread(_unpack, archive_path, manifest, stage)
        await asyncio.to_thread(_place_uploads, stage / UPLOADS, settings.upload_dir)
        database = stage / manifest.database_member
        if manifest.backend == "sqlite":
            await asyncio.to_thread(_sqlite_restore, database, sqlite_path(settings))
        else:
            await _pg_restore(settings, database, clean=bool(target.tables))
    return manifest


def _backend_name(backend: str) -> str:
    return "PostgreSQL" if backend == "postgres" else "SQLite"


def _unpack(archive_path: Path, manifest: Manifest, stage: Path) -> None:
    """Extract into `stage`, accepting only the members a backup has, and check them against the
    manifest."""
    (stage / UPLOADS).mkdir()
    uploads = uploads_bytes = 0
    with tarfile.open(archive_path, mode="r:gz") as archive:
        for member in archive:
            if member.name == MANIFEST:
                continue
            destination = _destination(member, manifest, stage)
            reader = archive.extractfile(member)
            assert reader is not None
            with open(destination, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            if destination.parent.name == UPLOADS:
                uploads += 1
                uploads_bytes += member.size
    database = stage / manifest.database_member
    if not database.exists() or _sha256(database) != manifest.database_sha256:
        raise BackupError(f"{archive_path}: the database copy is missing or damaged")
    if (uploads, uploads_bytes) != (manifest.uploads, manifest.uploads_bytes):
        raise BackupError(
            f"{archive_path}: {uploads} uploads ({uploads_bytes} bytes) where the manifest "
            f"says {manifest.uploads} ({manifest.uploads_bytes} bytes)"
        )


def _destination(member: tarfile.TarInfo, manifest: Manifest, stage: Path) -> Path:
    if not member.isfile():
        raise BackupError(f"unexpected member in the backup: {member.name!r} is not a file")
    if member.name == manifest.database_member:
        return stage / member.name
    folder, _, name = member.name.partition("/")
    if folder == UPLOADS and UPLOAD_NAME.fullmatch(name):
        return stage / UPLOADS / name
    raise BackupError(f"unexpected member in the backup: {member.name!r}")


def _place_uploads(source: Path, upload_dir: Path) -> None:
    for upload in source.iterdir():
        os.replace(upload, upload_dir / upload.name)


def _sqlite_restore(source_path: Path, target_path: Path) -> None:
    """Write the copy into the target through the backup API: the target's WAL and locks are
    handled by SQLite, so no stale WAL file can be replayed over the restored pages."""
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with _sqlite(source_path) as source, _sqlite(target_path) as target:
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            raise BackupError(f"restoring into {target_path} failed: {exc}") from exc


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


async def _pg_restore(settings: Settings, dump: Path, *, clean: bool) -> None:
    command = [
        "pg_restore",
        "--single-transaction",  # all or nothing
        "--exit-on-error",
        "--no-owner",  # objects belong to the role restoring them
        "--no-privileges",
        f"--dbname={_postgres_credentials(settings).get('database')}",
    ]
    if clean:  # --force over a database with tables: drop what the backup recreates
        command += ["--clean", "--if-exists"]
    await _run_tool([*command, str(dump)], environ=_postgres_environ(settings))


def describe_size(size: int) -> str:
    """A byte count for people: 1.4 MB."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"  # pragma: no cover (the loop returns)


def summary(manifest: Manifest) -> str:
    """One line about an archive: what it holds and when it was taken."""
    return (
        f"a {_backend_name(manifest.backend)} database ({describe_size(manifest.database_bytes)}) "
        f"and {manifest.uploads} uploads ({describe_size(manifest.uploads_bytes)}), "
        f"taken {manifest.created_at}"
    )
