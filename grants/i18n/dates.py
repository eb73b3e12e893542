"""Moments shown to people: a UTC datetime in a named time zone, the zone always named.

The one home for formatting local time (pages, mails, flash messages). A zone name that is not
a real zone falls back to UTC, named as such, so nobody has to guess which clock is meant.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


def _zone(name: str) -> tuple[tzinfo, str]:
    try:
        return ZoneInfo(name), name
    except (KeyError, ValueError):
        return UTC, "UTC"


def zone(name: str) -> tzinfo:
    """The time zone called `name`; UTC for a name that is not a real zone."""
    return _zone(name)[0]


def in_zone(moment: datetime | None, zone: str = "UTC", *, seconds: bool = False) -> str:
    """Date and time in `zone` with the zone named ("2027-01-29 11:20 Europe/Paris"); a receipt
    states the second too."""
    if moment is None:
        return ""
    tz, name = _zone(zone)
    return (
        moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S " if seconds else "%Y-%m-%d %H:%M ")
        + name
    )


def clock(moment: datetime, zone: str = "UTC") -> str:
    """The hour and minute in `zone` with the zone named ("14:05 Europe/Paris")."""
    tz, name = _zone(zone)
    return moment.astimezone(tz).strftime("%H:%M ") + name


def machine(moment: datetime | None) -> str:
    """The moment for machines (`<time datetime>`): UTC, to the second. HTML allows at most three
    digits of a second, and nobody needs more."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds")
