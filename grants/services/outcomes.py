"""Telling the groups: outcome mails previewed, then released by an organiser, never before.

An outcome (eligible, ineligible with the reason, shortlisted, awarded, not awarded) follows
from an application's status. Nothing is mailed when a status changes: the organiser reads on
the console how many groups will get which mail and a preview in each language, then releases
one kind of mail; only then are the mails queued in the outbox. Each application gets each
outcome once (an OutcomeNotice row, unique per application and kind), so releasing again
mails only the groups that were not told yet.

A group's language is the language of its lead's account: the account that created the
application, whose language (English, French or Russian) every other mail to that person uses
too. The application's own language is not used: groups often write in English for the jury
while they read the site in their own language.

Texts: each edition may replace the subject and body of each mail in each language; placeholders
are named ({group}, {reference}, ...) and checked when saved. A language without a text of its
own uses the default text, translated through gettext.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n.labels import N_
from grants.mail import Links, one_line, queue_email
from grants.models import (
    Application,
    ApplicationStatus,
    Award,
    Edition,
    GroupMember,
    MailText,
    OutcomeKind,
    OutcomeNotice,
    StatusChange,
    User,
)
from grants.services import audit
from grants.services.errors import InvalidInput, ServiceError, refuse_invalid
from grants.services.parsing import length_error
from grants.services.permissions import require_organiser

K = OutcomeKind
S = ApplicationStatus
KINDS: tuple[OutcomeKind, ...] = tuple(OutcomeKind)
MAIL_LANGUAGES: tuple[str, ...] = tuple(i18n.LANGUAGES)  # en, fr, ru
MAX_SUBJECT = 200
MAX_BODY = 10_000

# Which applications an outcome is told to: those whose status is one of these now.
STATUSES: dict[OutcomeKind, tuple[ApplicationStatus, ...]] = {
    K.ELIGIBLE: (S.ELIGIBLE, S.IN_REVIEW),
    K.INELIGIBLE: (S.INELIGIBLE,),
    K.SHORTLISTED: (S.SHORTLISTED,),
    K.AWARDED: (S.AWARDED,),
    K.NOT_AWARDED: (S.NOT_AWARDED,),
}

COMMON_PLACEHOLDERS = ("group", "reference", "title", "call", "link")
PLACEHOLDERS: dict[OutcomeKind, tuple[str, ...]] = {
    kind: COMMON_PLACEHOLDERS + {K.INELIGIBLE: ("reason",), K.AWARDED: ("award",)}.get(kind, ())
    for kind in KINDS
}

KIND_NAMES: dict[OutcomeKind, str] = {
    K.ELIGIBLE: N_("Eligible"),
    K.INELIGIBLE: N_("Not eligible, with the reason"),
    K.SHORTLISTED: N_("Shortlisted"),
    K.AWARDED: N_("Awarded"),
    K.NOT_AWARDED: N_("Not awarded"),
}

# The default texts, (subject, body), translated when used. Placeholders in braces.
DEFAULTS: dict[OutcomeKind, tuple[str, str]] = {
    K.ELIGIBLE: (
        N_("{reference}: your application is eligible"),
        N_(
            "Hello {group},\n\nwe have checked your application {reference} “{title}” to {call}: "
            "it is eligible. The jury will now assess it, and we will write to you again when "
            "the results are known.\n\nYour application: {link}\n"
        ),
    ),
    K.INELIGIBLE: (
        N_("{reference}: your application is not eligible"),
        N_(
            "Hello {group},\n\nwe have checked your application {reference} “{title}” to {call}. "
            "We are sorry: it is not eligible, for this reason:\n\n{reason}\n\nIf you have a "
            "question, write to us on your application's page: {link}\n"
        ),
    ),
    K.SHORTLISTED: (
        N_("{reference}: your project is on the shortlist"),
        N_(
            "Hello {group},\n\ncongratulations: the jury has put your application {reference} "
            "“{title}” to {call} on its shortlist. The final decision follows; please keep this "
            "news to yourselves until the results are published.\n\nYour application: {link}\n"
        ),
    ),
    K.AWARDED: (
        N_("{reference}: your project receives an award"),
        N_(
            "Hello {group},\n\ncongratulations! Your project {reference} “{title}” receives an "
            "award in {call}: {award}.\n\nWe will write to you soon about the ceremony.\n\n"
            "Your application: {link}\n"
        ),
    ),
    K.NOT_AWARDED: (
        N_("{reference}: the results of {call}"),
        N_(
            "Hello {group},\n\nthank you for taking part in {call}. The jury has made its "
            "decision: your project {reference} “{title}” does not receive an award this time. "
            "We hope to read your next project.\n\nYour application: {link}\n"
        ),
    ),
}


def kind_of(code: str) -> OutcomeKind | None:
    return next((kind for kind in KINDS if kind.value == code), None)


def kind_name(kind: OutcomeKind) -> str:
    return _(KIND_NAMES[kind])


# --- Placeholders ---------------------------------------------------------------------------


def placeholder_error(text: str, kind: OutcomeKind) -> str | None:
    """Why a text's placeholders cannot be filled for this mail, in words; None when they can.

    Placeholders are {name}; a brace itself is written {{ or }}."""
    allowed = PLACEHOLDERS[kind]
    names = ", ".join("{" + name + "}" for name in allowed)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return _("A brace { or } has no partner. Write {{ or }} for a brace itself.")
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            return _(
                "Unknown placeholder {%(name)s}: this mail can use %(names)s.",
                name=name,
                names=names,
            )
        if spec or conversion:
            return _("Write placeholders as {name}, without “:” or “!”.")
    return None


def fill(text: str, values: dict[str, str]) -> str:
    """The text with each {name} replaced by its value (checked by `placeholder_error` first)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)


