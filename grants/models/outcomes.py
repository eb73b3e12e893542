"""Outcome mails told to the groups: what was released to whom, and the organisers' own texts."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import User
    from grants.models.applications import Application
    from grants.models.calls import Edition


class OutcomeKind(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    SHORTLISTED = "shortlisted"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


class OutcomeNotice(Model):
    """One outcome told to one application's group, written only by services.outcomes.release.

    One row per application and outcome, so a second release never mails a group twice for
    the same outcome. `language` is the language the mail went out in, `recipients` how many
    accounts of the group it was queued for."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="outcome_notices"
    )
    application_id: int
    kind = fields.CharEnumField(OutcomeKind, max_length=16)
    language = fields.CharField(max_length=8)
    recipients = fields.IntField(default=0)
    released_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="outcome_notices_released", null=True
    )
    released_by_id: int | None
    released_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outcome_notice"
        unique_together = (("application", "kind"),)


class MailText(Model):
    """An edition's own text of one outcome mail in one language, with named placeholders.

    Written only by services.outcomes.save_texts. Without a row the translated default is used."""

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="mail_texts"
    )
    edition_id: int
    kind = fields.CharEnumField(OutcomeKind, max_length=16)
    language = fields.CharField(max_length=8)
    subject = fields.CharField(max_length=255)
    body = fields.TextField()
    updated_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="mail_texts_written", null=True
    )
    updated_by_id: int | None
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "mail_text"
        unique_together = (("edition", "kind", "language"),)
