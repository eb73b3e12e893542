"""Applications, their answers, attachments and the record of every status change."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import Group, User
    from grants.models.calls import Category, Edition, Question


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    IN_REVIEW = "in_review"
    SHORTLISTED = "shortlisted"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


class Application(Model):
    """A group's application to an edition.

    `reference` is given at creation (EPP-2027-0042) by services.submission.create_draft,
    `content_hash` and `submitted_at` are written only by services.submission.submit.
    """

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Edition] = fields.ForeignKeyField(
        "grants.Edition", related_name="applications"
    )
    edition_id: int
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "grants.Group", related_name="applications"
    )
    group_id: int
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "grants.Category", related_name="applications", null=True
    )
    category_id: int | None
    reference = fields.CharField(max_length=32, unique=True)
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    language = fields.CharField(max_length=8, default="en")
    status = fields.CharEnumField(ApplicationStatus, default=ApplicationStatus.DRAFT)
    publish_consent = fields.BooleanField(default=False)
    submitted_at = fields.DatetimeField(null=True)
    content_hash = fields.CharField(max_length=64, default="")
    submit_key = fields.CharField(max_length=64, null=True, unique=True)
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="applications_created"
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)


class Answer(Model):
    """One answer to a custom question.

    Stored as {"value": ...} because Tortoise's JSONField treats a bare Python str as
    already-encoded JSON, so plain text answers would not round-trip.
    """

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="answers"
    )
    application_id: int
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "grants.Question", related_name="answers"
    )
    question_id: int
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        unique_together = (("application", "question"),)

    @property
    def value(self) -> object:
        return self.payload.get("value")


class Attachment(Model):
    """An uploaded file: stored outside the web root under `stored_name` (random)."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="attachments"
    )
    application_id: int
    question: fields.ForeignKeyNullableRelation[Question] = fields.ForeignKeyField(
        "grants.Question", related_name="attachments", null=True
    )
    question_id: int | None
    original_name = fields.CharField(max_length=255)
    stored_name = fields.CharField(max_length=64, unique=True)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    uploaded_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="uploads"
    )
    uploaded_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)


class StatusChange(Model):
    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="history"
    )
    application_id: int
    from_status = fields.CharField(max_length=32)
    to_status = fields.CharField(max_length=32)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="status_changes", null=True
    )
    actor_id: int | None
    note = fields.TextField(default="")
    at = fields.DatetimeField(auto_now_add=True)


class ApplicationMessage(Model):
    """A message from the organisers to a group about its application.

    Or the group's answer: `from_secretariat` says which side wrote it. Written only by
    services.messages."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="messages"
    )
    application_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="messages_written"
    )
    author_id: int
    from_secretariat = fields.BooleanField(default=True)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
