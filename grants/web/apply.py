"""The applicant's pages: dashboard, groups, the application form, submission and receipt."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n.dates import clock
from grants.i18n.labels import WRITTEN_LANGUAGES
from grants.models import AgeBand, Application, ApplicationStatus, Edition
from grants.services import dossier, groups, messages, submission
from grants.services.errors import PermissionDenied, ServiceError
from grants.services.permissions import application_for_applicant, edition_by_slug
from grants.storage import LocalStorage
from grants.web.common import (
    Form,
    csrf_protected,
    flash,
    form_error,
    int_param,
    links_for,
    login_required,
    redirect,
    render,
    require_user,
)
from grants.web.session import client_ip


@login_required
async def dashboard(request: Request) -> Response:
    page = await submission.dashboard(await require_user(request))
    return render(
        request,
        "apply/dashboard.html",
        {
            "groups": page.groups,
            "applications": page.applications,
            "messages": page.messages,
            "history": page.histories,
        },
    )


GROUP_FORM = {"kinds": groups.GROUP_KINDS, "age_bands": list(AgeBand)}


@login_required
async def new_group_page(request: Request) -> Response:
    return render(request, "apply/group_new.html", GROUP_FORM)


@login_required
@csrf_protected
async def create_group(request: Request, form: Form) -> Response:
    try:
        group = await groups.create_group(
            await require_user(request),
            name=form.text("name"),
            kind=form.text("kind"),
            country=form.text("country"),
            organisation=form.text("organisation"),
            lead_first_name=form.text("lead_first_name"),
            lead_age_band=form.text("lead_age_band"),
        )
    except ServiceError as exc:
        return form_error(request, "apply/group_new.html", GROUP_FORM, exc, values=form.values())
    flash(request, _("Group created. Add the other members of your team."))
    return redirect(request, "group", group_id=group.id)


async def _group_context(request: Request) -> dict[str, Any]:
    page = await groups.group_page(await require_user(request), int_param(request, "group_id"))
    return {
        "group": page.group,
        "members": page.members,
        "consent_age": page.consent_age,
        "may_record_consent": {m.id for m in page.members if page.may_record_consent(m)},
        "age_bands": list(AgeBand),
    }


@login_required
async def group_page(request: Request) -> Response:
    return render(request, "apply/group.html", await _group_context(request))


@login_required
@csrf_protected
async def change_group(request: Request, form: Form) -> Response:
    """Add a member (and invite them by mail), or record a guardian's consent for one."""
    user = await require_user(request)
    group = await groups.group_for(user, int_param(request, "group_id"))
    try:
        if form.text("action") == "consent":
            member = await groups.record_consent(
                user,
                group,
                form.text("member_id"),
                guardian_name=form.text("guardian_name"),
                ip=client_ip(request),
            )
            message = _("Consent recorded for %(name)s.", name=member.first_name)
        else:
            member = await groups.add_member(
                user,
                group,
                first_name=form.text("first_name"),
                age_band=form.text("age_band"),
                invite_email=form.text("invite_email"),
                links=links_for(request),
            )
            message = (
                _("Member added. We sent an invitation to %(email)s.", email=member.invite_email)
                if member.invite_email
                else _("Member added.")
            )
    except ServiceError as exc:
        context = await _group_context(request)
        return form_error(request, "apply/group.html", context, exc, values=form.values())
    flash(request, message)
    return redirect(request, "group", group_id=group.id)


async def _start_context(request: Request) -> tuple[Edition, dict[str, Any]]:
    edition = await edition_by_slug(request.path_params["slug"])
    my_groups = await groups.groups_of(await require_user(request))
    return edition, {"edition": edition, "groups": my_groups, "languages": WRITTEN_LANGUAGES}


@login_required
async def start_page(request: Request) -> Response:
    _edition, context = await _start_context(request)
    return render(request, "apply/start.html", context)


