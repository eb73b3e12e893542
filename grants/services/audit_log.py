"""Reading the audit trail: an edition's events for its organisers, every event for site
administrators; filtered (who, what, which application, when), newest first, a page at a time,
or all of them as CSV.

How an event belongs to an edition. `services/audit.record` names an object (`object_type`,
`object_id`, the id as text); an event concerns the edition when its object is, in the database:
the edition itself, one of its applications, panels or jury memberships, or an assignment, a
review or a file of one of its applications (TIES below: one `IN (SELECT CAST(id AS VARCHAR)
...)` per kind, all in one query). Events on people, sessions and groups (which apply to several
calls) belong to no edition: only administrators read them, on the site-wide log. An assignment
deleted since (removed by hand, dropped by a run) can no longer be joined: its events show on the
site-wide log, and the run that dropped it (`assignment.run`, on the panel) on the edition's.

IP addresses are shown to administrators only (docs/privacy.md); organisers see who, what, which
object and when.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pypika_tortoise import functions as sql
from tortoise.expressions import Function, Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from grants.i18n import dates, translated
from grants.i18n import gettext as _
from grants.i18n.labels import N_, label
from grants.models import (
    Application,
    Assignment,
    Attachment,
    AuditEvent,
    Edition,
    Group,
    Panel,
    PanelMember,
    Review,
    User,
)
from grants.services import audit
from grants.services.editions import application_by_reference
from grants.services.errors import InvalidInput, PermissionDenied
from grants.services.exports import Row, Table
from grants.services.parsing import clean_text, length_error, max_length, whole_number
from grants.services.permissions import require_organiser

PAGE_SIZE = 50
BATCH = 500  # events per query of the CSV export
DETAILS_SHOWN = 300  # characters of an event's before/after on the page (the CSV has them all)
FIELDS = ("who", "action", "reference", "from", "to")  # the filter form's GET parameters
ACTION = re.compile(r"[a-z_]+(?:\.[a-z_]+)*")  # what services/audit.record is given

# object_type -> (model, the lookup from it to its edition's id, to its application's id)
TIES: dict[str, tuple[type[Model], str, str | None]] = {
    "edition": (Edition, "id", None),
    "application": (Application, "edition_id", "id"),
    "panel": (Panel, "edition_id", None),
    "panel_member": (PanelMember, "panel__edition_id", None),
    "assignment": (Assignment, "application__edition_id", "application_id"),
    "review": (Review, "assignment__application__edition_id", "assignment__application_id"),
    "attachment": (Attachment, "application__edition_id", "application_id"),
}


class _AsText(Function):
    """CAST(column AS VARCHAR): `object_id` is text, the ids it names are numbers (PostgreSQL
    compares neither without a cast)."""

    database_func = sql.Cast


def _ids_as_text(model: type[Model], **lookup: int) -> Subquery:
    query: QuerySet[Any] = model.filter(**lookup).annotate(key=_AsText("id", "VARCHAR"))
    return Subquery(query.values("key"))


def concerning_edition(edition_id: int) -> Q:
    """Events whose object is the edition or one of its parts (the module's docstring)."""
    return Q(
        *(
            Q(object_type=kind, object_id__in=_ids_as_text(model, **{to_edition: edition_id}))
            for kind, (model, to_edition, _to_application) in TIES.items()
        ),
        join_type="OR",
    )


def concerning_application(application_id: int) -> Q:
    """Events whose object is the application, one of its assignments, reviews or files."""
    return Q(
        *(
            Q(object_type=kind, object_id__in=_ids_as_text(model, **{path: application_id}))
            for kind, (model, _to_edition, path) in TIES.items()
            if path
        ),
        join_type="OR",
    )


@dataclass(frozen=True)
class Filters:
    """What the reader asked for; every field optional. `since` and `until` are whole days in
    the log's time zone (the edition's, or UTC site-wide), both included."""

    who: str = ""
    action: str = ""
    reference: str = ""
    since: date | None = None
    until: date | None = None

    def as_params(self) -> dict[str, str]:
        """The filters as the form's GET parameters (for the page links and the CSV link)."""
        values = {
            "who": self.who,
            "action": self.action,
            "reference": self.reference,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


async def action_choices(user: User, edition: Edition | None) -> list[tuple[str, str]]:
    """The actions the log holds (the edition's, or the site's) as (code, words in the reader's
    language), by their words: the choices of the "what" filter."""
    await _allowed(user, edition)
    query = AuditEvent.filter(concerning_edition(edition.id)) if edition else AuditEvent.all()
    codes = [str(code) for code in await query.distinct().values_list("action", flat=True)]
    return sorted(((code, label("action", code)) for code in codes), key=lambda c: c[1].lower())


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if len(text) == 10 and text[4] == "-" else None


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The filters from the form's parameters (the GET query); InvalidInput names each field that
    cannot be read, in the reader's language."""
    text = {key: clean_text(str(params.get(key, ""))).strip() for key in FIELDS}
    errors: dict[str, str] = {}
    too_long = length_error(text["who"], max_length(User, "email"))
    if too_long:
        errors["who"] = too_long
    if text["action"] and not ACTION.fullmatch(text["action"]):
        errors["action"] = _("Choose an action from the list.")
    if len(text["reference"]) > max_length(Application, "reference"):
        errors["reference"] = _("No application of this call has this reference.")
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        try:
            days[key] = _day(text[key]) if text[key] else None
        except ValueError:
            days[key] = None
        if text[key] and days[key] is None:
            errors[key] = _("Enter a date as year-month-day, for example 2027-01-29.")
    since, until = days.get("from"), days.get("to")
    if since and until and since > until:
        errors["to"] = _("The end date cannot be before the start date.")
    if errors:
        raise InvalidInput(errors)
    return Filters(text["who"], text["action"], text["reference"].upper(), since, until)


def _zone_of(edition: Edition | None) -> str:
    return edition.timezone if edition else "UTC"


def _start_of(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=dates.zone(zone)).astimezone(UTC)


async def _allowed(user: User, edition: Edition | None) -> None:
    if edition is not None:
        await require_organiser(user, edition)
    elif not user.is_admin:
        raise PermissionDenied(_("Only site administrators can read the whole audit log."))


async def _query(edition: Edition | None, filters: Filters) -> QuerySet[AuditEvent]:
    query = AuditEvent.all()
    if edition is not None:
        query = query.filter(concerning_edition(edition.id))
    if filters.reference:
        if edition is not None:
            application = await application_by_reference(edition, filters.reference)
        else:
            found = await Application.get_or_none(reference=filters.reference)
            if found is None:
                raise InvalidInput({"reference": _("No application has this reference.")})
            application = found
        query = query.filter(concerning_application(application.id))
    if filters.who:
        query = query.filter(
            Q(actor__email__icontains=filters.who) | Q(actor__display_name__icontains=filters.who)
        )
    if filters.action:
        query = query.filter(action=filters.action)
    zone = _zone_of(edition)
    if filters.since:
        query = query.filter(at__gte=_start_of(filters.since, zone))
    if filters.until:
        query = query.filter(at__lt=_start_of(filters.until + timedelta(days=1), zone))
    return query


@dataclass
class EventRow:
    """One event as people read it."""

    id: int
    at: datetime
    when: str  # the local time, the zone named
    who: str
    email: str
    action: str
    action_label: str
    about: str
    details: str
    ip: str | None  # None: not for this reader's eyes


@dataclass
class AuditPage:
    edition: Edition | None
    filters: Filters
    rows: list[EventRow]
    total: int
    page: int
    pages: int
    show_ip: bool
    actions: list[tuple[str, str]]


def _page_number(text: str) -> int:
    if not text:
        return 1
    number = whole_number(text, 1)
    if number is None:
        raise InvalidInput({"page": _("There is no such page.")})
    return number


async def audit_page(
    user: User, edition: Edition | None, params: Mapping[str, str], *, page: str = ""
) -> AuditPage:
    """A page of the log (`edition` None: the whole site, for administrators), newest first; a
    page beyond the last shows the last."""
    await _allowed(user, edition)
    filters = parse_filters(params)
    number = _page_number(page)
    query = await _query(edition, filters)
    total = await query.count()
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    events = (
        await query.order_by("-id")
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .select_related("actor")
    )
    rows = await _rows(events, zone=_zone_of(edition), show_ip=user.is_admin)
    actions = await action_choices(user, edition)
    return AuditPage(edition, filters, rows, total, number, pages, user.is_admin, actions)


async def audit_export(
    user: User, edition: Edition | None, params: Mapping[str, str], *, ip: str = ""
) -> Table:
    """Every event the filters select, newest first, as a table for `exports.csv_chunks`; the
    export itself is audited."""
    await _allowed(user, edition)
    filters = parse_filters(params)
    query = await _query(edition, filters)
    await audit.record(
        "audit.export",
        actor=user,
        object_type="edition" if edition else "",
        object_id=edition.id if edition else "",
        after=filters.as_params(),
        ip=ip,
    )
    header = [
        _("Date and time"),
        _("Who"),
        _("Email"),
        _("Action"),
        _("Code"),
        _("About"),
        _("Details"),
    ]
    if user.is_admin:
        header.append(_("IP address"))
    return Table(_("Audit log"), header, _export_rows(query, edition, show_ip=user.is_admin))


async def _export_rows(
    query: QuerySet[AuditEvent], edition: Edition | None, *, show_ip: bool
) -> AsyncIterator[Row]:
    last: int | None = None
    while True:
        batch_query = query.filter(id__lt=last) if last is not None else query
        events = await batch_query.order_by("-id").limit(BATCH).select_related("actor")
        if not events:
            return
        for row in await _rows(events, zone=_zone_of(edition), show_ip=show_ip, cut=False):
            cells: Row = [row.when, row.who, row.email, row.action_label, row.action]
            cells += [row.about, row.details]
            if show_ip:
                cells.append(row.ip)
            yield cells
        last = events[-1].id


def _details(event: AuditEvent) -> str:
    parts = {k: v for k, v in (("before", event.before), ("after", event.after)) if v is not None}
    return json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str) if parts else ""


async def _rows(
    events: list[AuditEvent], *, zone: str, show_ip: bool, cut: bool = True
) -> list[EventRow]:
    about = await _describe(events)
    rows = []
    for event in events:
        actor = event.actor
        details = _details(event)
        if cut and len(details) > DETAILS_SHOWN:
            details = details[: DETAILS_SHOWN - 1] + "…"
        rows.append(
            EventRow(
                id=event.id,
                at=event.at,
                when=dates.in_zone(event.at, zone, seconds=True),
                who=actor.display_name if actor else _("nobody signed in"),
                email=actor.email if actor and not actor.erased_at else "",
                action=event.action,
                action_label=label("action", event.action),
                about=about.get(event.id, ""),
                details=details,
                ip=event.ip if show_ip else None,
            )
        )
    return rows


def _numbers(events: list[AuditEvent], kind: str) -> set[int]:
    found = set()
    for event in events:
        if event.object_type == kind:
            number = whole_number(event.object_id, 1)
            if number is not None:
                found.add(number)
        if kind == "application" and event.object_type == "assignment":
            # a deleted assignment names its application in `before`
            number = whole_number(str((event.before or {}).get("application", "")), 1)
            if number is not None:
                found.add(number)
    return found


# object_type -> (model, the column that names it, how a page words it)
NAMED: dict[str, tuple[type[Model], str, str]] = {
    "application": (Application, "reference", "%(name)s"),
    "assignment": (Assignment, "application__reference", N_("assignment to %(name)s")),
    "review": (Review, "assignment__application__reference", N_("review of %(name)s")),
    "attachment": (Attachment, "application__reference", N_("a file of %(name)s")),
    "panel": (Panel, "name", "%(name)s"),
    "panel_member": (PanelMember, "user__display_name", N_("juror %(name)s")),
    "edition": (Edition, "title", "%(name)s"),
    "user": (User, "display_name", "%(name)s"),
    "group": (Group, "name", "%(name)s"),
}


async def _names(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """The words for each object the events name: (object_type, id) -> words, a query a kind."""
    names: dict[tuple[str, int], str] = {}
    for kind, (model, column, words) in NAMED.items():
        ids = _numbers(events, kind)
        if not ids:
            continue
        for number, name in await model.filter(id__in=ids).values_list("id", column):
            text = translated(name)  # a panel's or an edition's name in the reader's language
            names[kind, number] = _(words, name=text) if words != "%(name)s" else text
    return names


async def _describe(events: list[AuditEvent]) -> dict[int, str]:
    """Each event's object in words ("EPP-2027-0001", "review of EPP-2027-0001")."""
    names = await _names(events)
    described = {}
    for event in events:
        number = whole_number(event.object_id, 1)
        words = names.get((event.object_type, number)) if number is not None else None
        if words is None and event.object_type == "assignment":
            gone = whole_number(str((event.before or {}).get("application", "")), 1)
            ref = names.get(("application", gone)) if gone is not None else None
            words = _("a removed assignment to %(ref)s", ref=ref) if ref else None
        described[event.id] = words or " ".join(
            part for part in (event.object_type, event.object_id) if part
        )
    return described
