"""Drafts, answers, uploads and the submission that is never lost.

Invariants: a submitted application's content is frozen; `submit` is one transaction and
idempotent per submit key; the deadline is judged by the server's clock at commit time.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.mail import queue_email
from grants.models import (
    Answer,
    Application,
    ApplicationStatus,
    Attachment,
    Category,
    Edition,
    EditionStatus,
    Group,
    Question,
    QuestionKind,
    StatusChange,
    User,
    hot,
)
from grants.services import audit, groups
from grants.services.errors import ServiceError
from grants.settings import Settings
from grants.storage import LocalStorage, StoredFile, TooLarge

LANGUAGE_CHOICES = (
    "en",
    "fr",
    "ru",
    "de",
    "es",
    "it",
    "uk",
    "ka",
    "kk",
    "ky",
    "tg",
    "uz",
    "tr",
    "other",
)
URL_RE = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
EDITABLE = (ApplicationStatus.DRAFT,)
WITHDRAWABLE = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)


def now() -> datetime:
    return datetime.now(UTC)


def accepting(edition: Edition, at: datetime) -> bool:
    return edition.status == EditionStatus.OPEN and edition.opens_at <= at < edition.closes_at


def in_zone(moment: datetime, zone: str) -> str:
    """A moment as the call's organisers state it: local time with the zone named."""
    try:
        return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + zone
    except (KeyError, ValueError):
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def word_count(text: str) -> int:
    return len(text.split())


async def allocate_reference(edition: Edition) -> str:
    """Next human reference (EPP-2027-0042); call inside a transaction.

    The counter is incremented in the database (not from `edition`, which may be stale), and
    the increment takes the row's write lock, so two transactions never read the same number.
    """
    await Edition.filter(id=edition.id).update(next_reference=F("next_reference") + 1)
    number = (await Edition.filter(id=edition.id).values_list("next_reference", flat=True))[0] - 1
    return f"{edition.reference_prefix}-{edition.year}-{number:04d}"


async def create_draft(
    user: User, *, edition: Edition, group: Group, title: str, language: str
) -> Application:
    await groups.group_for(user, group.id)
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Give your project a title.")
    if language not in LANGUAGE_CHOICES:
        errors["language"] = _("Choose the language you write in.")
    if errors:
        raise ServiceError(_("Please correct the marked fields."), errors=errors)
    if not accepting(edition, now()):
        raise ServiceError(_("This call is not accepting applications."))
    async with in_transaction():
        reference = await allocate_reference(edition)
        application = await Application.create(
            edition=edition,
            group=group,
            reference=reference,
            title=title.strip()[:200],
            language=language,
            created_by=user,
        )
        await StatusChange.create(
            application=application, from_status="", to_status="draft", actor=user
        )
        await audit.record(
            "application.create",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={"reference": reference},
        )
    return application


def _ensure_editable(application: Application) -> None:
    if application.status not in EDITABLE:
        raise ServiceError(_("This application has been submitted and can no longer be changed."))


def parse_answer(question: Question, raw: Any) -> tuple[Any, str | None]:
    """(value to store, error message or None) for one typed answer."""
    if question.kind == QuestionKind.MULTI_CHOICE:
        values = [v for v in (raw or []) if v]
        allowed = {o["value"] for o in question.options}
        if any(v not in allowed for v in values):
            return values, _("Choose from the options given.")
        return values, None
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text:
        return None, None
    if question.kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
        if question.word_limit and word_count(text) > question.word_limit:
            return text, _(
                "Use at most %(limit)s words (now %(n)s).",
                limit=question.word_limit,
                n=word_count(text),
            )
        if question.kind == QuestionKind.SHORT_TEXT and len(text) > 300:
            return text, _("Keep this under 300 characters.")
        return text, None
    if question.kind == QuestionKind.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text, _("Enter a number, for example 12.")
        if not math.isfinite(number):  # nan, inf, 1e999: not a count, and not valid JSON
            return text, _("Enter a number, for example 12.")
        return (int(number) if number.is_integer() else number), None
    if question.kind == QuestionKind.DATE:
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return text, _("Enter a date as YYYY-MM-DD, for example 2026-03-01.")
    if question.kind == QuestionKind.LINK:
        if not URL_RE.match(text):
            return text, _("Enter a full web address starting with https://")
        return text, None
    if question.kind == QuestionKind.CHOICE:
        if text not in {o["value"] for o in question.options}:
            return text, _("Choose one of the options.")
        return text, None
    return None, None