# --- Texts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """The subject and body one mail uses in one language; `own` when the edition wrote it."""

    subject: str
    body: str
    own: bool


def default_text(kind: OutcomeKind, language: str) -> Text:
    subject, body = DEFAULTS[kind]
    with i18n.speaking(language):
        return Text(_(subject), _(body), own=False)


async def texts_of(edition: Edition) -> dict[tuple[OutcomeKind, str], Text]:
    """Every mail's text in every language: the edition's own, else the translated default."""
    own = {(t.kind, t.language): t for t in await MailText.filter(edition=edition)}
    texts = {}
    for kind in KINDS:
        for language in MAIL_LANGUAGES:
            row = own.get((kind, language))
            texts[kind, language] = (
                Text(row.subject, row.body, own=True) if row else default_text(kind, language)
            )
    return texts


@dataclass
class TextsForm:
    """The texts of one mail in every language, as the edit page shows them, with a preview
    of each language (the typed texts when `typed` was given, else the saved ones)."""

    kind: OutcomeKind
    values: dict[str, str]  # subject_en, body_en, ... ("" where the default is used)
    defaults: dict[str, Text]  # by language
    placeholders: tuple[str, ...]
    previews: list[Preview]


async def texts_form(
    user: User,
    edition: Edition,
    kind_code: str,
    *,
    links: Links,
    typed: dict[str, str] | None = None,
) -> TextsForm:
    """The edit page of one mail's texts; with `typed`, those texts checked (InvalidInput) and
    previewed without saving."""
    await require_organiser(user, edition)
    kind = _kind_or_refuse(kind_code)
    if typed is None:
        own = {t.language: t for t in await MailText.filter(edition=edition, kind=kind)}
        texts: dict[str, Text | None] = {}
        values = {}
        for language in MAIL_LANGUAGES:
            row = own.get(language)
            values[f"subject_{language}"] = row.subject if row else ""
            values[f"body_{language}"] = row.body if row else ""
            texts[language] = Text(row.subject, row.body, own=True) if row else None
    else:
        texts, values = check_texts(kind, typed), typed
    defaults = {language: default_text(kind, language) for language in MAIL_LANGUAGES}
    candidates = await _candidates(edition, kind)
    previews = [
        _preview(
            edition, kind, language, texts.get(language) or defaults[language], candidates, links
        )
        for language in MAIL_LANGUAGES
    ]
    return TextsForm(kind, values, defaults, PLACEHOLDERS[kind], previews)


def _kind_or_refuse(code: str) -> OutcomeKind:
    kind = kind_of(code)
    if kind is None:
        raise ServiceError(_("Choose one of the outcome mails."))
    return kind


def check_texts(kind: OutcomeKind, typed: dict[str, str]) -> dict[str, Text | None]:
    """The typed texts by language (None: leave it to the default); InvalidInput names each
    field that is wrong (unknown placeholder, missing subject or body, too long)."""
    errors: dict[str, str] = {}
    texts: dict[str, Text | None] = {}
    for language in MAIL_LANGUAGES:
        subject_field, body_field = f"subject_{language}", f"body_{language}"
        subject = one_line(typed.get(subject_field, ""))
        body = typed.get(body_field, "").strip()
        texts[language] = Text(subject, body, own=True) if subject or body else None
        if not (subject or body):
            continue
        if not subject:
            errors[subject_field] = _(
                "Write a subject too, or leave both empty to use the default text."
            )
        if not body:
            errors[body_field] = _(
                "Write the mail too, or leave both empty to use the default text."
            )
        for name, text, limit in (
            (subject_field, subject, MAX_SUBJECT),
            (body_field, body, MAX_BODY),
        ):
            problem = length_error(text, limit) or placeholder_error(text, kind)
            if problem and name not in errors:
                errors[name] = problem
    refuse_invalid(errors)
    return texts


