"""Passwords: argon2id with the server's parameters, never below OWASP's minimum, and older
hashes made again at their owner's next log-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.low_level import Type

from grants import passwords
from grants.models import User
from grants.services import accounts


def test_the_parameters_meet_owasp_s_recommended_minimum():
    # OWASP's rows for argon2id (memory in MiB, passes), each with one lane.
    rows = {46: 1, 19: 2, 12: 3, 9: 4, 7: 5}
    memory_mib = passwords.MEMORY_KIB // 1024
    assert any(memory_mib >= m and passwords.PASSES >= t for m, t in rows.items())
    made = passwords._hasher.hash("a long enough password")
    assert made.startswith(f"$argon2id$v=19$m={passwords.MEMORY_KIB},t={passwords.PASSES},p=1$")


async def test_a_hash_with_older_parameters_is_made_again_at_log_in(settings):
    heavy = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
    user = await User.create(
        email="old@example.org", display_name="Old", password_hash=heavy.hash("old password 1")
    )
    assert passwords.needs_rehash(user.password_hash)

    await accounts.authenticate(
        settings=settings, email="old@example.org", password="old password 1", ip="192.0.2.1"
    )

    await user.refresh_from_db()
    assert not passwords.needs_rehash(user.password_hash)
    assert await passwords.verify_password(user.password_hash, "old password 1")
    again = user.password_hash
    await accounts.authenticate(
        settings=settings, email="old@example.org", password="old password 1", ip="192.0.2.1"
    )
    await user.refresh_from_db()
    assert user.password_hash == again  # made once, not at every log-in
