"""Single-use links (email verification, password reset, group and jury invitations).

Only a SHA-256 digest of each token is stored, so a leaked table gives no usable link;
`consume` is one conditional UPDATE, so two clicks on the same link cannot both succeed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from grants.models import Token, User
from grants.security import new_token, token_digest


async def issue(
    purpose: str, *, ttl: timedelta, user: User | None = None, payload: dict[str, Any] | None = None
) -> str:
    """Create a token and return its secret (to put in a link); only the digest is kept."""
    secret = new_token()
    await Token.create(
        purpose=purpose,
        token_hash=token_digest(secret),
        user=user,
        payload=payload or {},
        expires_at=datetime.now(UTC) + ttl,
    )
    return secret


async def lookup(secret: str, purpose: str) -> Token | None:
    """The token behind a link, whatever its state (callers say why it is unusable)."""
    return await Token.get_or_none(token_hash=token_digest(secret), purpose=purpose)


def is_open(record: Token | None) -> bool:
    return record is not None and record.used_at is None and record.expires_at >= datetime.now(UTC)


async def consume(record: Token, *, user: User | None = None) -> bool:
    """Mark the token used; False when another request used it first."""
    changes: dict[str, Any] = {"used_at": datetime.now(UTC)}
    if user is not None:
        changes["user_id"] = user.id
    return bool(await Token.filter(id=record.id, used_at=None).update(**changes))
