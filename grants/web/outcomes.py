"""Telling the groups: the outcome mails' console (counts, previews, release), their texts per
language, and the messages between the secretariat and a group on the application's pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n import ngettext
from grants.models import Edition
from grants.services import messages, outcomes
from grants.services.errors import ServiceError
from grants.web.common import (
    Form,
    csrf_protected,
    flash,
    form_error,
    int_param,
    links_for,
    login_required,
    organiser_required,
    redirect,
    render,
    require_user,
    url_for,
)
from grants.web.session import client_ip


async def _console_context(request: Request, edition: Edition) -> dict[str, Any]:
    summaries = await outcomes.console(
        await require_user(request), edition, links=links_for(request)
    )
    return {"edition": edition, "summaries": summaries, "kind_name": outcomes.kind_name}


@organiser_required
async def console(request: Request, edition: Edition) -> Response:
    return render(request, "manage/outcomes.html", await _console_context(request, edition))


@organiser_required
@csrf_protected
async def release(request: Request, edition: Edition, form: Form) -> Response:
    kind = form.text("kind")
    try:
        done = await outcomes.release(
            await require_user(request),
            edition,
            kind_code=kind,
            confirmed=form.text(f"confirm_{kind}") == "yes",
            links=links_for(request),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = await _console_context(request, edition)
        return form_error(request, "manage/outcomes.html", context, exc, values=form.values())
    flash(
        request,
        ngettext(
            "%(num)s group told: %(mails)s mails queued.",
            "%(num)s groups told: %(mails)s mails queued.",
            done.applications,
            mails=done.mails,
        ),
    )
    return redirect(request, "outcomes", slug=edition.slug)


def _texts_context(edition: Edition, page: outcomes.TextsForm) -> dict[str, Any]:
    return {
        "edition": edition,
        "page": page,
        "languages": outcomes.MAIL_LANGUAGES,
        "kinds": outcomes.KINDS,
        "kind_name": outcomes.kind_name,
    }


@organiser_required
async def texts_page(request: Request, edition: Edition) -> Response:
    page = await outcomes.texts_form(
        await require_user(request),
        edition,
        request.query_params.get("kind", outcomes.KINDS[0].value),
        links=links_for(request),
    )
    context = {**_texts_context(edition, page), "values": page.values}
    return render(request, "manage/outcome_texts.html", context)


@organiser_required
@csrf_protected
async def save_texts(request: Request, edition: Edition, form: Form) -> Response:
    """Save one mail's texts, or (action=preview) show them filled in without saving."""
    user = await require_user(request)
    kind = form.text("kind")
    typed = form.values()
    try:
        typed = {name: form.text(name) for name in _text_fields()}
        if form.text("action") == "preview":
            page = await outcomes.texts_form(
                user, edition, kind, links=links_for(request), typed=typed
            )
            context = {**_texts_context(edition, page), "values": typed, "previewed": True}
            return render(request, "manage/outcome_texts.html", context)
        await outcomes.save_texts(user, edition, kind_code=kind, typed=typed, ip=client_ip(request))
    except ServiceError as exc:
        if exc.status_code != 400 or outcomes.kind_of(kind) is None:
            raise
        # The form again with what was typed; the previews show the saved texts meanwhile.
        page = await outcomes.texts_form(user, edition, kind, links=links_for(request))
        return form_error(
            request, "manage/outcome_texts.html", _texts_context(edition, page), exc, values=typed
        )
    flash(request, _("Texts saved."))
    url = url_for(request.app, "outcome_texts", slug=edition.slug) + f"?kind={kind}"
    return RedirectResponse(url, status_code=303)


def _text_fields() -> list[str]:
    return [f"{part}_{lang}" for lang in outcomes.MAIL_LANGUAGES for part in ("subject", "body")]


# --- Messages on the application's pages ------------------------------------------------------


async def _write(request: Request, form: Form, *, secretariat: bool) -> Response:
    user = await require_user(request)
    application_id = int_param(request, "application_id")
    write = messages.write_to_group if secretariat else messages.write_to_organisers
    try:
        await write(
            user,
            application_id,
            body=form.text("message", max_length=messages.MAX_MESSAGE + 100),
            links=links_for(request),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        if "body" in exc.errors:
            exc.errors["message"] = exc.errors.pop("body")
        page = await messages.conversation(user, application_id, secretariat=secretariat)
        context = {
            "application": page.application,
            "thread": page.thread,
            "message_side": "secretariat" if secretariat else "group",
        }
        return form_error(request, "messages/write.html", context, exc, values=form.values())
    flash(request, _("Message sent."))
    name = "manage_application" if secretariat else "receipt"
    url = url_for(request.app, name, application_id=application_id) + "#messages"
    return RedirectResponse(url, status_code=303)


@login_required
@csrf_protected
async def write_to_group(request: Request, form: Form) -> Response:
    return await _write(request, form, secretariat=True)


@login_required
@csrf_protected
async def write_to_secretariat(request: Request, form: Form) -> Response:
    return await _write(request, form, secretariat=False)


routes = [
    Route("/manage/{slug}/outcomes", console, name="outcomes"),
    Route("/manage/{slug}/outcomes/release", release, methods=["POST"], name="release_outcomes"),
    Route("/manage/{slug}/outcomes/texts", texts_page, name="outcome_texts"),
    Route("/manage/{slug}/outcomes/texts", save_texts, methods=["POST"], name="save_outcome_texts"),
    Route(
        "/manage/applications/{application_id}/messages",
        write_to_group,
        methods=["POST"],
        name="manage_message",
    ),
    Route(
        "/applications/{application_id}/messages",
        write_to_secretariat,
        methods=["POST"],
        name="application_message",
    ),
]