@login_required
@csrf_protected
async def create_draft(request: Request, form: Form) -> Response:
    edition, context = await _start_context(request)
    try:
        application = await submission.create_draft(
            await require_user(request),
            edition=edition,
            group_id=form.text("group_id"),
            title=form.text("title"),
            language=form.text("language"),
        )
    except ServiceError as exc:
        return form_error(request, "apply/start.html", context, exc, values=form.values())
    return redirect(request, "edit_application", application_id=application.id, step=1)


def _form_context(page: submission.FormPage) -> dict[str, Any]:
    content = page.content
    application = content.application
    context = {
        "application": application,
        "edition": application.edition,
        "categories": content.categories,
        "questions": content.form.typed_questions,
        "file_questions": content.form.file_questions,
        "attachments": content.attachments,
        "answers": content.answers,
        "languages": WRITTEN_LANGUAGES,
        "steps": submission.STEPS,
        "step": page.step,
    }
    if page.step == 3:
        context["problems"] = page.problems
        context["submit_key"] = secrets.token_urlsafe(16)
    return context


async def _form_page(request: Request) -> submission.FormPage:
    return await submission.form_page(
        await require_user(request),
        int_param(request, "application_id"),
        int_param(request, "step"),
    )


def _submitted(request: Request, application: Application) -> Response | None:
    """A submitted application has no form any more: its receipt instead."""
    if application.status != ApplicationStatus.DRAFT:
        return redirect(request, "receipt", application_id=application.id)
    return None


@login_required
async def form_step(request: Request) -> Response:
    page = await _form_page(request)
    return _submitted(request, page.content.application) or render(
        request, "apply/form.html", _form_context(page)
    )


def _step_input(form: Form) -> submission.StepInput:
    files = {name: submission.Upload(f.filename or "", f.file) for name, f in form.files().items()}
    return submission.StepInput(fields=form.lists(), files=files)


@login_required
@csrf_protected
async def save_step(request: Request, form: Form) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    step = int_param(request, "step")
    if moved := _submitted(request, application):
        return moved
    errors = await submission.save_step(
        user,
        application,
        step,
        _step_input(form),
        settings=request.app.state.settings,
        ip=client_ip(request),
    )
    if errors:
        context = _form_context(await _form_page(request))
        message = _("Saved, but some answers need your attention.")
        return form_error(
            request,
            "apply/form.html",
            context,
            ServiceError(message, errors=errors),
            values=form.values(),
        )
    flash(
        request,
        _("Draft saved at %(time)s.", time=clock(datetime.now(UTC), application.edition.timezone)),
    )
    next_step = step + 1 if form.text("go") == "next" else step
    return redirect(
        request, "edit_application", application_id=application.id, step=min(next_step, 3)
    )


