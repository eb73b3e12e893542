"""Drafts, answers, uploads and the submission that is never lost.

Invariants: a submitted application's content is frozen; `submit` is one transaction and
idempotent per submit key; the deadline is judged by the server's clock at commit time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from grants.i18n import gettext as _
from grants.i18n.dates import in_zone
from grants.i18n.labels import WRITTEN_LANGUAGES
from grants.mail import Links, queue_email
from grants.models import (
    Answer,
    Application,
    ApplicationMessage,
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
)
from grants.services import audit, groups, lifecycle
from grants.services.errors import NotFound, ServiceError, refuse_invalid
from grants.services.forms import (
    SUMMARY_WORDS,
    EditionForm,
    form_of,
    parse_answer,
    word_count,
)
from grants.services.parsing import parse_id
from grants.services.permissions import application_for_applicant
from grants.settings import Settings
from grants.storage import LocalStorage, StoredFile, TooLarge

MAX_TITLE = 200


def now() -> datetime:
    return datetime.now(UTC)


def accepting(edition: Edition, at: datetime) -> bool:
    return edition.status == EditionStatus.OPEN and edition.opens_at <= at < edition.closes_at


async def allocate_reference(edition: Edition) -> str:
    """Next human reference (EPP-2027-0042); call inside a transaction.

    The counter is incremented in the database (not from `edition`, which may be stale), and
    the increment takes the row's write lock, so two transactions never read the same number.
    """
    await Edition.filter(id=edition.id).update(next_reference=F("next_reference") + 1)
    query = Edition.filter(id=edition.id).values_list("next_reference", flat=True)
    # values_list(flat=True) gives values, not the tuples Tortoise's types say (tortoise-orm#1112)
    number = cast(list[int], await query)[0] - 1
    return f"{edition.reference_prefix}-{edition.year}-{number:04d}"


async def create_draft(
    user: User, *, edition: Edition, group_id: str, title: str, language: str
) -> Application:
    """Start an application of one of the user's groups to an open call."""
    group = next((g for g in await groups.groups_of(user) if str(g.id) == group_id.strip()), None)
    errors: dict[str, str] = {}
    if group is None:
        errors["group_id"] = _("Choose your group (or create one first).")
    if not title.strip():
        errors["title"] = _("Give your project a title.")
    if language not in WRITTEN_LANGUAGES:
        errors["language"] = _("Choose the language you write in.")
    refuse_invalid(errors)
    if not accepting(edition, now()):
        raise ServiceError(_("This call is not accepting applications."))
    async with in_transaction():
        reference = await allocate_reference(edition)
        application = await Application.create(
            edition=edition,
            group=group,
            reference=reference,
            title=title.strip()[:MAX_TITLE],
            language=language,
            created_by=user,
        )
        await lifecycle.record_start(application, actor=user)
        await audit.record(
            "application.create",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={"reference": reference},
        )
    return application


def _ensure_editable(application: Application) -> None:
    if application.status not in lifecycle.EDITABLE:
        raise ServiceError(_("This application has been submitted and can no longer be changed."))


@dataclass(frozen=True)
class Upload:
    """A file as it came with a form: the name on the applicant's device, and its bytes."""

    filename: str
    source: BinaryIO


@dataclass(frozen=True)
class StepInput:
    """What a step of the form sent: every text field's values, and the files by field name."""

    fields: Mapping[str, list[str]]
    files: Mapping[str, Upload]

    def text(self, name: str) -> str:
        values = self.fields.get(name) or [""]
        return values[0]


async def save_step(
    user: User,
    application: Application,
    step: int,
    sent: StepInput,
    *,
    settings: Settings,
    ip: str = "",
) -> dict[str, str]:
    """Save one step of the form; returns field errors (valid fields are saved regardless)."""
    if step == 1:
        return await save_project(
            user,
            application,
            title=sent.text("title"),
            summary=sent.text("summary"),
            language=sent.text("language"),
            category_id=sent.text("category"),
            publish_consent=sent.text("publish_consent") == "yes",
            ip=ip,
        )
    if step == 2:
        form = await form_of(await application.edition)
        raw = {q.key: _raw_answer(q, sent) for q in form.typed_questions}
        uploads = [(q, sent.files[q.key]) for q in form.file_questions if q.key in sent.files]
        errors = await save_answers(
            user, application, raw, form.questions, uploads=uploads, settings=settings, ip=ip
        )
        remove = parse_id(sent.text("remove_attachment"))
        if remove is not None:
            await remove_attachment(user, application, remove, settings=settings, ip=ip)
        return errors
    return {}