async def save_texts(
    user: User, edition: Edition, *, kind_code: str, typed: dict[str, str], ip: str = ""
) -> OutcomeKind:
    """Save one mail's texts in every language; an empty language goes back to the default."""
    await require_organiser(user, edition)
    kind = _kind_or_refuse(kind_code)
    texts = check_texts(kind, typed)
    async with in_transaction():
        for language, text in texts.items():
            if text is None:
                await MailText.filter(edition=edition, kind=kind, language=language).delete()
                continue
            await MailText.update_or_create(
                edition=edition,
                kind=kind,
                language=language,
                defaults={"subject": text.subject, "body": text.body, "updated_by": user},
            )
        await audit.record(
            "outcome.texts",
            actor=user,
            object_type="edition",
            object_id=edition.id,
            after={"kind": kind.value, "own": sorted(k for k, t in texts.items() if t)},
            ip=ip,
        )
    return kind


# --- Who gets which mail ------------------------------------------------------------------------


def group_language(application: Application) -> str:
    """The language a group is told in: its lead's (see the module's docstring)."""
    lead = application.created_by
    return lead.locale if lead.locale in MAIL_LANGUAGES else i18n.DEFAULT_LANGUAGE


async def latest_notes(applications: Iterable[Application]) -> dict[int, str]:
    """The note of each application's latest status change (an ineligibility's reason)."""
    ids = [a.id for a in applications]
    notes: dict[int, str] = {}
    for change in await StatusChange.filter(application_id__in=ids).order_by("at", "id"):
        notes[change.application_id] = change.note
    return notes


def award_words(award: Award | None) -> str:
    if award is None:
        return ""
    if award.amount_eur:
        amount = f"{award.amount_eur:,}".replace(",", "\u202f")  # 5 000, as people write it
        return _("%(title)s, %(amount)s euros", title=award.title, amount=amount)
    return award.title


@dataclass
class Recipient:
    """One application to tell, with what its mail says."""

    application_id: int
    group_id: int
    reference: str
    title: str
    group: str
    language: str
    reason: str = ""  # the ineligibility's reason ("" when none was recorded)
    award: Award | None = None


async def _candidates(edition: Edition, kind: OutcomeKind) -> list[Recipient]:
    applications = (
        await Application.filter(edition=edition, status__in=STATUSES[kind])
        .select_related("group", "created_by")
        .order_by("reference")
    )
    notes = await latest_notes(applications) if kind == K.INELIGIBLE else {}
    awards = (
        {a.application_id: a for a in await Award.filter(edition=edition)}
        if kind == K.AWARDED
        else {}
    )
    return [
        Recipient(
            application_id=a.id,
            group_id=a.group_id,
            reference=a.reference,
            title=a.title,
            group=a.group.name,
            language=group_language(a),
            reason=notes.get(a.id, "").strip(),
            award=awards.get(a.id),
        )
        for a in applications
    ]


def values_for(recipient: Recipient, edition: Edition, links: Links) -> dict[str, str]:
    """The placeholders' values of one application's mail, in the current language."""
    return {
        "group": recipient.group,
        "reference": recipient.reference,
        "title": recipient.title,
        "call": i18n.translated(edition.title) or edition.slug,
        "link": links("receipt", application_id=recipient.application_id),
        "reason": recipient.reason
        or _("The organisers recorded no reason: ask them on your application's page."),
        "award": award_words(recipient.award),
    }


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def compose(text: Text, values: dict[str, str]) -> Mail:
    return Mail(one_line(fill(text.subject, values)), fill(text.body, values))


# --- The console ----------------------------------------------------------------------------


@dataclass
class Preview:
    language: str
    mail: Mail
    own: bool  # the edition's own text (else the translated default)
    example: str  # the reference the preview was filled with ("" for made-up values)


@dataclass
class KindSummary:
    """One outcome mail on the console: who gets it, in which language, and how it reads."""

    kind: OutcomeKind
    pending: dict[str, int]  # not told yet, by language
    told: int
    without_reason: list[str] = field(default_factory=list)  # references (ineligible only)
    previews: list[Preview] = field(default_factory=list)

    @property
    def pending_total(self) -> int:
        return sum(self.pending.values())


