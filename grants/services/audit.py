"""Writing the audit trail: who did what to which object, with before and after."""

from __future__ import annotations

from typing import Any

from grants.models import AuditEvent, User


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
        object_id=str(object_id),
        before=before,
        after=after,
        ip=ip,
    )
