"""Awards: embargoed until the edition is published."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Award(Model):
    id = fields.IntField(primary_key=True)
    edition = fields.ForeignKeyField("grants.Edition", related_name="awards")
    application = fields.OneToOneField("grants.Application", related_name="award")
    title = fields.CharField(max_length=120)
    position = fields.IntField(default=1)
    amount_eur = fields.IntField(default=0)
    citation = fields.TextField(default="")
    created_by = fields.ForeignKeyField("grants.User", related_name="awards_recorded")
    created_at = fields.DatetimeField(auto_now_add=True)