async def save_project(
    user: User,
    application: Application,
    *,
    title: str,
    summary: str,
    language: str,
    category_id: str,
    publish_consent: bool,
) -> dict[str, str]:
    """Save step 1 (the project); returns field errors. Valid fields are saved regardless."""
    _ensure_editable(application)
    errors: dict[str, str] = {}
    if title.strip():
        application.title = title.strip()[:200]
    else:
        errors["title"] = _("Give your project a title.")
    application.summary = summary.strip()
    if word_count(application.summary) > 200:
        errors["summary"] = _(
            "Use at most %(limit)s words (now %(n)s).", limit=200, n=word_count(application.summary)
        )
    if language in LANGUAGE_CHOICES:
        application.language = language
    else:
        errors["language"] = _("Choose the language you write in.")
    if category_id:
        categories = (await form_of(await application.edition)).categories
        category = next((c for c in categories if str(c.id) == category_id), None)
        if category is None:
            errors["category"] = _("Choose one of the categories.")
        else:
            application.category = category
    application.publish_consent = publish_consent
    await application.save()
    return errors


@dataclass(frozen=True)
class EditionForm:
    """An edition's form: its questions (in order of step and position) and categories."""

    questions: list[Question]
    categories: list[Category]


_forms: dict[int, tuple[int, EditionForm]] = {}  # edition id: (form_version, form)


async def form_of(edition: Edition) -> EditionForm:
    """The edition's form, read once per process and form_version.

    Why: every step of every applicant needs it, it changes rarely (saving or deleting a question
    or category raises the edition's form_version), and the edition row, read anyway with the
    application, says whether the copy in memory is current.
    """
    cached = _forms.get(edition.id)
    if cached is not None and cached[0] == edition.form_version:
        return cached[1]
    form = EditionForm(
        questions=await Question.filter(edition_id=edition.id).order_by("step", "position"),
        categories=await Category.filter(edition_id=edition.id).order_by("id"),
    )
    _forms[edition.id] = (edition.form_version, form)
    return form


def forget_forms() -> None:
    """Drop the forms kept in memory (another database was opened: its ids mean other things)."""
    _forms.clear()


async def questions_of(application: Application) -> list[Question]:
    return (await form_of(await application.edition)).questions


@dataclass(frozen=True)
class Upload:
    """A file as it came with a form: its question, the name on the applicant's device, its bytes."""

    question: Question
    filename: str
    source: BinaryIO


async def save_answers(
    user: User,
    application: Application,
    raw: dict[str, Any],
    questions: list[Question],
    *,
    uploads: Sequence[Upload] = (),
    settings: Settings | None = None,
) -> dict[str, str]:
    """Save step 2 (the edition's `questions` and any files); returns field errors by question key.

    Every typed value is stored, valid or not, so nothing is lost; the check page judges them.
    Files are stored first, outside the transaction (writing and syncing one takes a thread and
    milliseconds, which the database's write lock should not wait for); then answers, files'
    records and their audit events are written in one transaction: all of the step or none.
    """
    _ensure_editable(application)
    errors: dict[str, str] = {}
    payloads: dict[int, dict[str, Any]] = {}
    for question in questions:
        if question.kind == QuestionKind.FILE:
            continue
        value, error = parse_answer(question, raw.get(question.key))
        if error:
            errors[question.key] = error
        payloads[question.id] = {"value": value}
    stored, file_errors = await _store_uploads(application, uploads, settings)
    errors.update(file_errors)
    try:
        async with in_transaction():
            # One statement, insert or update: two tabs saving at once cannot clash.
            await Answer.bulk_create(
                [
                    Answer(application=application, question_id=question_id, payload=payload)
                    for question_id, payload in payloads.items()
                ],
                on_conflict=["application_id", "question_id"],
                update_fields=["payload"],
            )
            for upload, file in stored:
                attachment = await Attachment.create(
                    application=application,
                    question=upload.question,
                    original_name=upload.filename[-255:] or "file",
                    stored_name=file.stored_name,
                    content_type=file.content_type,
                    size=file.size,
                    sha256=file.sha256,
                    uploaded_by=user,
                )
                await audit.record(
                    "attachment.upload",
                    actor=user,
                    object_type="application",
                    object_id=application.id,
                    after={"attachment": attachment.id, "sha256": file.sha256},
                )
    except BaseException:
        for _upload, file in stored:  # recorded nowhere: leave no file behind
            LocalStorage(settings.upload_dir).delete(file.stored_name)  # type: ignore[union-attr]
        raise
    return errors


