"""Organisers run the call: the list of submitted applications (searched, filtered, sorted and
paged in the database), eligibility decisions and the shortlist (one application or many at once,
after a confirmation), the edition's phases, and one application read in full."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from babel import Locale, UnknownLocaleError
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from grants.i18n import current_locale, ngettext
from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import (
    Application,
    ApplicationStatus,
    Assignment,
    Category,
    DiscussionComment,
    Edition,
    EditionStatus,
    Panel,
    StatusChange,
    User,
)
from grants.services import audit, dossier, lifecycle, outcomes
from grants.services.dossier import DossierFile, ReviewRead
from grants.services.editions import panels_of
from grants.services.errors import ServiceError, refuse_invalid
from grants.services.parsing import clean_text, length_error, parse_id, whole_number
from grants.services.permissions import application_for_organiser, require_organiser
from grants.services.submission import answers_by_key

DECISIONS = {"eligible": ApplicationStatus.ELIGIBLE, "ineligible": ApplicationStatus.INELIGIBLE}
MAX_NOTE = 2000
# Every phase an organiser may choose by hand; results are published from the ranking page.
PHASES = [phase for phase in EditionStatus if phase != EditionStatus.PUBLISHED]


@dataclass
class Overview:
    """The organisers' main page of a call: one page of its applications (not drafts), as the
    list's GET parameters asked, with what the filter form offers."""

    edition: Edition
    query: ListQuery
    problems: list[str]  # parameters that could not be used, in words (they were ignored)
    rows: list[Row]
    total: int  # applications matching the filters, on every page
    pages: int
    choices: Choices
    panels: list[Panel]
    assignments: int  # of the whole call

    @property
    def first(self) -> int:
        """The position of the page's first row among all that match (1-based; 0 if none)."""
        return (self.query.page - 1) * self.query.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


