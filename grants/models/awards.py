"""Awards: embargoed until the edition is published."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import User
    from grants.models.applications import Application
    from grants.models.calls import Edition


class Award(Model):
    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="awards"
    )
    edition_id: int
    application: fields.OneToOneRelation[Application] = fields.OneToOneField(
        "grants.Application", related_name="award"
    )
    application_id: int
    title = fields.CharField(max_length=120)
    position = fields.IntField(default=1)
    amount_eur = fields.IntField(default=0)
    citation = fields.TextField(default="")
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="awards_recorded"
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