def _raw_answer(question: Question, sent: StepInput) -> Any:
    if question.kind == QuestionKind.MULTI_CHOICE:
        return list(sent.fields.get(question.key, []))
    return sent.text(question.key)


async def save_project(
    user: User,
    application: Application,
    *,
    title: str,
    summary: str,
    language: str,
    category_id: str,
    publish_consent: bool,
    ip: str = "",
) -> dict[str, str]:
    """Save step 1 (the project); returns field errors. Valid fields are saved regardless."""
    _ensure_editable(application)
    errors: dict[str, str] = {}
    if title.strip():
        application.title = title.strip()[:MAX_TITLE]
    else:
        errors["title"] = _("Give your project a title.")
    application.summary = summary.strip()
    if word_count(application.summary) > SUMMARY_WORDS:
        errors["summary"] = _(
            "Use at most %(limit)s words (now %(n)s).",
            limit=SUMMARY_WORDS,
            n=word_count(application.summary),
        )
    if language in WRITTEN_LANGUAGES:
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
    async with in_transaction():
        await application.save()
        await audit.record(
            "application.edit",
            actor=user,
            object_type="application",
            object_id=application.id,
            after={"step": 1, "invalid": sorted(errors)},
            ip=ip,
        )
    return errors


async def save_answers(
    user: User,
    application: Application,
    raw: dict[str, Any],
    questions: list[Question],
    *,
    uploads: Sequence[tuple[Question, Upload]] = (),
    settings: Settings | None = None,
    ip: str = "",
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
            for question, upload, file in stored:
                await _record_attachment(user, application, question, upload, file, ip=ip)
            await audit.record(
                "application.edit",
                actor=user,
                object_type="application",
                object_id=application.id,
                after={
                    "step": 2,
                    "answers": sorted(q.key for q in questions if q.id in payloads),
                    "invalid": sorted(errors),
                },
                ip=ip,
            )
    except BaseException:
        for _question, _upload, file in stored:  # recorded nowhere: leave no file behind
            assert settings is not None, "files are stored only where the settings say"
            LocalStorage(settings.upload_dir).delete(file.stored_name)
        raise
    return errors


async def _record_attachment(
    user: User,
    application: Application,
    question: Question,
    upload: Upload,
    file: StoredFile,
    *,
    ip: str = "",
) -> None:
    attachment = await Attachment.create(
        application=application,
        question=question,
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
        ip=ip,
    )


Stored = list[tuple[Question, Upload, StoredFile]]


async def _store_uploads(
    application: Application,
    uploads: Sequence[tuple[Question, Upload]],
    settings: Settings | None,
) -> tuple[Stored, dict[str, str]]:
    """Each upload stored and checked (size, type by content, total); the refused ones deleted."""
    if not uploads:
        return [], {}
    if settings is None:
        raise ValueError("uploads need the settings: they say where files are stored")
    edition = await application.edition
    storage = LocalStorage(settings.upload_dir)
    sizes = Attachment.filter(application=application).values_list("size", flat=True)
    # values_list(flat=True) gives values, not the tuples Tortoise's types say (tortoise-orm#1112)
    used = sum(cast(list[int], await sizes))
    stored: Stored = []
    errors: dict[str, str] = {}
    for question, upload in uploads:
        try:
            file = await storage.save(upload.source, max_bytes=edition.max_file_mb * 1024 * 1024)
        except TooLarge:
            errors[question.key] = _(
                "This file is larger than %(mb)s MB. Make it smaller (for example, export the "
                "PDF with reduced image quality) and try again.",
                mb=edition.max_file_mb,
            )
            continue
        problem = _refusal(edition, file, used)
        if problem:
            storage.delete(file.stored_name)
            errors[question.key] = problem
            continue
        used += file.size
        stored.append((question, upload, file))
    return stored, errors


def _refusal(edition: Edition, file: StoredFile, used: int) -> str | None:
    """Why a stored file cannot be kept (its type, or the application's total), if it cannot."""
    if file.content_type not in edition.allowed_types:
        return _(
            "This file is not one of the allowed types (PDF, JPEG or PNG), whatever its name says."
        )
    if used + file.size > edition.max_total_mb * 1024 * 1024:
        return _(
            "All files together may not exceed %(mb)s MB. Remove a file first.",
            mb=edition.max_total_mb,
        )
    return None


async def remove_attachment(
    user: User, application: Application, attachment_id: int, *, settings: Settings, ip: str = ""
) -> None:
    """Remove a file of a draft: its record and audit event in one transaction, then the file."""
    _ensure_editable(application)
    attachment = await Attachment.get_or_none(id=attachment_id, application=application)
    if attachment is None:
        raise ServiceError(_("This file does not exist."))
    async with in_transaction():
        await attachment.delete()
        await audit.record(
            "attachment.remove",
            actor=user,
            object_type="application",
            object_id=application.id,
            before={"attachment": attachment.id, "sha256": attachment.sha256},
            ip=ip,
        )
    LocalStorage(settings.upload_dir).delete(attachment.stored_name)


@dataclass
class Content:
    """An application's content, loaded once: what the form shows, the check judges and the
    hash seals."""

    application: Application
    form: EditionForm
    answers: dict[str, Any]  # by question key
    attachments: list[Attachment]

    @property
    def questions(self) -> list[Question]:
        return self.form.questions

    @property
    def categories(self) -> list[Category]:
        return self.form.categories


async def load_content(application: Application) -> Content:
    form = await form_of(await application.edition)
    return Content(
        application=application,
        form=form,
        answers=await _answers(application, form),
        attachments=await Attachment.filter(application=application).order_by("id"),
    )


async def answers_by_key(application: Application) -> dict[str, Any]:
    """The application's answers by question key."""
    return await _answers(application, await form_of(await application.edition))


async def _answers(application: Application, form: EditionForm) -> dict[str, Any]:
    key_of = {q.id: q.key for q in form.questions}
    answers = await Answer.filter(application=application).values_list("question_id", "payload")
    return {key_of[q]: payload.get("value") for q, payload in answers if q in key_of}


def _project_problems(application: Application, content: Content) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not application.title.strip():
        problems["title"] = _("Give your project a title.")
    if not application.summary.strip():
        problems["summary"] = _("Write a short summary of your project.")
    if application.category_id is None and content.categories:
        problems["category"] = _("Choose one of the categories.")
    return problems


def _answer_problem(question: Question, content: Content, attached: set[int | None]) -> str | None:
    if question.kind == QuestionKind.FILE:
        missing = question.required and question.id not in attached
        return _("Attach the required file.") if missing else None
    value = content.answers.get(question.key)
    if value in (None, "", []):
        return _("This question needs an answer.") if question.required else None
    return parse_answer(question, value if isinstance(value, (str, list)) else str(value))[1]


async def submission_problems(application: Application, content: Content) -> dict[str, str]:
    """Everything that stops a submission, keyed by field ('group' for the team)."""
    problems = _project_problems(application, content)
    attached = {a.question_id for a in content.attachments}
    for question in content.questions:
        problem = _answer_problem(question, content, attached)
        if problem:
            problems[question.key] = problem
    blockers = await groups.submission_blockers(await application.group, await application.edition)
    if blockers:
        problems["group"] = " ".join(blockers)
    return problems


def content_hash(application: Application, content: Content) -> str:
    """The SHA-256 that seals what was submitted: project fields, answers, files' hashes."""
    canonical = {
        "reference": application.reference,
        "title": application.title,
        "summary": application.summary,
        "language": application.language,
        "category": application.category_id,
        "answers": content.answers,
        "attachments": [a.sha256 for a in content.attachments],
    }
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class Receipt:
    reference: str
    submitted_at: datetime
    content_hash: str


async def submit(
    user: User, application: Application, *, submit_key: str, links: Links, ip: str = ""
) -> Receipt:
    """Submit in one transaction; a repeat with the same key returns the first receipt."""
    async with in_transaction():
        current = await Application.select_for_update().get(id=application.id)
        if current.status == ApplicationStatus.SUBMITTED and current.submit_key == submit_key:
            assert current.submitted_at is not None
            return Receipt(current.reference, current.submitted_at, current.content_hash)
        if current.status != ApplicationStatus.DRAFT:
            raise ServiceError(_("This application has already been submitted."))
        edition = current.edition = await application.edition  # loaded with it a moment ago
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
        current.submitted_at = at
        current.submit_key = submit_key
        current.content_hash = content_hash(current, content)
        await current.save(update_fields=["submitted_at", "submit_key", "content_hash"])
        await lifecycle.move(current, ApplicationStatus.SUBMITTED, actor=user)
        await audit.record(
            "application.submit",
            actor=user,
            object_type="application",
            object_id=current.id,
            after={"hash": current.content_hash},
            ip=ip,
        )
        await _send_receipt(user, current, links)
    return Receipt(current.reference, at, current.content_hash)


async def _send_receipt(user: User, application: Application, links: Links) -> None:
    assert application.submitted_at is not None
    await queue_email(
        to=user.email,
        subject=_("Receipt: application %(ref)s received", ref=application.reference),
        body=_(
            'Hello %(name)s,\n\nwe received your application %(ref)s "%(title)s" on %(when)s.\n'
            "Content fingerprint (SHA-256): %(hash)s\n\nYou can follow it at %(link)s\n",
            name=user.display_name,
            ref=application.reference,
            title=application.title,
            when=in_zone(application.submitted_at, application.edition.timezone, seconds=True),
            hash=application.content_hash,
            link=links("receipt", application_id=application.id),
        ),
    )


def withdrawable(application: Application, edition: Edition, at: datetime) -> bool:
    """Whether the applicant may still withdraw (what the receipt page offers and `withdraw`
    checks)."""
    return application.status in lifecycle.WITHDRAWABLE and at < edition.closes_at


async def withdraw(user: User, application: Application, *, ip: str = "") -> None:
    """Withdraw until the deadline (a draft or a submitted application); the group gets a
    confirmation."""
    async with in_transaction():
        current = await Application.select_for_update().get(id=application.id)
        edition = await application.edition
        if current.status not in lifecycle.WITHDRAWABLE:
            raise ServiceError(_("This application can no longer be withdrawn."))
        if not withdrawable(current, edition, now()):
            raise ServiceError(_("Applications can be withdrawn only until the deadline."))
        before = await lifecycle.move(current, ApplicationStatus.WITHDRAWN, actor=user)
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
                'Hello %(name)s,\n\nyour application %(ref)s "%(title)s" was withdrawn on '
                "%(when)s. It will not be assessed.\n",
                name=user.display_name,
                ref=current.reference,
                title=current.title,
                when=in_zone(now(), edition.timezone),
            ),
        )
    application.status = current.status


