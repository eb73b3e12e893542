"""A person's own data: the download of everything stored about them, and erasure, asked by
the person on their account page or carried out by an organiser on their request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.models import Edition
from grants.services import privacy
from grants.services.errors import ServiceError
from grants.web.common import (
    Form,
    csrf_protected,
    flash,
    form_error,
    login_required,
    organiser_required,
    redirect,
    render,
    require_user,
)
from grants.web.session import client_ip, log_out


@login_required
async def export_data(request: Request) -> Response:
    """Everything stored about the signed-in person, as a JSON file to keep."""
    data = await privacy.export(await require_user(request), ip=client_ip(request))
    day = datetime.now(UTC).date().isoformat()
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2).encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="my-data-{day}.json"',
            "Cache-Control": "no-store",
        },
    )


@login_required
async def erase_page(request: Request) -> Response:
    return render(request, "privacy/erase.html")


@login_required
@csrf_protected
async def erase_own(request: Request, form: Form) -> Response:
    try:
        await privacy.erase_own_account(
            await require_user(request),
            password=form.text("password"),
            confirm=form.text("confirm") == "yes",
            settings=request.app.state.settings,
            ip=client_ip(request),
        )
    except ServiceError as exc:
        return form_error(request, "privacy/erase.html", {}, exc)
    await log_out(request)
    context = {
        "title": _("Your account has been erased"),
        "message": _(
            "Your personal data has been removed. Applications your group submitted and reviews "
            "you submitted are kept without your name, so the results stay fair."
        ),
    }
    return render(request, "auth/message.html", context)


@organiser_required
async def erase_person_page(request: Request, edition: Edition) -> Response:
    return render(request, "manage/erase.html", {"edition": edition})


@organiser_required
@csrf_protected
async def erase_someone(request: Request, edition: Edition, form: Form) -> Response:
    try:
        await privacy.erase_person(
            await require_user(request),
            edition,
            email=form.text("email"),
            password=form.text("password"),
            settings=request.app.state.settings,
            ip=client_ip(request),
        )
    except ServiceError as exc:
        values = {"email": form.text("email")}
        return form_error(request, "manage/erase.html", {"edition": edition}, exc, values=values)
    flash(request, _("The person's account has been erased."))
    return redirect(request, "manage", slug=edition.slug)


routes = [
    Route("/me/data", export_data, name="export_data"),
    Route("/me/erase", erase_page, name="erase_account"),
    Route("/me/erase", erase_own, methods=["POST"]),
    Route("/manage/{slug}/erase", erase_person_page, name="erase_person"),
    Route("/manage/{slug}/erase", erase_someone, methods=["POST"]),
]
