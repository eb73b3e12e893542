"""The applicant's pages: dashboard, groups, the application form, submission and receipt."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.models import (
    AgeBand,
    Application,
    ApplicationMessage,
    ApplicationStatus,
    Attachment,
    GroupMember,
    QuestionKind,
    StatusChange,
)
from grants.security import client_ip
from grants.services import groups, submission
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import application_for_applicant, edition_by_slug
from grants.storage import LocalStorage
from grants.web.common import (
    checked_form,
    form_values,
    int_param,
    login_required,
    redirect,
    render,
    require_user,
)

STEPS = (1, 2, 3)


@login_required
async def dashboard(request: Request) -> Response:
    user = await require_user(request)
    my_groups = await groups.groups_of(user)
    applications = (
        await Application.filter(group__members__user=user)
        .distinct()
        .prefetch_related("edition", "group")
        .order_by("-created_at")
    )
    messages = (
        await ApplicationMessage.filter(application_id__in=[a.id for a in applications])
        .prefetch_related("application")
        .order_by("-created_at")
    )
    history = {a.id: await StatusChange.filter(application=a).order_by("at") for a in applications}
    return render(
        request,
        "apply/dashboard.html",
        {
            "groups": my_groups,
            "applications": applications,
            "messages": messages,
            "history": history,
        },
    )


@login_required
async def new_group(request: Request) -> Response:
    user = await require_user(request)
    context = {"kinds": groups.GROUP_KINDS, "age_bands": list(AgeBand)}
    if request.method == "GET":
        return render(request, "apply/group_new.html", context)
    form = await checked_form(request)
    values = form_values(form)
    try:
        group = await groups.create_group(
            user,
            name=values.get("name", ""),
            kind=values.get("kind", ""),
            country=values.get("country", ""),
            organisation=values.get("organisation", ""),
            lead_first_name=values.get("lead_first_name", ""),
            lead_age_band=values.get("lead_age_band", ""),
        )
    except ServiceError as exc:
        return render(
            request,
            "apply/group_new.html",
            {**context, "values": values, "errors": exc.errors, "message": exc.message},
            status=400,
        )
    request.session["flash"] = _("Group created. Add the other members of your team.")
    return redirect(request, "group", group_id=group.id)


@login_required
async def group_page(request: Request) -> Response:
    user = await require_user(request)
    group = await groups.group_for(user, int_param(request, "group_id"))
    context = {
        "group": group,
        "members": await GroupMember.filter(group=group).order_by("id"),
        "age_bands": list(AgeBand),
        "consent_age": await groups.consent_age_in_force(),
    }
    if request.method == "GET":
        return render(request, "apply/group.html", context)
    form = await checked_form(request)
    values = form_values(form)
    try:
        if values.get("action") == "consent":
            member_id = values.get("member_id", "")
            member = (
                await GroupMember.get_or_none(id=int(member_id), group=group)
                if member_id.isdigit()
                else None
            )
            if member is None:
                raise ServiceError(_("This member does not exist."))
            await groups.record_consent(user, member, guardian_name=values.get("guardian_name", ""))
            request.session["flash"] = _("Consent recorded for %(name)s.", name=member.first_name)
        else:
            member = await groups.add_member(
                user,
                group,
                first_name=values.get("first_name", ""),
                age_band=values.get("age_band", ""),
                invite_email=values.get("invite_email", ""),
                settings=request.app.state.settings,
            )
            request.session["flash"] = (
                _("Member added. We sent an invitation to %(email)s.", email=member.invite_email)
                if member.invite_email
                else _("Member added.")
            )
    except ServiceError as exc:
        context["members"] = await GroupMember.filter(group=group).order_by("id")
        return render(
            request,
            "apply/group.html",
            {**context, "values": values, "errors": exc.errors, "message": exc.message},
            status=400,
        )
    return redirect(request, "group", group_id=group.id)


@login_required
async def start_application(request: Request) -> Response:
    user = await require_user(request)
    edition = await edition_by_slug(request.path_params["slug"])
    my_groups = await groups.groups_of(user)
    context = {"edition": edition, "groups": my_groups, "languages": submission.LANGUAGE_CHOICES}
    if request.method == "GET":
        return render(request, "apply/start.html", context)
    form = await checked_form(request)
    values = form_values(form)
    group = next((g for g in my_groups if str(g.id) == values.get("group_id")), None)
    if group is None:
        return render(
            request,
            "apply/start.html",
            {
                **context,
                "values": values,
                "errors": {"group_id": _("Choose your group (or create one first).")},
                "message": _("Please correct the marked fields."),
            },
            status=400,
        )
    try:
        application = await submission.create_draft(
            user,
            edition=edition,
            group=group,
            title=values.get("title", ""),
            language=values.get("language", ""),
        )
    except ServiceError as exc:
        return render(
            request,
            "apply/start.html",
            {**context, "values": values, "errors": exc.errors, "message": exc.message},
            status=400,
        )
    return redirect(request, "edit_application", application_id=application.id, step=1)


def _form_context(content: submission.Content) -> dict:
    application = content.application
    return {
        "application": application,
        "edition": application.edition,
        "categories": content.categories,
        "questions": [q for q in content.questions if q.kind != QuestionKind.FILE],
        "file_questions": [q for q in content.questions if q.kind == QuestionKind.FILE],
        "attachments": content.attachments,
        "answers": content.answers,
        "languages": submission.LANGUAGE_CHOICES,
        "steps": STEPS,
    }


def clock(moment: datetime, zone: str) -> str:
    """The hour and minute in `zone`, with the zone named ("14:05 Europe/Paris")."""
    try:
        return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M ") + zone
    except (KeyError, ValueError):
        return moment.strftime("%H:%M UTC")


@login_required
async def edit_application(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    step = int_param(request, "step")
    if step not in STEPS:
        raise HTTPException(404)
    if application.status != ApplicationStatus.DRAFT:
        return redirect(request, "receipt", application_id=application.id)
    if request.method == "GET":
        content = await submission.load_content(application)
        context = {**_form_context(content), "step": step}
        if step == 3:
            context["problems"] = await submission.submission_problems(application, content)
            context["submit_key"] = secrets.token_urlsafe(16)
        return render(request, "apply/form.html", context)
    form = await checked_form(request)
    values = form_values(form)
    settings = request.app.state.settings
    errors: dict[str, str] = {}
    if step == 1:
        errors = await submission.save_project(
            user,
            application,
            title=values.get("title", ""),
            summary=values.get("summary", ""),
            language=values.get("language", ""),
            category_id=values.get("category", ""),
            publish_consent=values.get("publish_consent") == "yes",
        )
    elif step == 2:
        questions = await submission.questions_of(application)
        raw = {
            q.key: (
                form.getlist(q.key)
                if q.kind == QuestionKind.MULTI_CHOICE
                else values.get(q.key, "")
            )
            for q in questions
        }
        uploads = []
        for question in questions:
            upload = form.get(question.key) if question.kind == QuestionKind.FILE else None
            if isinstance(upload, UploadFile) and upload.filename:
                uploads.append(submission.Upload(question, upload.filename, upload.file))
        errors = await submission.save_answers(
            user, application, raw, questions, uploads=uploads, settings=settings
        )
        remove = values.get("remove_attachment", "")
        if remove.isdigit():
            await submission.remove_attachment(user, application, int(remove), settings=settings)
    if errors:
        context = {**_form_context(await submission.load_content(application)), "step": step}
        return render(
            request,
            "apply/form.html",
            {
                **context,
                "values": values,
                "errors": errors,
                "message": _("Saved, but some answers need your attention."),
            },
            status=400,
        )
    request.session["flash"] = _(
        "Draft saved at %(time)s.", time=clock(datetime.now(UTC), application.edition.timezone)
    )
    next_step = step + 1 if values.get("go") == "next" else step
    return redirect(
        request, "edit_application", application_id=application.id, step=min(next_step, 3)
    )


@login_required
async def submit_application(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    form = await checked_form(request)
    submit_key = str(form.get("submit_key", ""))[:64] or secrets.token_urlsafe(16)
    try:
        await submission.submit(
            user,
            application,
            submit_key=submit_key,
            settings=request.app.state.settings,
            ip=client_ip(request),
        )
    except ServiceError as exc:
        content = await submission.load_content(application)
        context = {
            **_form_context(content),
            "step": 3,
            "problems": exc.errors or await submission.submission_problems(application, content),
            "submit_key": secrets.token_urlsafe(16),
        }
        return render(request, "apply/form.html", {**context, "message": exc.message}, status=400)
    return redirect(request, "receipt", application_id=application.id)


@login_required
async def receipt(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    return await _receipt_page(request, application)


async def _receipt_page(
    request: Request, application: Application, *, message: str | None = None, status: int = 200
) -> Response:
    content = await submission.load_content(application)
    return render(
        request,
        "apply/receipt.html",
        {
            "application": application,
            "history": await StatusChange.filter(application=application).order_by("at"),
            "attachments": content.attachments,
            "answers": content.answers,
            "questions": content.questions,
            "message": message,
            "can_withdraw": submission.withdrawable(
                application, application.edition, submission.now()
            ),
        },
        status=status,
    )


@login_required
async def withdraw(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    await checked_form(request)
    try:
        await submission.withdraw(user, application, ip=client_ip(request))
    except ServiceError as exc:  # e.g. past the deadline: back on the application's page, told why
        return await _receipt_page(request, application, message=exc.message, status=400)
    request.session["flash"] = _("Application %(ref)s withdrawn.", ref=application.reference)
    return redirect(request, "dashboard")


@login_required
async def download_attachment(request: Request) -> Response:
    user = await require_user(request)
    application = await application_for_applicant(user, int_param(request, "application_id"))
    attachment = await Attachment.get_or_none(
        id=int_param(request, "attachment_id"), application=application
    )
    if attachment is None:
        raise NotFound(_("This file does not exist."))
    path = LocalStorage(request.app.state.settings.upload_dir).open_path(attachment.stored_name)
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.original_name,
        content_disposition_type="attachment",
    )


@login_required
async def invitation(request: Request) -> Response:
    """An invited member opens the link from the mail (after signing up or logging in) and joins."""
    user = await require_user(request)
    token = request.path_params["token"]
    if request.method == "POST":
        await checked_form(request)
    try:
        _record, member, group = await groups.invitation(token)
    except ServiceError as exc:
        return render(
            request,
            "auth/message.html",
            {"title": _("Link not valid"), "message": exc.message},
            status=400,
        )
    if request.method == "GET":
        return render(
            request, "apply/invitation.html", {"group": group, "member": member, "token": token}
        )
    group = await groups.accept_invitation(user, token)
    request.session["flash"] = _("Welcome to %(group)s.", group=group.name)
    return redirect(request, "group", group_id=group.id)


routes = [
    Route("/me", dashboard, name="dashboard"),
    Route("/groups/new", new_group, methods=["GET", "POST"], name="new_group"),
    Route("/invitations/{token}", invitation, methods=["GET", "POST"], name="invitation"),
    Route("/groups/{group_id}", group_page, methods=["GET", "POST"], name="group"),
    Route(
        "/calls/{slug}/apply", start_application, methods=["GET", "POST"], name="start_application"
    ),
    Route(
        "/applications/{application_id}/step/{step}",
        edit_application,
        methods=["GET", "POST"],
        name="edit_application",
    ),
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