# --- What the applicant's pages show ----------------------------------------------------------


@dataclass
class FormPage:
    """One step of the application form, or the check page (step 3)."""

    content: Content
    step: int
    problems: dict[str, str]  # on the check page: what still stops the submission


STEPS = (1, 2, 3)


async def form_page(user: User, application_id: int, step: int) -> FormPage:
    """A step of one of the user's applications; NotFound for a step that does not exist."""
    application = await application_for_applicant(user, application_id)
    if step not in STEPS:
        raise NotFound(_("This page does not exist."))
    content = await load_content(application)
    problems = await submission_problems(application, content) if step == 3 else {}
    return FormPage(content, step, problems)


@dataclass
class ReceiptPage:
    content: Content
    history: list[StatusChange]
    can_withdraw: bool


async def receipt_page(application: Application) -> ReceiptPage:
    """`application` as `application_for_applicant` returned it."""
    return ReceiptPage(
        content=await load_content(application),
        history=await lifecycle.history(application),
        can_withdraw=withdrawable(application, await application.edition, now()),
    )


@dataclass
class Dashboard:
    """An applicant's home page: their groups, their applications with their histories, and
    the organisers' messages."""

    groups: list[Group]
    applications: list[Application]  # newest first, each with its edition and group
    histories: dict[int, list[StatusChange]]  # by application id
    messages: list[ApplicationMessage]


async def dashboard(user: User) -> Dashboard:
    applications = (
        await Application.filter(group__members__user_id=user.id)
        .distinct()
        .select_related("edition", "group")
        .order_by("-created_at")
    )
    messages = (
        await ApplicationMessage.filter(application_id__in=[a.id for a in applications])
        .select_related("application")
        .order_by("-created_at")
    )
    return Dashboard(
        groups=await groups.groups_of(user),
        applications=list(applications),
        histories=await lifecycle.histories(list(applications)),
        messages=list(messages),
    )