def _example(edition: Edition, kind: OutcomeKind, language: str) -> Recipient:
    """Made-up values for a preview when no application has this outcome yet (in the current
    language)."""
    return Recipient(
        application_id=0,
        group_id=0,
        reference=f"{edition.reference_prefix}-{edition.year}-0000",
        title=_("Example project"),
        group=_("Example group"),
        language=language,
        reason=_("Example reason") if kind == K.INELIGIBLE else "",
        award=Award(title=_("First prize"), amount_eur=5000) if kind == K.AWARDED else None,
    )


def _sample(candidates: list[Recipient], language: str) -> Recipient | None:
    in_language = [c for c in candidates if c.language == language]
    return next(iter(in_language or candidates), None)


async def console(user: User, edition: Edition, *, links: Links) -> list[KindSummary]:
    """Per outcome mail: how many groups are still to be told, by language, how many were told,
    and a preview in each language filled with one of the applications concerned."""
    await require_organiser(user, edition)
    texts = await texts_of(edition)
    told = set(
        await OutcomeNotice.filter(application__edition=edition).values_list(
            "application_id", "kind"
        )
    )
    summaries = []
    for kind in KINDS:
        candidates = await _candidates(edition, kind)
        pending = [c for c in candidates if (c.application_id, kind) not in told]
        summary = KindSummary(
            kind=kind,
            pending={language: 0 for language in MAIL_LANGUAGES},
            told=len(candidates) - len(pending),
            without_reason=[c.reference for c in pending if not c.reason]
            if kind == K.INELIGIBLE
            else [],
        )
        for candidate in pending:
            summary.pending[candidate.language] += 1
        summary.previews = [
            _preview(edition, kind, language, texts[kind, language], pending or candidates, links)
            for language in MAIL_LANGUAGES
        ]
        summaries.append(summary)
    return summaries


def _preview(
    edition: Edition,
    kind: OutcomeKind,
    language: str,
    text: Text,
    candidates: list[Recipient],
    links: Links,
) -> Preview:
    """The mail in `language`, filled with an application concerned (one in that language if
    there is one), else with made-up values."""
    sample = _sample(candidates, language)
    with i18n.speaking(language):
        recipient = sample or _example(edition, kind, language)
        mail = compose(text, values_for(recipient, edition, links))
    return Preview(language, mail, own=text.own, example=recipient.reference if sample else "")


async def _accounts(group_ids: Iterable[int]) -> dict[int, list[User]]:
    """The members of each group who have an account (not erased), by group id."""
    accounts: dict[int, list[User]] = {}
    members = await GroupMember.filter(
        group_id__in=list(set(group_ids)), user_id__not_isnull=True, user__erased_at__isnull=True
    ).select_related("user")
    for member in sorted(members, key=lambda m: m.id):
        assert member.user is not None
        accounts.setdefault(member.group_id, []).append(member.user)
    return accounts


@dataclass(frozen=True)
class Release:
    applications: int  # told now
    mails: int  # queued now


async def release(
    user: User,
    edition: Edition,
    *,
    kind_code: str,
    confirmed: bool,
    links: Links,
    ip: str = "",
) -> Release:
    """Queue one outcome mail for every application concerned that was not told it yet, in its
    group's language, to each member of the group with an account; record each in an
    OutcomeNotice. Releasing again mails nobody twice."""
    await require_organiser(user, edition)
    kind = _kind_or_refuse(kind_code)
    if not confirmed:
        raise InvalidInput(
            {f"confirm_{kind.value}": _("Tick the box to confirm that you have read the previews.")}
        )
    async with in_transaction():
        # One release at a time per edition (SQLite's BEGIN IMMEDIATE does the same).
        await Edition.select_for_update().get(id=edition.id)
        told = set(
            await OutcomeNotice.filter(application__edition=edition, kind=kind).values_list(
                "application_id", flat=True
            )
        )
        pending = [c for c in await _candidates(edition, kind) if c.application_id not in told]
        texts = await texts_of(edition)
        accounts = await _accounts(c.group_id for c in pending)
        mails = 0
        for candidate in pending:
            people = accounts.get(candidate.group_id, [])
            with i18n.speaking(candidate.language):
                values = values_for(candidate, edition, links)
                mail = compose(texts[kind, candidate.language], values)
            for person in people:
                await queue_email(to=person.email, subject=mail.subject, body=mail.body)
            mails += len(people)
            await OutcomeNotice.create(
                application_id=candidate.application_id,
                kind=kind,
                language=candidate.language,
                recipients=len(people),
                released_by=user,
            )
        await audit.record(
            "outcome.release",
            actor=user,
            object_type="edition",
            object_id=edition.id,
            after={
                "kind": kind.value,
                "applications": [c.application_id for c in pending],
                "mails": mails,
            },
            ip=ip,
        )
    return Release(applications=len(pending), mails=mails)
