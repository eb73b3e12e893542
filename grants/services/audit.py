"""Writing the audit trail: who did what to which object, with before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grants.models import AuditEvent, User
from grants.services.parsing import for_log, max_length


async def count_since(actions: str | list[str], since: datetime, **match: object) -> int:
    """How many events of `actions` (one or several) were recorded since `since`, matching the
    other fields given (`ip=`, `object_id=`): the rate limits count what the trail holds."""
    names = [actions] if isinstance(actions, str) else actions
    return await AuditEvent.filter(action__in=names, at__gte=since, **match).count()


async def record(
    action: str,
    *,
    actor: User | None,
    object_type: str = "",
    object_id: object = "",
    before: Any = None,
    after: Any = None,
    ip: str = "",
) -> AuditEvent:
    return await AuditEvent.create(
        action=action,
        actor=actor,
        object_type=object_type,
        # What a person typed (an email at a failed log-in) may be longer than the column.
        object_id=for_log(object_id, max_length(AuditEvent, "object_id")),
        before=before,
        after=after,
        ip=ip[: max_length(AuditEvent, "ip")],
    )


async def record_many(
    action: str,
    *,
    actor: User | None,
    object_type: str,
    changes: list[tuple[object, Any, Any]],
    ip: str = "",
) -> None:
    """`record` for many objects at once (a bulk action): one event per (object_id, before,
    after) of `changes`, written in one INSERT."""
    if not changes:
        return
    at = datetime.now(UTC)
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                at=at,
                action=action,
                actor=actor,
                object_type=object_type,
                object_id=for_log(object_id, max_length(AuditEvent, "object_id")),
                before=before,
                after=after,
                ip=ip[: max_length(AuditEvent, "ip")],
            )
            for object_id, before, after in changes
        ]
    )
