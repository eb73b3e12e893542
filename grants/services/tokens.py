"""Single-use links (email verification, password reset, group and jury invitations).

Only a SHA-256 digest of each token is stored, so a leaked table gives no usable link;
`consume` is one conditional UPDATE, so two clicks on the same link cannot both succeed.
Each purpose has one lifetime, here, which the mails that carry the links state. For a
person's own links (verification, reset) only the newest works: issuing one voids the older ones.
A void token is one whose `used_at` is set without anybody having used it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from grants.i18n import ngettext
from grants.models import Token, User

LIFETIMES: dict[str, timedelta] = {
    "verify": timedelta(days=3),
    "reset": timedelta(hours=2),
    "invite": timedelta(days=14),  # to join a group
    "jury_invite": timedelta(days=14),
}
# Links mailed to the person they are for: a newer one voids the older ones still open.
NEWEST_ONLY = frozenset({"verify", "reset"})


def digest(secret: str) -> str:
    """What is stored of a token: a leaked table gives no usable links."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue(
    purpose: str, *, user: User | None = None, payload: dict[str, Any] | None = None
) -> str:
    """Create a token and return its secret (to put in a link); only the digest is kept.

    For NEWEST_ONLY purposes the user's older open tokens of that purpose are voided."""
    if user is not None and purpose in NEWEST_ONLY:
        await void(user, purpose)
    secret = secrets.token_urlsafe(32)
    await Token.create(
        purpose=purpose,
        token_hash=digest(secret),
        user=user,
        payload=payload or {},
        expires_at=datetime.now(UTC) + LIFETIMES[purpose],
    )
    return secret


async def lookup(secret: str, purpose: str) -> Token | None:
    """The token behind a link, whatever its state (callers say why it is unusable)."""
    return await Token.get_or_none(token_hash=digest(secret), purpose=purpose)


def is_open(record: Token | None) -> bool:
    return record is not None and record.used_at is None and record.expires_at >= datetime.now(UTC)


async def consume(record: Token, *, user: User | None = None) -> bool:
    """Mark the token used; False when another request used it first."""
    changes: dict[str, Any] = {"used_at": datetime.now(UTC)}
    if user is not None:
        changes["user_id"] = user.id
    return bool(await Token.filter(id=record.id, used_at=None).update(**changes))


async def void(user: User, *purposes: str) -> int:
    """Void the user's open tokens of these purposes (their links stop working); how many."""
    return await Token.filter(user_id=user.id, purpose__in=purposes, used_at=None).update(
        used_at=datetime.now(UTC)
    )


async def issued_since(user: User, purpose: str, since: datetime) -> int:
    """How many tokens of this purpose the user was given since `since` (used or not)."""
    return await Token.filter(user_id=user.id, purpose=purpose, created_at__gte=since).count()


def lifetime_note(purpose: str) -> str:
    """The sentence a mail says of its link's lifetime, in the reader's language."""
    lifetime = LIFETIMES[purpose]
    if lifetime >= timedelta(days=1):
        return ngettext(
            "The link works once, for %(num)s day.",
            "The link works once, for %(num)s days.",
            lifetime.days,
        )
    return ngettext(
        "The link works once, for %(num)s hour.",
        "The link works once, for %(num)s hours.",
        lifetime // timedelta(hours=1),
    )
