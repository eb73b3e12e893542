"""Server-side sessions without HTTP: only a hash kept, idle and absolute timeouts, a write at
most once a minute, ending one, ending all but one, and the audit trail they leave."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from grants.demo import DEMO_PASSWORD
from grants.models import AuditEvent, User, UserSession
from grants.services import accounts, sessions, tokens


@pytest.fixture
async def alice(settings):
    return await User.create(email="alice@example.org", display_name="Alice", password_hash="x")


async def stored(token: str) -> UserSession:
    return await UserSession.get(token_hash=hashlib.sha256(token.encode()).hexdigest())


async def age(token: str, **changes) -> None:
    """Move a session's clock back (no sleeping): e.g. last_seen_at=<a past time>."""
    session = await stored(token)
    await UserSession.filter(id=session.id).update(**changes)


async def test_only_a_hash_of_the_token_is_stored(settings, alice):
    token = await sessions.start(alice, settings=settings, user_agent="Firefox " + "x" * 500)
    row = await stored(token)
    assert row.user_id == alice.id and row.ended_at is None
    assert token not in {row.token_hash, row.user_agent}
    assert len(row.user_agent) == sessions.USER_AGENT_LENGTH
    assert row.expires_at - row.created_at == pytest.approx(
        timedelta(days=settings.session_days), abs=timedelta(seconds=5)
    )
    assert (await sessions.resolve(token)).user.id == alice.id
    assert await sessions.resolve(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert await sessions.resolve("é" * 43) is None and await sessions.resolve("") is None


async def test_an_idle_session_ends_and_stays_ended(settings, alice):
    token = await sessions.start(alice, settings=settings)
    idle = timedelta(minutes=settings.session_idle_minutes)
    await age(token, last_seen_at=datetime.now(UTC) - idle + timedelta(minutes=2))
    assert await sessions.resolve(token) is not None  # used just in time: goes on

    await age(token, last_seen_at=datetime.now(UTC) - idle - timedelta(seconds=1))
    assert await sessions.resolve(token) is None
    row = await stored(token)
    assert row.ended_reason == sessions.IDLE and row.ended_at is not None
    event = await AuditEvent.get(action="session.ended", object_id=str(row.id))
    assert event.after == {"reason": "idle"}

    await age(token, last_seen_at=datetime.now(UTC))  # even if the clock said otherwise now
    assert await sessions.resolve(token) is None


async def test_a_session_in_use_still_ends_at_its_absolute_lifetime(settings, alice):
    token = await sessions.start(alice, settings=settings)
    await age(token, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await sessions.resolve(token) is None
    assert (await stored(token)).ended_reason == sessions.EXPIRED


async def test_staff_get_the_shorter_idle_time(settings, demo):
    organiser = await User.get(email="organiser@demo.prevention-prize.eu")
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    applicant = await User.get(email="applicant1@demo.prevention-prize.eu")
    staff_idle = settings.session_staff_idle_minutes * 60
    for person, idle in [
        (organiser, staff_idle),
        (juror, staff_idle),
        (applicant, settings.session_idle_minutes * 60),
    ]:
        token = await sessions.start(person, settings=settings)
        assert (await stored(token)).idle_seconds == idle, person.email
    assert settings.session_staff_idle_minutes < settings.session_idle_minutes


async def test_last_seen_is_written_at_most_once_a_minute(settings, alice):
    token = await sessions.start(alice, settings=settings)
    recent = datetime.now(UTC) - timedelta(seconds=30)
    await age(token, last_seen_at=recent)
    await sessions.resolve(token)
    assert (await stored(token)).last_seen_at == recent

    await age(token, last_seen_at=datetime.now(UTC) - timedelta(seconds=90))
    await sessions.resolve(token)
    assert datetime.now(UTC) - (await stored(token)).last_seen_at < timedelta(seconds=5)


async def test_log_out_ends_one_session_and_is_audited(settings, alice):
    phone = await sessions.start(alice, settings=settings)
    laptop = await sessions.start(alice, settings=settings)
    await sessions.end(phone, ip="192.0.2.1")
    await sessions.end(phone, ip="192.0.2.1")  # twice: nothing more happens
    assert await sessions.resolve(phone) is None
    assert await sessions.resolve(laptop) is not None
    [event] = await AuditEvent.filter(action="logout")
    assert event.actor_id == alice.id and event.ip == "192.0.2.1"
    assert (await stored(phone)).ended_reason == sessions.LOGOUT


async def test_end_all_for_user_keeps_only_the_named_session(settings, alice):
    bob = await User.create(email="bob@example.org", display_name="Bob", password_hash="x")
    mine = [await sessions.start(alice, settings=settings) for _ in range(3)]
    his = await sessions.start(bob, settings=settings)

    ended = await sessions.end_all_for_user(
        alice, reason=sessions.ROLE_REMOVED, keep_token=mine[0], actor=bob
    )

    assert ended == 2
    assert await sessions.resolve(mine[0]) is not None and await sessions.resolve(his) is not None
    assert [await sessions.resolve(token) for token in mine[1:]] == [None, None]
    [event] = await AuditEvent.filter(action="sessions.ended")
    assert event.actor_id == bob.id and event.object_id == str(alice.id)
    assert event.after == {"reason": "role_removed", "count": 2}
    lines = await sessions.open_sessions(alice, current_token=mine[0])
    assert [line.current for line in lines] == [True]


async def test_a_password_reset_ends_every_session(settings, alice):
    tokens_before = [await sessions.start(alice, settings=settings) for _ in range(2)]
    secret = await tokens.issue("reset", user=alice)
    await accounts.reset_password(token=secret, password="a brand new password")
    assert [await sessions.resolve(token) for token in tokens_before] == [None, None]
    reasons = {row.ended_reason for row in await UserSession.filter(user_id=alice.id)}
    assert reasons == {sessions.PASSWORD_RESET}


async def test_a_password_change_ends_the_other_sessions(settings, demo):
    applicant = await User.get(email="applicant1@demo.prevention-prize.eu")
    here = await sessions.start(applicant, settings=settings)
    elsewhere = await sessions.start(applicant, settings=settings)
    await accounts.change_password(
        applicant,
        current_password=DEMO_PASSWORD,
        new_password="a brand new password",
        keep_token=here,
    )
    assert await sessions.resolve(here) is not None
    assert await sessions.resolve(elsewhere) is None
    assert (await stored(elsewhere)).ended_reason == sessions.PASSWORD_CHANGED


async def test_a_rehash_at_log_in_no_longer_ends_other_sessions(settings, alice):
    heavy = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
    old_hash = alice.password_hash = heavy.hash("old password 1")
    await alice.save()
    before = await sessions.start(alice, settings=settings)
    await accounts.authenticate(
        settings=settings, email=alice.email, password="old password 1", ip="192.0.2.1"
    )
    await alice.refresh_from_db()
    assert alice.password_hash != old_hash  # made again with today's parameters
    assert await sessions.resolve(before) is not None  # same password: nobody is logged out


@pytest.mark.parametrize(
    ("user_agent", "words"),
    [
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Linux",
        ),
        ("curl/8.5.0", "Unknown browser"),
        ("", "Unknown browser"),
    ],
)
def test_a_session_names_its_browser_and_system_in_words(user_agent, words):
    assert sessions.describe_device(user_agent) == words
