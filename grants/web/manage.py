"""The organisers' pages: applications and screening, assignment, ranking, awards, publication."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import Application, Assignment, Award, Panel, StatusChange
from grants.security import client_ip
from grants.services import awards, review, screening
from grants.services.errors import NotFound, ServiceError
from grants.services.permissions import edition_by_slug, require_organiser
from grants.web.common import (
    checked_form,
    form_values,
    int_param,
    login_required,
    redirect,
    render,
    require_user,
)


async def _edition(request: Request):
    user = await require_user(request)
    edition = await edition_by_slug(request.path_params["slug"])
    await require_organiser(user, edition)
    return user, edition


@login_required
async def overview(request: Request) -> Response:
    _user, edition = await _edition(request)
    applications = await Application.filter(edition=edition).exclude(status="draft").prefetch_related("group", "category").order_by("reference")
    panels = await Panel.filter(edition=edition).order_by("id")
    assigned = await Assignment.filter(application__edition=edition).prefetch_related("juror", "application", "panel")
    return render(request, "manage/overview.html", {
        "edition": edition, "applications": applications, "panels": panels, "assignments": assigned,
        "phases": screening.PHASES,
    })


@login_required
async def screen(request: Request) -> Response:
    user = await require_user(request)
    application = await screening.application_for_organiser(user, int_param(request, "application_id"))
    form = await checked_form(request)
    values = form_values(form)
    await screening.screen(user, application, decision=values.get("decision", ""), note=values.get("note", ""), ip=client_ip(request))
    request.session["flash"] = _("%(ref)s marked %(status)s.", ref=application.reference, status=label("status", application.status))
    return redirect(request, "manage", slug=application.edition.slug)


@login_required
async def application_detail(request: Request) -> Response:
    user = await require_user(request)
    application = await screening.application_for_organiser(user, int_param(request, "application_id"))
    from grants.services import submission

    return render(request, "manage/application.html", {
        "application": application, "answers": await submission.answers_by_key(application),
        "history": await StatusChange.filter(application=application).order_by("at"),
    })


@login_required
async def assign(request: Request) -> Response:
    user, edition = await _edition(request)
    form = await checked_form(request)
    panel = await Panel.get_or_none(id=int(str(form.get("panel_id", "0")) or 0) if str(form.get("panel_id", "")).isdigit() else 0, edition=edition)
    if panel is None:
        raise NotFound(_("This panel does not exist."))
    result = await review.run_assignment(user, edition, panel, ip=client_ip(request))
    request.session["flash"] = _("Assignment done: %(created)s new reviews assigned, %(kept)s kept.", created=result.created, kept=result.kept)
    return redirect(request, "manage", slug=edition.slug)


@login_required
async def phase(request: Request) -> Response:
    user, edition = await _edition(request)
    form = await checked_form(request)
    await screening.set_phase(user, edition, phase=str(form.get("phase", "")), ip=client_ip(request))
    request.session["flash"] = _("Phase changed.")
    return redirect(request, "manage", slug=edition.slug)


@login_required
async def ranking(request: Request) -> Response:
    user, edition = await _edition(request)
    rows = await review.ranking(user, edition)
    titles = {a.reference: a for a in await Application.filter(edition=edition)}
    awarded = {a.application_id: a for a in await Award.filter(edition=edition)}  # type: ignore[attr-defined]
    context = {"edition": edition, "rows": rows, "applications": titles, "awards": awarded,
               "rubric": review.edition_rubric(edition)}
    if request.method == "GET":
        return render(request, "manage/ranking.html", context)
    form = await checked_form(request)
    values = form_values(form)
    try:
        if values.get("action") == "publish":
            await awards.publish(user, edition, ip=client_ip(request))
            request.session["flash"] = _("Results published.")
            return redirect(request, "winners", slug=edition.slug)
        position = values.get("position", "1")
        amount = values.get("amount_eur", "0")
        await awards.record_award(
            user, edition, reference=values.get("reference", ""), title=values.get("title", ""),
            position=int(position) if position.isdigit() else 1, amount_eur=int(amount) if amount.isdigit() else 0,
            citation=values.get("citation", ""), ip=client_ip(request),
        )
    except ServiceError as exc:
        return render(request, "manage/ranking.html", {**context, "values": values, "errors": exc.errors, "message": exc.message}, status=400)
    request.session["flash"] = _("Award recorded. It stays private until you publish.")
    return redirect(request, "ranking", slug=edition.slug)


routes = [
    Route("/manage/{slug}", overview, name="manage"),
    Route("/manage/{slug}/assign", assign, methods=["POST"], name="assign"),
    Route("/manage/{slug}/phase", phase, methods=["POST"], name="phase"),
    Route("/manage/{slug}/ranking", ranking, methods=["GET", "POST"], name="ranking"),
    Route("/manage/applications/{application_id}", application_detail, name="manage_application"),
    Route("/manage/applications/{application_id}/screen", screen, methods=["POST"], name="screen"),
]
