"""People and the groups they apply as. Minimal data on minors: age band, never a birth date."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AgeBand(StrEnum):
    UNDER_14 = "under_14"
    AGE_14_15 = "14_15"
    AGE_16_17 = "16_17"
    AGE_18_21 = "18_21"
    AGE_22_25 = "22_25"
    OVER_25 = "over_25"

    @property
    def upper_age(self) -> int:
        """The oldest age in the band."""
        return {"under_14": 13, "14_15": 15, "16_17": 17, "18_21": 21, "22_25": 25}.get(
            self.value, 200
        )

    @property
    def lower_age(self) -> int:
        """The youngest age in the band (a guardian's consent is needed below the call's age)."""
        return {"under_14": 0, "14_15": 14, "16_17": 16, "18_21": 18, "22_25": 22}.get(
            self.value, 26
        )


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=120)
    password_hash = fields.CharField(max_length=255)
    locale = fields.CharField(max_length=8, default="en")
    timezone = fields.CharField(max_length=64, default="UTC")
    is_admin = fields.BooleanField(default=False)
    email_verified_at = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    erased_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Token(Model):
    """Single-use tokens (email verification, password reset, invitations), only hashes stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="tokens", null=True
    )
    user_id: int | None
    purpose = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)


class UserSession(Model):
    """A signed-in session: the browser keeps a random token, the table only its SHA-256.

    Written only by services/sessions.py. A session is never deleted when it ends: `ended_at`
    and `ended_reason` say when and why (log-out, idle, expired, password, role, elsewhere)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="sessions"
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    user_agent = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    idle_seconds = fields.IntField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    ended_reason = fields.CharField(max_length=32, default="")

    class Meta:
        table = "user_session"


class LoginAttempt(Model):
    """Failed log-ins, by account and by IP, for throttling."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=300, db_index=True)
    at = fields.DatetimeField(auto_now_add=True)


class Group(Model):
    """A youth organisation, school class or informal group that applies."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=32, default="informal")
    country = fields.CharField(max_length=2)
    organisation = fields.CharField(max_length=200, default="")
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="groups_created"
    )
    created_by_id: int
    created_at = fields.DatetimeField(auto_now_add=True)


class GroupMember(Model):
    """A member of a group. `user` is null until an invited member accepts."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField(
        "grants.Group", related_name="members"
    )
    group_id: int
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="memberships", null=True
    )
    user_id: int | None
    invite_email = fields.CharField(max_length=254, default="")
    first_name = fields.CharField(max_length=80)
    role = fields.CharField(max_length=32, default="member")
    age_band = fields.CharEnumField(AgeBand)
    guardian_consent_at = fields.DatetimeField(null=True)
    guardian_name = fields.CharField(max_length=120, default="")
    consent_recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "grants.User", related_name="consents_recorded", null=True
    )
    consent_recorded_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("group", "user"),)
