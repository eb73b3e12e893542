"""Programmes, their yearly editions and everything an edition pins: categories, questions,
panels, rubric, dates."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import User


class EditionStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    SCREENING = "screening"
    REVIEW = "review"
    DELIBERATION = "deliberation"
    AWARDED = "awarded"
    PUBLISHED = "published"


class QuestionKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    NUMBER = "number"
    DATE = "date"
    LINK = "link"
    FILE = "file"


def default_allowed_types() -> list[str]:
    return ["application/pdf", "image/jpeg", "image/png"]


class Programme(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name: fields.JSONField[dict[str, str]] = fields.JSONField()  # {"en": ..., "fr": ..., "ru": ...}
    description: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)


class Edition(Model):
    """One call: dates are stored in UTC and shown in `timezone` and the visitor's zone."""

    id = fields.IntField(primary_key=True)
    programme: fields.ForeignKeyRelation[Programme] = fields.ForeignKeyField(
        "grants.Programme", related_name="editions"
    )
    programme_id: int
    slug = fields.CharField(max_length=64, unique=True)
    year = fields.IntField()
    title: fields.JSONField[dict[str, str]] = fields.JSONField()
    description: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    rules: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(EditionStatus, default=EditionStatus.DRAFT)
    timezone = fields.CharField(max_length=64, default="Europe/Paris")
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    publish_at = fields.DatetimeField(null=True)
    published_at = fields.DatetimeField(null=True)
    reference_prefix = fields.CharField(max_length=16, default="EPP")
    next_reference = fields.IntField(default=1)
    # ISO 3166-1 alpha-2 codes
    eligible_countries: fields.JSONField[list[str]] = fields.JSONField(default=list)
    min_age = fields.IntField(default=14)
    max_age = fields.IntField(default=25)
    consent_age = fields.IntField(default=18)
    min_team_size = fields.IntField(default=1)
    max_team_size = fields.IntField(default=30)
    reviews_per_application = fields.IntField(default=3)
    blind_review = fields.BooleanField(default=True)
    same_country_conflict = fields.BooleanField(default=True)
    rubric_name = fields.CharField(max_length=64, default="prevention-prize")
    rubric_version = fields.IntField(default=1)
    rubric_fingerprint = fields.CharField(max_length=64, default="")
    aggregator = fields.CharField(max_length=64, default="weighted-mean")
    max_file_mb = fields.IntField(default=10)
    max_total_mb = fields.IntField(default=30)
    allowed_types: fields.JSONField[list[str]] = fields.JSONField(default=default_allowed_types)
    created_at = fields.DatetimeField(auto_now_add=True)


class EditionRole(Model):
    """A site user's role in one edition (organiser). Jurors are PanelMembers."""

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="roles"
    )
    edition_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="edition_roles"
    )
    user_id: int
    role = fields.CharField(max_length=32, default="organiser")

    class Meta:
        unique_together = (("edition", "user", "role"),)


class Category(Model):
    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="categories"
    )
    edition_id: int
    slug = fields.CharField(max_length=64)
    name: fields.JSONField[dict[str, str]] = fields.JSONField()

    class Meta:
        unique_together = (("edition", "slug"),)


class Question(Model):
    """A custom question of an edition's application form, shown on form step `step`."""

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="questions"
    )
    edition_id: int
    key = fields.CharField(max_length=64)
    step = fields.IntField(default=2)
    position = fields.IntField(default=0)
    kind = fields.CharEnumField(QuestionKind)
    label: fields.JSONField[dict[str, str]] = fields.JSONField()
    help: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    required = fields.BooleanField(default=False)
    word_limit = fields.IntField(null=True)
    # [{"value": ..., "label": {...}}]
    options: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)

    class Meta:
        unique_together = (("edition", "key"),)


class Panel(Model):
    """A jury of an edition (expert jury, youth jury), panels combine by `weight`."""

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="panels"
    )
    edition_id: int
    name: fields.JSONField[dict[str, str]] = fields.JSONField()
    slug = fields.CharField(max_length=64)
    weight = fields.FloatField(default=1.0)


class PanelMember(Model):
    """A juror of a panel, with what conflicts and assignment need to know."""

    id = fields.IntField(primary_key=True)
    panel: fields.ForeignKeyRelation[Panel] = fields.ForeignKeyField(
        "grants.Panel", related_name="members"
    )
    panel_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="panel_memberships"
    )
    user_id: int
    # ISO 639-1 codes the juror reads
    languages: fields.JSONField[list[str]] = fields.JSONField(default=list)
    country = fields.CharField(max_length=2, default="")
    organisation = fields.CharField(max_length=200, default="")
    expertise: fields.JSONField[list[str]] = fields.JSONField(default=list)  # category slugs
    min_load = fields.IntField(default=0)
    max_load = fields.IntField(default=10)
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        unique_together = (("panel", "user"),)
