"""The audit trail of sensitive actions and the outbox of mail to send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import User


class AuditEvent(Model):
    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="audit_events", null=True
    )
    actor_id: int | None
    action = fields.CharField(max_length=64, db_index=True)
    object_type = fields.CharField(max_length=64, default="")
    object_id = fields.CharField(max_length=64, default="")
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    ip = fields.CharField(max_length=64, default="")


class OutboxEmail(Model):
    """Mail written in the same transaction as the change it announces, sent by grants.mail."""

    id = fields.IntField(primary_key=True)
    to = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=255)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    send_after = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    sent_at = fields.DatetimeField(null=True, db_index=True)
    last_error = fields.TextField(default="")