async def _store_uploads(
    application: Application, uploads: Sequence[Upload], settings: Settings | None
) -> tuple[list[tuple[Upload, StoredFile]], dict[str, str]]:
    """Each upload stored and checked (size, type by content, total); the refused ones deleted."""
    if not uploads:
        return [], {}
    if settings is None:
        raise ValueError("uploads need the settings: they say where files are stored")
    edition: Edition = await application.edition
    storage = LocalStorage(settings.upload_dir)
    used = sum(a.size for a in await Attachment.filter(application=application))
    stored: list[tuple[Upload, StoredFile]] = []
    errors: dict[str, str] = {}
    for upload in uploads:
        try:
            file = await storage.save(upload.source, max_bytes=edition.max_file_mb * 1024 * 1024)
        except TooLarge:
            errors[upload.question.key] = _(
                "This file is larger than %(mb)s MB. Make it smaller (for example, export the PDF with reduced image quality) and try again.",
                mb=edition.max_file_mb,
            )
            continue
        if file.content_type not in edition.allowed_types:
            storage.delete(file.stored_name)
            errors[upload.question.key] = _(
                "This file is not one of the allowed types (PDF, JPEG or PNG), whatever its name says."
            )
            continue
        if used + file.size > edition.max_total_mb * 1024 * 1024:
            storage.delete(file.stored_name)
            errors[upload.question.key] = _(
                "All files together may not exceed %(mb)s MB. Remove a file first.",
                mb=edition.max_total_mb,
            )
            continue
        used += file.size
        stored.append((upload, file))
    return stored, errors


async def remove_attachment(
    user: User, application: Application, attachment_id: int, *, settings: Settings
) -> None:
    _ensure_editable(application)
    attachment = await Attachment.get_or_none(id=attachment_id, application=application)
    if attachment is None:
        raise ServiceError(_("This file does not exist."))
    await attachment.delete()
    LocalStorage(settings.upload_dir).delete(attachment.stored_name)


@dataclass
class Content:
    """An application's content, loaded once: what the form shows, the check judges and the hash seals."""

    application: Application
    questions: list[Question]
    categories: list[Category]
    answers: dict[str, Any]  # by question key
    attachments: list[Attachment]


async def load_content(application: Application) -> Content:
    form = await form_of(await application.edition)
    return Content(
        application=application,
        questions=form.questions,
        categories=form.categories,
        answers=await _answers_of(application, form.questions),
        attachments=await hot.children_of(Attachment, "application_id", application.id),
    )


async def answers_by_key(application: Application) -> dict[str, Any]:
    return await _answers_of(application, (await form_of(await application.edition)).questions)


async def _answers_of(application: Application, questions: list[Question]) -> dict[str, Any]:
    key_of = {q.id: q.key for q in questions}
    answers = await hot.children_of(Answer, "application_id", application.id)
    return {key_of[a.question_id]: a.value for a in answers if a.question_id in key_of}  # type: ignore[attr-defined]


async def submission_problems(
    application: Application, content: Content | None = None
) -> dict[str, str]:
    """Everything that stops a submission, keyed by field ('' for the application as a whole)."""
    content = content or await load_content(application)
    edition: Edition = await application.edition
    problems: dict[str, str] = {}
    if not application.title.strip():
        problems["title"] = _("Give your project a title.")
    if not application.summary.strip():
        problems["summary"] = _("Write a short summary of your project.")
    if application.category_id is None and content.categories:  # type: ignore[attr-defined]
        problems["category"] = _("Choose one of the categories.")
    attached = {a.question_id for a in content.attachments}  # type: ignore[attr-defined]
    for question in content.questions:
        if question.kind == QuestionKind.FILE:
            if question.required and question.id not in attached:
                problems[question.key] = _("Attach the required file.")
            continue
        value = content.answers.get(question.key)
        if question.required and value in (None, "", []):
            problems[question.key] = _("This question needs an answer.")
        elif value not in (None, "", []):
            _value, error = parse_answer(
                question, value if isinstance(value, (str, list)) else str(value)
            )
            if error:
                problems[question.key] = error
    blockers = await groups.submission_blockers(await application.group, edition)
    if blockers:
        problems["group"] = " ".join(blockers)
    return problems


