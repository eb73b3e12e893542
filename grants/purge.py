"""`grants purge`: the retention policy, applied (or, with a dry run, only counted).

Each kind of data has one rule and one default; `docs/privacy.md` states them. The command is
meant for a daily scheduler; running it twice removes nothing more the second time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from grants.models import (
    Application,
    ApplicationStatus,
    Attachment,
    AuditEvent,
    LoginAttempt,
    OutboxEmail,
    Token,
    UserSession,
)
from grants.services.privacy import delete_drafts
from grants.settings import Settings
from grants.storage import LocalStorage

REMOVED_BODY = ""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of data is kept (days unless said otherwise)."""

    draft_days: int = 90  # unsubmitted drafts, counted from their call's closing
    token_days: int = 7  # single-use links, counted from their use or expiry
    mail_body_days: int = 30  # bodies of sent mail (the row stays: to, subject, sent at)
    login_attempt_days: int = 1  # failed log-ins (the throttle looks back 15 minutes)
    session_days: int = 30  # ended sessions (browser, times), counted from their end
    audit_ip_days: int = 90  # IP addresses in the audit trail (the events stay)
    orphan_hours: int = 1  # files with no attachment record, and unfinished .part files


@dataclass(frozen=True)
class Count:
    kind: str  # what the line says
    count: int


def _cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


async def _drafts(policy: RetentionPolicy, now: datetime, dry_run: bool) -> tuple[int, list[str]]:
    """Drafts of calls closed over `draft_days` ago, with their answers, files and history."""
    drafts = Application.filter(
        status=ApplicationStatus.DRAFT, edition__closes_at__lt=_cutoff(now, policy.draft_days)
    )
    # values_list(flat=True) gives values, not the tuples Tortoise's types say (tortoise-orm#1112)
    ids = cast(list[int], await drafts.values_list("id", flat=True))
    if dry_run or not ids:
        return len(ids), []
    async with in_transaction():
        names = await delete_drafts(ids)
    return len(ids), names


async def _rows(dry_run: bool, query: QuerySet[Any]) -> int:
    count = await query.count()
    if not dry_run and count:
        await query.delete()
    return count


def _orphans(root: Path, referenced: set[str], older_than: float) -> list[Path]:
    """Files in the upload directory no attachment names, or unfinished .part files."""
    if not root.exists():
        return []
    found = []
    for path in root.iterdir():
        if not path.is_file() or path.stat().st_mtime > older_than:
            continue
        if path.name.endswith(".part") or path.name not in referenced:
            found.append(path)
    return found


async def _database(policy: RetentionPolicy, now: datetime, dry_run: bool) -> list[Count]:
    old = _cutoff(now, policy.token_days)
    tokens = Token.filter(Q(expires_at__lt=old) | Q(used_at__lt=old))
    logins = LoginAttempt.filter(at__lt=_cutoff(now, policy.login_attempt_days))
    ended = UserSession.filter(ended_at__lt=_cutoff(now, policy.session_days))
    sent = _cutoff(now, policy.mail_body_days)
    bodies = OutboxEmail.filter(sent_at__lt=sent, body__not=REMOVED_BODY)
    ips = AuditEvent.filter(at__lt=_cutoff(now, policy.audit_ip_days), ip__not="")
    p = policy
    counts = [
        Count(f"used or expired links, over {p.token_days} days", await _rows(dry_run, tokens)),
        Count(f"failed log-ins, over {p.login_attempt_days} days", await _rows(dry_run, logins)),
        Count(f"ended sessions, over {p.session_days} days", await _rows(dry_run, ended)),
        Count(f"bodies of mail sent over {p.mail_body_days} days ago", await bodies.count()),
        Count(f"IP addresses in audit events, over {p.audit_ip_days} days", await ips.count()),
    ]
    if not dry_run:
        await bodies.update(body=REMOVED_BODY)
        await ips.update(ip="")
    return counts


async def purge(
    settings: Settings,
    *,
    policy: RetentionPolicy | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Count]:
    """Apply the retention policy; returns, per kind, how many were (or would be) removed."""
    policy = policy or RetentionPolicy()
    now = now or datetime.now(UTC)
    drafts, draft_files = await _drafts(policy, now, dry_run)
    counts = [Count(f"drafts of calls closed over {policy.draft_days} days ago", drafts)]
    counts += await _database(policy, now, dry_run)
    # Files last: an attachment recorded a moment ago is in this set or younger than the limit.
    referenced = {str(n) for n in await Attachment.all().values_list("stored_name", flat=True)}
    referenced.update(draft_files)  # deleted with their drafts, counted there
    limit = time.time() - policy.orphan_hours * 3600
    orphans = _orphans(settings.upload_dir, referenced, limit)
    if not dry_run:
        storage = LocalStorage(settings.upload_dir)
        for name in draft_files:
            storage.delete(name)
        for path in orphans:
            path.unlink(missing_ok=True)
    hours = policy.orphan_hours
    counts.append(Count(f"files without a record or unfinished, over {hours} h", len(orphans)))
    return counts


def report(counts: list[Count], *, dry_run: bool) -> str:
    """What `grants purge` prints: one line per kind."""
    verb = "would remove" if dry_run else "removed"
    width = max(len(str(c.count)) for c in counts)
    lines = [f"{'Dry run: ' if dry_run else ''}retention purge, {verb}:"]
    lines += [f"  {str(c.count).rjust(width)}  {c.kind}" for c in counts]
    return "\n".join(lines)
