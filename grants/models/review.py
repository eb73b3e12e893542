"""Conflicts, assignments of jurors to applications, bids and reviews with criterion scores."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from grants.models.accounts import User
    from grants.models.applications import Application
    from grants.models.calls import Panel


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Conflict(Model):
    """A juror who must never see or score an application (auto, declared or organiser-set)."""

    id = fields.IntField(primary_key=True)
    juror: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="conflicts"
    )
    juror_id: int
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="conflicts"
    )
    application_id: int
    source = fields.CharField(max_length=16)  # auto | declared | organiser
    reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("juror", "application"),)


class Bid(Model):
    id = fields.IntField(primary_key=True)
    juror: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="bids"
    )
    juror_id: int
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="bids"
    )
    application_id: int
    level = fields.CharField(max_length=16)  # eager | willing | not

    class Meta:
        unique_together = (("juror", "application"),)


class Assignment(Model):
    id = fields.IntField(primary_key=True)
    panel: fields.ForeignKeyRelation[Panel] = fields.ForeignKeyField(
        "grants.Panel", related_name="assignments"
    )
    panel_id: int
    juror: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="assignments"
    )
    juror_id: int
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="assignments"
    )
    application_id: int
    pinned = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("juror", "application"),)


class Review(Model):
    """One juror's review of one assigned application (one per assignment)."""

    id = fields.IntField(primary_key=True)
    assignment: fields.OneToOneRelation[Assignment] = fields.OneToOneField(
        "grants.Assignment", related_name="review"
    )
    assignment_id: int
    status = fields.CharEnumField(ReviewStatus, default=ReviewStatus.DRAFT)
    overall_comment = fields.TextField(default="")
    submitted_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    scores: fields.ReverseRelation[CriterionScore]


class CriterionScore(Model):
    id = fields.IntField(primary_key=True)
    review: fields.ForeignKeyRelation[Review] = fields.ForeignKeyField(
        "grants.Review", related_name="scores"
    )
    review_id: int
    criterion = fields.CharField(max_length=64)
    score = fields.FloatField(null=True)
    comment = fields.TextField(default="")

    class Meta:
        unique_together = (("review", "criterion"),)


class DiscussionComment(Model):
    """A juror's comment in the discussion of one application, shown to its panel's reviewers."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "grants.Application", related_name="discussion"
    )
    application_id: int
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="discussion_comments"
    )
    author_id: int
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
