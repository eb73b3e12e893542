"""The edition's dashboard: applications by status, country, category and language, submissions
per day up to the deadline, review progress per juror and per panel.

Every figure is counted by the database (GROUP BY), a few rows per query whatever the number of
applications. Status counts every application, drafts included; country, category and language
count the applications sent in (every status but draft). Submissions per day are grouped by UTC
hour in the database and the hours put into days of the edition's time zone here (exact for
every zone whose offset is a whole number of hours).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pypika_tortoise.enums import Dialects
from pypika_tortoise.terms import Function as SqlFunction
from tortoise.expressions import Function, Q
from tortoise.functions import Count

from grants.i18n import dates, translated
from grants.i18n import gettext as _
from grants.i18n.labels import country_name, juror_name, label
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Category,
    Edition,
    Panel,
    PanelMember,
    ReviewStatus,
    User,
)
from grants.services.permissions import require_organiser

MAX_DAYS = 731  # the longest stretch of days the chart shows (the last ones)


class _UtcHourSql(SqlFunction):
    """A moment's UTC hour as text, "2027-01-29 10", in each backend's words. Tortoise stores
    moments in UTC: as ISO text on SQLite, as timestamptz on PostgreSQL."""

    def __init__(self, term: Any, alias: str | None = None) -> None:
        super().__init__("UTC_HOUR", term, alias=alias)

    def get_function_sql(self, ctx: Any) -> str:
        column = self.get_arg_sql(self.args[0], ctx)
        if ctx.dialect == Dialects.POSTGRESQL:
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
        return f"substr({column}, 1, 13)"


class UtcHour(Function):
    database_func = _UtcHourSql


@dataclass
class Share:
    """One bar: what (in words), how many."""

    label: str
    count: int


@dataclass
class JurorProgress:
    name: str
    panel: str
    panel_id: int
    assigned: int
    drafts: int
    submitted: int


@dataclass
class PanelProgress:
    name: str
    jurors: int
    assigned: int
    drafts: int
    submitted: int


@dataclass
class Dashboard:
    edition: Edition
    total: int  # every application, drafts included
    sent_in: int  # every application but drafts
    by_status: list[Share]
    by_country: list[Share]
    by_category: list[Share]
    by_language: list[Share]
    per_day: list[tuple[date, int]]  # each day from the opening to the deadline, in its zone
    deadline: date
    jurors: list[JurorProgress]
    panels: list[PanelProgress]


async def dashboard(user: User, edition: Edition) -> Dashboard:
    """The edition's figures, for its organisers (403 otherwise)."""
    await require_organiser(user, edition)
    by_status = await _counted(edition, "status", drafts=True)
    statuses = {str(getattr(key, "value", key)): n for key, n in by_status.items()}
    order = list(ApplicationStatus)
    deadline = _local_day(edition.closes_at, edition)
    jurors = await juror_progress(edition)
    return Dashboard(
        edition=edition,
        total=sum(statuses.values()),
        sent_in=sum(n for code, n in statuses.items() if code != ApplicationStatus.DRAFT),
        by_status=[Share(label("status", s), statuses[s.value]) for s in order if s in statuses],
        by_country=_shares(await _counted(edition, "group__country"), country_name),
        by_category=await _by_category(edition),
        by_language=_shares(
            await _counted(edition, "language"), lambda code: label("language", code)
        ),
        per_day=await submissions_per_day(edition),
        deadline=deadline,
        jurors=jurors,
        panels=await _panel_progress(edition, jurors),
    )


async def _counted(edition: Edition, column: str, *, drafts: bool = False) -> dict[Any, int]:
    query = Application.filter(edition_id=edition.id)
    if not drafts:
        query = query.exclude(status=ApplicationStatus.DRAFT)
    rows = await query.annotate(n=Count("id")).group_by(column).values(column, "n")
    return {row[column]: row["n"] for row in rows}


def _shares(counts: dict[Any, int], words: Any) -> list[Share]:
    """Largest first, then by name; an empty value as "not given"."""
    shares = [Share(words(key) if key else _("not given"), n) for key, n in counts.items()]
    return sorted(shares, key=lambda s: (-s.count, s.label))


async def _by_category(edition: Edition) -> list[Share]:
    names = {c.id: translated(c.name) for c in await Category.filter(edition_id=edition.id)}
    counts = await _counted(edition, "category_id")
    return _shares(counts, lambda key: names.get(key, str(key)))


def _local_day(moment: datetime, edition: Edition) -> date:
    return moment.astimezone(dates.zone(edition.timezone)).date()


async def submissions_per_day(edition: Edition) -> list[tuple[date, int]]:
    """(day, applications submitted that day) for every day from the opening to the deadline
    (further if some came later), in the edition's time zone; days without any count 0."""
    rows = (
        await Application.filter(edition_id=edition.id, submitted_at__not_isnull=True)
        .annotate(hour=UtcHour("submitted_at"), n=Count("id"))
        .group_by("hour")
        .values("hour", "n")
    )
    days: Counter[date] = Counter()
    for row in rows:
        moment = datetime.strptime(str(row["hour"]), "%Y-%m-%d %H").replace(tzinfo=UTC)
        days[_local_day(moment, edition)] += row["n"]
    first = min([_local_day(edition.opens_at, edition), *days])
    last = max([_local_day(edition.closes_at, edition), *days])
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return [
        (first + timedelta(days=i), days.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


async def juror_progress(edition: Edition) -> list[JurorProgress]:
    """Each juror of each panel: assigned applications, reviews in draft and submitted (one
    grouped query; jurors without assignments count 0)."""
    submitted = Q(review__status=ReviewStatus.SUBMITTED)
    rows = (
        await Assignment.filter(application__edition_id=edition.id)
        .annotate(
            assigned=Count("id"),
            drafts=Count("review__id", _filter=Q(review__status=ReviewStatus.DRAFT)),
            submitted=Count("review__id", _filter=submitted),
        )
        .group_by("juror_id", "panel_id")
        .values("juror_id", "panel_id", "assigned", "drafts", "submitted")
    )
    counts = {(r["juror_id"], r["panel_id"]): r for r in rows}
    members = (
        await PanelMember.filter(panel__edition_id=edition.id)
        .order_by("panel_id", "id")
        .values("user_id", "panel_id", "user__display_name", "user__erased_at", "panel__name")
    )
    result = []
    for member in members:
        row = counts.get((member["user_id"], member["panel_id"]), {})
        name = juror_name(member["user__display_name"], member["user__erased_at"])
        result.append(
            JurorProgress(
                name=name,
                panel=translated(member["panel__name"]),
                panel_id=member["panel_id"],
                assigned=row.get("assigned", 0),
                drafts=row.get("drafts", 0),
                submitted=row.get("submitted", 0),
            )
        )
    return result


async def _panel_progress(edition: Edition, jurors: list[JurorProgress]) -> list[PanelProgress]:
    result = []
    for panel in await Panel.filter(edition_id=edition.id).order_by("id"):
        mine = [j for j in jurors if j.panel_id == panel.id]
        result.append(
            PanelProgress(
                name=translated(panel.name),
                jurors=len(mine),
                assigned=sum(j.assigned for j in mine),
                drafts=sum(j.drafts for j in mine),
                submitted=sum(j.submitted for j in mine),
            )
        )
    return result
