"""Conflicts, assignments of jurors to applications, bids and reviews with criterion scores."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Conflict(Model):
    """A juror who must never see or score an application (auto, declared or organiser-set)."""

    id = fields.IntField(primary_key=True)
    juror = fields.ForeignKeyField("grants.User", related_name="conflicts")
    application = fields.ForeignKeyField("grants.Application", related_name="conflicts")
    source = fields.CharField(max_length=16)  # auto | declared | organiser
    reason = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("juror", "application"),)


class Bid(Model):
    id = fields.IntField(primary_key=True)
    juror = fields.ForeignKeyField("grants.User", related_name="bids")
    application = fields.ForeignKeyField("grants.Application", related_name="bids")
    level = fields.CharField(max_length=16)  # eager | willing | not

    class Meta:
        unique_together = (("juror", "application"),)


class Assignment(Model):
    id = fields.IntField(primary_key=True)
    panel = fields.ForeignKeyField("grants.Panel", related_name="assignments")
    juror = fields.ForeignKeyField("grants.User", related_name="assignments")
    application = fields.ForeignKeyField("grants.Application", related_name="assignments")
    pinned = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("juror", "application"),)


class Review(Model):
    """One juror's review of one assigned application (one per assignment)."""

    id = fields.IntField(primary_key=True)
    assignment = fields.OneToOneField("grants.Assignment", related_name="review")
    status = fields.CharEnumField(ReviewStatus, default=ReviewStatus.DRAFT)
    overall_comment = fields.TextField(default="")
    submitted_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)


class CriterionScore(Model):
    id = fields.IntField(primary_key=True)
    review = fields.ForeignKeyField("grants.Review", related_name="scores")
    criterion = fields.CharField(max_length=64)
    score = fields.FloatField(null=True)
    comment = fields.TextField(default="")

    class Meta:
        unique_together = (("review", "criterion"),)


class DiscussionComment(Model):
    """A juror's comment in the discussion of one application, shown to its panel's reviewers."""

    id = fields.IntField(primary_key=True)
    application = fields.ForeignKeyField("grants.Application", related_name="discussion")
    author = fields.ForeignKeyField("grants.User", related_name="discussion_comments")
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