@login_required
@csrf_protected
async def submit_application(request: Request, form: Form) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    submit_key = form.text("submit_key")[:64] or secrets.token_urlsafe(16)
    try:
        await submission.submit(
            user,
            application,
            submit_key=submit_key,
            links=links_for(request),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        page = await submission.form_page(user, application.id, 3)
        context = _form_context(page)
        context["problems"] = exc.errors or page.problems
        return render(request, "apply/form.html", {**context, "message": exc.message}, status=400)
    return redirect(request, "receipt", application_id=application.id)


async def _receipt(
    request: Request, application: Application, *, message: str | None = None, status: int = 200
) -> Response:
    page = await submission.receipt_page(application)
    return render(
        request,
        "apply/receipt.html",
        {
            "application": application,
            "history": page.history,
            "attachments": page.content.attachments,
            "answers": page.content.answers,
            "questions": page.content.questions,
            "message": message,
            "can_withdraw": page.can_withdraw,
            "thread": await messages.thread(application),  # the messages block
        },
        status=status,
    )


@login_required
async def receipt(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    return await _receipt(request, application)


@login_required
@csrf_protected
async def withdraw(request: Request, form: Form) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    try:
        await submission.withdraw(user, application, ip=client_ip(request))
    except ServiceError as exc:  # e.g. past the deadline: back on the application's page, told why
        return await _receipt(request, application, message=exc.message, status=400)
    flash(request, _("Application %(ref)s withdrawn.", ref=application.reference))
    return redirect(request, "dashboard")


# A file opened in the browser gets its own policy: Chrome shows a PDF through an embedded
# viewer with inline styles, which the pages' policy (object-src 'none') would block; scripts,
# forms and framing stay forbidden.
FILE_POLICY = (
    "default-src 'none'; object-src 'self'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def content_disposition(kind: str, name: str) -> str:
    """`kind` ("inline" or "attachment") with `name` for every browser: an ASCII fallback
    without quotes or control characters, and the exact name in UTF-8 (RFC 6266)."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@login_required
async def download_attachment(request: Request) -> Response:
    """A file of an application, for its group, an assigned juror or an organiser
    (services/dossier.py decides): PDFs and images open in the browser, the rest downloads."""
    opened = await dossier.open_attachment(
        await require_user(request),
        int_param(request, "application_id"),
        int_param(request, "attachment_id"),
        ip=client_ip(request),
    )
    path = LocalStorage(request.app.state.settings.upload_dir).open_path(
        opened.attachment.stored_name
    )
    kind = "inline" if opened.inline else "attachment"
    headers = {
        "Content-Disposition": content_disposition(kind, opened.name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Security-Policy": FILE_POLICY,
    }
    return FileResponse(path, media_type=opened.attachment.content_type, headers=headers)


def _link_not_valid(request: Request, error: ServiceError) -> Response:
    if isinstance(error, PermissionDenied):
        title = _("This invitation is for someone else")
    else:
        title = _("Link not valid")
    context = {"title": title, "message": error.message}
    return render(request, "auth/message.html", context, status=error.status_code)


@login_required
async def invitation_page(request: Request) -> Response:
    """An invited member opens the link from the mail (after signing up or logging in)."""
    token = request.path_params["token"]
    try:
        _record, member, group = await groups.invitation_for(
            await require_user(request), token, ip=client_ip(request)
        )
    except ServiceError as exc:
        return _link_not_valid(request, exc)
    context = {"group": group, "member": member, "token": token}
    return render(request, "apply/invitation.html", context)


@login_required
@csrf_protected
async def accept_invitation(request: Request, form: Form) -> Response:
    user = await require_user(request)
    try:
        group = await groups.accept_invitation(
            user, request.path_params["token"], ip=client_ip(request)
        )
    except ServiceError as exc:
        return _link_not_valid(request, exc)
    flash(request, _("Welcome to %(group)s.", group=group.name))
    return redirect(request, "group", group_id=group.id)


routes = [
    Route("/me", dashboard, name="dashboard"),
    Route("/groups/new", new_group_page, name="new_group"),
    Route("/groups/new", create_group, methods=["POST"]),
    Route("/invitations/{token}", invitation_page, name="invitation"),
    Route("/invitations/{token}", accept_invitation, methods=["POST"]),
    Route("/groups/{group_id}", group_page, name="group"),
    Route("/groups/{group_id}", change_group, methods=["POST"]),
    Route("/calls/{slug}/apply", start_page, name="start_application"),
    Route("/calls/{slug}/apply", create_draft, methods=["POST"]),
    Route("/applications/{application_id}/step/{step}", form_step, name="edit_application"),
    Route("/applications/{application_id}/step/{step}", save_step, methods=["POST"]),
    Route(
        "/applications/{application_id}/submit",
        submit_application,
        methods=["POST"],
        name="submit_application",
    ),
    Route("/applications/{application_id}/receipt", receipt, name="receipt"),
    Route("/applications/{application_id}/withdraw", withdraw, methods=["POST"], name="withdraw"),
    Route(
        "/applications/{application_id}/files/{attachment_id}",
        download_attachment,
        name="attachment",
    ),
]
