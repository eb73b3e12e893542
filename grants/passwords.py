"""Passwords: argon2id with parameters chosen for this server, hashed and checked in a thread.

Why these parameters: the library's default profile (64 MiB, 3 passes, 4 lanes) costs about
340 ms of CPU per log-in on a 2-core server and runs four threads at once, so a handful of
log-ins in the same second queue behind each other. OWASP's recommended minimum for argon2id,
one of the rows of its table, is 19 MiB of memory, 2 passes and 1 lane: about 20 ms of CPU here
(docs/operations.md has the measurement). Never go below a row of that table; hashes made with
other parameters are re-made at their owner's next log-in (`needs_rehash`).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_KIB = 19 * 1024
PASSES = 2
LANES = 1
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher(time_cost=PASSES, memory_cost=MEMORY_KIB, parallelism=LANES)


async def hash_password(password: str) -> str:
    """An argon2id hash of `password` (computed in a thread: the event loop keeps serving)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the hash; a malformed hash simply does not match."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (re-hash it at log-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A hash to verify against when the account does not exist, so timing does not reveal it.
DUMMY_HASH = _hasher.hash("not a real password, only for constant timing")