async def content_hash(application: Application, content: Content | None = None) -> str:
    content = content or await load_content(application)
    canonical = {
        "reference": application.reference,
        "title": application.title,
        "summary": application.summary,
        "language": application.language,
        "category": application.category_id,  # type: ignore[attr-defined]
        "answers": content.answers,
        "attachments": [a.sha256 for a in content.attachments],
    }
    return hashlib.sha256(
        json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@dataclass(frozen=True)
class Receipt:
    reference: str
    submitted_at: datetime
    content_hash: str


async def submit(
    user: User, application: Application, *, submit_key: str, settings: Settings, ip: str = ""
) -> Receipt:
    """Submit in one transaction; a repeat with the same key returns the first receipt."""
    async with in_transaction():
        current = await Application.select_for_update().get(id=application.id)
        if current.status == ApplicationStatus.SUBMITTED and current.submit_key == submit_key:
            assert current.submitted_at is not None
            return Receipt(current.reference, current.submitted_at, current.content_hash)
        if current.status != ApplicationStatus.DRAFT:
            raise ServiceError(_("This application has already been submitted."))
        edition: Edition = await application.edition  # loaded with the application, a moment ago
        current.edition = edition
        current.group = await application.group
        # The deadline first: after it, fixing the points the check would list cannot help.
        at = now()
        if not accepting(edition, at):
            raise ServiceError(
                _(
                    "The deadline has passed: applications closed on %(when)s. Your draft is kept.",
                    when=in_zone(edition.closes_at, edition.timezone),
                )
            )
        content = await load_content(current)
        problems = await submission_problems(current, content)
        if problems:
            raise ServiceError(
                _("Your application is not complete yet: fix the points marked below."),
                errors=problems,
            )
        current.status = ApplicationStatus.SUBMITTED
        current.submitted_at = at
        current.submit_key = submit_key
        current.content_hash = await content_hash(current, content)
        await current.save(
            update_fields=["status", "submitted_at", "submit_key", "content_hash", "updated_at"]
        )
        await StatusChange.create(
            application=current, from_status="draft", to_status="submitted", actor=user
        )
        await audit.record(
            "application.submit",
            actor=user,
            object_type="application",
            object_id=current.id,
            after={"hash": current.content_hash},
            ip=ip,
        )
        await queue_email(
            to=user.email,
            subject=_("Receipt: application %(ref)s received", ref=current.reference),
            body=_(
                'Hello %(name)s,\n\nwe received your application %(ref)s "%(title)s" on %(when)s.\nContent fingerprint (SHA-256): %(hash)s\n\nYou can follow it at %(link)s\n',
                name=user.display_name,
                ref=current.reference,
                title=current.title,
                when=at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                hash=current.content_hash,
                link=f"{settings.base_url}/applications/{current.id}/receipt",
            ),
        )
    return Receipt(current.reference, at, current.content_hash)


def withdrawable(application: Application, edition: Edition, at: datetime) -> bool:
    """Whether the applicant may still withdraw (what the receipt page offers and `withdraw` checks)."""
    return application.status in WITHDRAWABLE and at < edition.closes_at


async def withdraw(user: User, application: Application, *, ip: str = "") -> None:
    """Withdraw until the deadline (a draft or a submitted application); the group gets a confirmation."""
    async with in_transaction():
        current = await Application.select_for_update().get(id=application.id)
        edition: Edition = await current.edition
        if current.status not in WITHDRAWABLE:
            raise ServiceError(_("This application can no longer be withdrawn."))
        if not withdrawable(current, edition, now()):
            raise ServiceError(_("Applications can be withdrawn only until the deadline."))
        before = current.status
        current.status = ApplicationStatus.WITHDRAWN
        await current.save(update_fields=["status", "updated_at"])
        await StatusChange.create(
            application=current, from_status=before, to_status="withdrawn", actor=user
        )
        await audit.record(
            "application.withdraw",
            actor=user,
            object_type="application",
            object_id=current.id,
            before={"status": before},
            ip=ip,
        )
        await queue_email(
            to=user.email,
            subject=_("Application %(ref)s withdrawn", ref=current.reference),
            body=_(
                'Hello %(name)s,\n\nyour application %(ref)s "%(title)s" was withdrawn on %(when)s. It will not be assessed.\n',
                name=user.display_name,
                ref=current.reference,
                title=current.title,
                when=in_zone(now(), edition.timezone),
            ),
        )
    application.status = current.status