async def overview(
    user: User, edition: Edition, params: Mapping[str, str] | None = None
) -> Overview:
    """A page of the call's applications filtered, searched, sorted and paged by `params` (the
    GET query); values that cannot be used are ignored and said so in `problems`, never an
    error. Filtering, counting and paging happen in the database; the rows' groups, categories
    and jurors come in three queries whatever the page's size."""
    await require_organiser(user, edition)
    choices = await _choices(edition)
    query, problems = read_query(params or {}, choices)
    matching = _matching(edition, query)
    total = await matching.count()
    pages = max(1, -(-total // query.per_page))
    if query.page > pages:
        problems.append(
            ngettext(
                "There is only %(num)s page: this is the last one.",
                "There are only %(num)s pages: this is the last one.",
                pages,
            )
        )
        query = replace(query, page=pages)
    applications = (
        await matching.select_related("group", "category")
        .order_by(*SORTS[query.sort])
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    )
    return Overview(
        edition=edition,
        query=query,
        problems=problems,
        rows=await _rows(list(applications)),
        total=total,
        pages=pages,
        choices=choices,
        panels=choices.panels,
        assignments=await Assignment.filter(application__edition=edition).count(),
    )


@dataclass
class ApplicationFile:
    """One application as organisers read it: the dossier (services/dossier.py)."""

    application: Application
    answers: dict[str, Any]  # by question key
    history: list[StatusChange]
    files: list[DossierFile]  # under their original names
    reviews: list[ReviewRead]  # every juror's, begun or not, with juror names even if blind
    discussion: list[DiscussionComment]


async def application_file(user: User, application_id: int, *, ip: str = "") -> ApplicationFile:
    """One application as an organiser reads it, with its files, every review and the jury's
    discussion; every read is audited."""
    application = await application_for_organiser(user, application_id)
    await audit.record(
        "application.read", actor=user, object_type="application", object_id=application.id, ip=ip
    )
    return ApplicationFile(
        application=application,
        answers=await answers_by_key(application),
        history=await lifecycle.history(application),
        files=await dossier.files_of(application),
        reviews=await dossier.reviews_of(application),
        discussion=await dossier.discussion_of(application),
    )


async def screen(
    user: User, application_id: int, *, decision: str, note: str = "", ip: str = ""
) -> Application:
    """Mark one application eligible or ineligible (a decision can be changed), as the bulk
    action does (`act`); a move its status does not allow is refused with the reason."""
    application = await application_for_organiser(user, application_id)
    if decision not in DECISIONS:
        raise ServiceError(_("Choose eligible or ineligible."))
    done = await act(
        user,
        application.edition,
        action=decision,
        reason=note,
        ids=[str(application.id)],
        ip=ip,
    )
    if done.skipped:
        raise ServiceError(done.skipped[0].why)
    await application.refresh_from_db(fields=["status", "updated_at"])
    return application


async def set_phase(user: User, edition: Edition, *, phase: str, ip: str = "") -> None:
    await require_organiser(user, edition)
    target = next((p for p in PHASES if p.value == phase), None)
    if target is None:
        raise ServiceError(_("Unknown phase."))
    async with in_transaction():
        await lifecycle.move_edition(edition, target, actor=user, ip=ip)


# --- The list: search, filters, sorting, pages ------------------------------------------------

# The sort orders the list offers, by their GET value; the reference breaks ties, so a page
# never shows a row twice or skips one.
SORTS: dict[str, tuple[str, ...]] = {
    "reference": ("reference",),
    "-reference": ("-reference",),
    "submitted": ("submitted_at", "reference"),
    "-submitted": ("-submitted_at", "-reference"),
    "title": ("title", "reference"),
    "-title": ("-title", "-reference"),
    "country": ("group__country", "reference"),
    "-country": ("-group__country", "-reference"),
}
PAGE_SIZES = (25, 50, 100, 200)
MAX_SEARCH = 200
LISTED = [status for status in ApplicationStatus if status != ApplicationStatus.DRAFT]


@dataclass(frozen=True)
class ListQuery:
    """What the organiser asked the list for (its GET parameters); the defaults show all."""

    q: str = ""  # in the reference, the title or the group's name
    status: str = ""
    country: str = ""
    category: int | None = None
    language: str = ""
    panel: int | None = None
    sort: str = "reference"
    per_page: int = 50
    page: int = 1

    def params(self, **changes: object) -> dict[str, str]:
        """The query as GET parameters, without its defaults (`changes` applied first): for the
        list's links (sorting, pages) and the hidden fields that bring it back after an action."""
        values = {**asdict(self), **changes}
        defaults = asdict(ListQuery())
        return {key: str(v) for key, v in values.items() if v not in (None, "", defaults[key])}

    @property
    def filtered(self) -> bool:
        return any((self.q, self.status, self.country, self.category, self.language, self.panel))


LIST_FIELDS = tuple(asdict(ListQuery()))  # the list's GET parameters


@dataclass
class Choices:
    """What the filter form offers: the call's own countries, categories, languages, panels."""

    countries: list[tuple[str, str]]  # (code, name in the reader's language)
    categories: list[Category]
    languages: list[str]
    panels: list[Panel]


@dataclass
class Row:
    """One application in the list, with what its row shows."""

    application: Application
    jurors: list[Assignment]  # with their juror and panel
    reason: str  # the latest status change's note: why it is not eligible


def country_name(code: str) -> str:
    """A country's name in the reader's language (the code itself when unknown)."""
    try:
        name = Locale.parse(current_locale.get()).territories.get(code)
    except (ValueError, UnknownLocaleError):
        name = None
    return name or code


async def _choices(edition: Edition) -> Choices:
    submitted = Application.filter(edition=edition).exclude(status=ApplicationStatus.DRAFT)
    countries = await submitted.distinct().values_list("group__country", flat=True)
    languages = await submitted.distinct().values_list("language", flat=True)
    return Choices(
        countries=sorted(
            ((str(code), country_name(str(code))) for code in countries if code),
            key=lambda pair: pair[1],
        ),
        categories=await Category.filter(edition=edition).order_by("id"),
        languages=sorted(str(code) for code in languages),
        panels=await panels_of(edition),
    )


def _id_among(text: str, ids: set[int]) -> int | None:
    number = parse_id(text)
    return number if number in ids else None


def read_query(params: Mapping[str, str], choices: Choices) -> tuple[ListQuery, list[str]]:
    """The list's query from its GET parameters, and a sentence for each value that cannot be
    used (a status that does not exist, a page that is no number...): that value is ignored."""
    text = {key: clean_text(str(params.get(key, ""))).strip() for key in asdict(ListQuery())}
    problems: list[str] = []
    fields: dict[str, object] = {"q": text["q"][:MAX_SEARCH]}
    readers: dict[str, tuple[str, Callable[[str], object]]] = {
        "status": (_("Status"), lambda v: v if v in LISTED else None),
        "country": (
            _("Country"),
            lambda v: v.upper() if v.upper() in dict(choices.countries) else None,
        ),
        "category": (_("Category"), lambda v: _id_among(v, {c.id for c in choices.categories})),
        "language": (_("Language"), lambda v: v if v in choices.languages else None),
        "panel": (_("Panel"), lambda v: _id_among(v, {p.id for p in choices.panels})),
        "sort": (_("Sort by"), lambda v: v if v in SORTS else None),
        "per_page": (_("Per page"), lambda v: n if (n := whole_number(v)) in PAGE_SIZES else None),
        "page": (_("Page"), lambda v: whole_number(v, 1)),
    }
    for key, (name, read) in readers.items():
        if not text[key]:
            continue
        value = read(text[key])
        if value is None:
            problems.append(
                _(
                    "“%(value)s” cannot be used for “%(field)s”: it was ignored.",
                    value=text[key][:40],
                    field=name,
                )
            )
        else:
            fields[key] = value
    return ListQuery(**fields), problems  # type: ignore[arg-type]


def _matching(edition: Edition, query: ListQuery) -> QuerySet[Application]:
    """The call's applications (drafts apart) that match the query's search and filters."""
    matching = Application.filter(edition=edition).exclude(status=ApplicationStatus.DRAFT)
    if query.q:
        matching = matching.filter(
            Q(reference__icontains=query.q)
            | Q(title__icontains=query.q)
            | Q(group__name__icontains=query.q)
        )
    if query.status:
        matching = matching.filter(status=query.status)
    if query.country:
        matching = matching.filter(group__country=query.country)
    if query.category:
        matching = matching.filter(category_id=query.category)
    if query.language:
        matching = matching.filter(language=query.language)
    if query.panel:
        on_panel = Assignment.filter(panel_id=query.panel).values("application_id")
        matching = matching.filter(id__in=Subquery(on_panel))
    return matching


async def _rows(applications: list[Application]) -> list[Row]:
    ids = [a.id for a in applications]
    jurors: dict[int, list[Assignment]] = {i: [] for i in ids}
    for assignment in (
        await Assignment.filter(application_id__in=ids)
        .select_related("juror", "panel")
        .order_by("panel_id", "id")
    ):
        jurors[assignment.application_id].append(assignment)
    turned_down = [a for a in applications if a.status == ApplicationStatus.INELIGIBLE]
    reasons = await outcomes.latest_notes(turned_down) if turned_down else {}
    return [Row(a, jurors[a.id], reasons.get(a.id, "")) for a in applications]


# --- Bulk actions: eligible, ineligible with a reason, shortlisted -----------------------------

ACTIONS: dict[str, ApplicationStatus] = {
    "eligible": ApplicationStatus.ELIGIBLE,
    "ineligible": ApplicationStatus.INELIGIBLE,
    "shortlist": ApplicationStatus.SHORTLISTED,
}
AUDITED = {  # the audit event each writes, per application
    "eligible": "application.screen",
    "ineligible": "application.screen",
    "shortlist": "application.shortlist",
}
MAX_BULK = 2000  # applications one action may change (the confirmation carries their ids)
SHOWN = 30  # references named in a sentence before "and n more"


@dataclass
class Skipped:
    """Selected applications left as they are, and why, in words."""

    status: ApplicationStatus
    references: list[str]
    why: str


@dataclass
class Plan:
    """What a bulk action does (before it is confirmed) or did (after): which applications
    change, which already had the status, which were skipped and why."""

    action: str
    target: ApplicationStatus
    reason: str
    changing: list[Application]  # by reference
    unchanged: list[Application]  # already had the target status
    skipped: list[Skipped]
    selected: list[int]  # the ids asked for
    missing: int = 0  # selected ids that are no application of this call (or a draft)

    @property
    def ids(self) -> str:
        """The selection, for the confirmation's hidden field: the action checks each again."""
        return ",".join(str(number) for number in self.selected)

    @property
    def languages(self) -> list[tuple[str, int]]:
        """The languages the changing applications are written in, with how many of each."""
        counts: dict[str, int] = {}
        for application in self.changing:
            counts[application.language] = counts.get(application.language, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])

    def summary(self) -> list[str]:
        """What happened, sentence by sentence (for the flash message after the action)."""
        status = label("status", self.target)
        lines = [
            ngettext(
                "%(num)s application marked “%(status)s”.",
                "%(num)s applications marked “%(status)s”.",
                len(self.changing),
                status=status,
            )
        ]
        lines += self.left_alone()
        return lines

    def left_alone(self) -> list[str]:
        """The sentences about the selected applications that do not (or did not) change."""
        status = label("status", self.target)
        lines = []
        if self.unchanged:
            lines.append(
                ngettext(
                    "%(num)s already was “%(status)s”: %(refs)s.",
                    "%(num)s already were “%(status)s”: %(refs)s.",
                    len(self.unchanged),
                    status=status,
                    refs=named([a.reference for a in self.unchanged]),
                )
            )
        lines += [s.why for s in self.skipped]
        if self.missing:
            lines.append(
                ngettext(
                    "%(num)s selected application is not one of this call's: skipped.",
                    "%(num)s selected applications are not this call's: skipped.",
                    self.missing,
                )
            )
        return lines


def named(references: list[str]) -> str:
    """References for a sentence: the first SHOWN, then how many more."""
    if len(references) <= SHOWN:
        return ", ".join(references)
    more = len(references) - SHOWN
    return ", ".join(references[:SHOWN]) + " " + _("and %(n)s more", n=more)


def _selected_ids(texts: list[str]) -> list[int]:
    """The application ids sent (ticked boxes, or the confirmation's comma-separated field),
    in order and once each; anything that cannot be an id is dropped."""
    seen: dict[int, None] = {}
    for text in texts:
        for part in text.split(","):
            number = parse_id(part)
            if number is not None:
                seen[number] = None
    return list(seen)


def _checked(action: str, reason: str, count: int) -> ApplicationStatus:
    errors: dict[str, str] = {}
    target = ACTIONS.get(action)
    if target is None:
        errors["action"] = _("Choose what to do with the selected applications.")
    if target == ApplicationStatus.INELIGIBLE and not reason.strip():
        errors["reason"] = _("Write the reason the groups will be told.")
    too_long = length_error(reason.strip(), MAX_NOTE)
    if too_long:
        errors["reason"] = too_long
    if not count:
        errors["application"] = _("Tick at least one application, or choose all that match.")
    elif count > MAX_BULK:
        errors["application"] = _(
            "Choose at most %(n)s applications at a time (now %(now)s): narrow the filters.",
            n=MAX_BULK,
            now=count,
        )
    refuse_invalid(errors)
    assert target is not None
    return target


def _sorted_out(
    action: str, target: ApplicationStatus, reason: str, found: list[Application], asked: list[int]
) -> Plan:
    told = reason.strip() if target == ApplicationStatus.INELIGIBLE else ""  # only a refusal's
    plan = Plan(action, target, told, [], [], [], asked, len(asked) - len(found))
    refused: dict[ApplicationStatus, list[str]] = {}
    for application in found:
        if application.status == target:
            plan.unchanged.append(application)
        elif lifecycle.can_move(application.status, target):
            plan.changing.append(application)
        else:
            refused.setdefault(application.status, []).append(application.reference)
    for status, references in refused.items():
        why = ngettext(
            "%(num)s was skipped, an application that is “%(before)s” cannot become "
            "“%(after)s”: %(refs)s.",
            "%(num)s were skipped, an application that is “%(before)s” cannot become "
            "“%(after)s”: %(refs)s.",
            len(references),
            before=label("status", status),
            after=label("status", target),
            refs=named(references),
        )
        plan.skipped.append(Skipped(status, references, why))
    return plan


async def plan(
    user: User,
    edition: Edition,
    *,
    action: str,
    reason: str,
    ids: list[str],
    everything: bool = False,
    params: Mapping[str, str] | None = None,
) -> Plan:
    """What a bulk action would do, for its confirmation page; nothing changes. `ids` are the
    ticked applications; `everything` takes instead all that match the list's `params`."""
    await require_organiser(user, edition)
    if everything:
        query, _problems = read_query(params or {}, await _choices(edition))
        matching = _matching(edition, query)
        ordered = matching.order_by(*SORTS[query.sort]).limit(MAX_BULK + 1)
        numbers = cast(list[int], await ordered.values_list("id", flat=True))
        count = len(numbers) if len(numbers) <= MAX_BULK else await matching.count()
    else:
        numbers = _selected_ids(ids)
        count = len(numbers)
    target = _checked(action, reason, count)
    found = await _found(edition, numbers)
    return _sorted_out(action, target, reason, found, numbers)


async def _found(edition: Edition, ids: list[int], *, lock: bool = False) -> list[Application]:
    query = Application.filter(edition=edition, id__in=ids).exclude(status=ApplicationStatus.DRAFT)
    if lock:
        query = query.select_for_update()
    return list(await query.order_by("reference"))


async def act(
    user: User, edition: Edition, *, action: str, reason: str, ids: list[str], ip: str = ""
) -> Plan:
    """Do a bulk action on the applications `ids` (as the confirmation carries them) in one
    transaction: each one whose status allows it moves (its history line and audit event
    written), the others are reported in the returned plan, never changed."""
    await require_organiser(user, edition)
    numbers = _selected_ids(ids)
    target = _checked(action, reason, len(numbers))
    async with in_transaction():
        found = await _found(edition, numbers, lock=True)
        done = _sorted_out(action, target, reason, found, numbers)
        note = done.reason[:MAX_NOTE]
        befores = await lifecycle.move_many(done.changing, target, actor=user, note=note)
        await audit.record_many(
            AUDITED[action],
            actor=user,
            object_type="application",
            changes=[
                (a.id, {"status": before}, {"status": target, "note": note})
                for a, before in zip(done.changing, befores, strict=True)
            ],
            ip=ip,
        )
    return done
