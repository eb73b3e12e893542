"""The organisers' pages: applications and screening, assignment, ranking, awards, publication."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import Application, Assignment, Award, Conflict, Panel, StatusChange
from grants.security import client_ip
from grants.services import awards, jury, review, screening, submission
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


async def _overview_context(edition) -> dict:
    applications = (
        await Application.filter(edition=edition)
        .exclude(status="draft")
        .prefetch_related("group", "category")
        .order_by("reference")
    )
    panels = await Panel.filter(edition=edition).order_by("id")
    assigned = await Assignment.filter(application__edition=edition).prefetch_related(
        "juror", "application", "panel"
    )
    return {
        "edition": edition,
        "applications": applications,
        "panels": panels,
        "assignments": assigned,
        "phases": screening.PHASES,
        "reasons": [],
    }


@login_required
async def overview(request: Request) -> Response:
    _user, edition = await _edition(request)
    return render(request, "manage/overview.html", await _overview_context(edition))


@login_required
async def screen(request: Request) -> Response:
    user = await require_user(request)
    application = await screening.application_for_organiser(
        user, int_param(request, "application_id")
    )
    form = await checked_form(request)
    values = form_values(form)
    await screening.screen(
        user,
        application,
        decision=values.get("decision", ""),
        note=values.get("note", ""),
        ip=client_ip(request),
    )
    request.session["flash"] = _(
        "%(ref)s marked %(status)s.",
        ref=application.reference,
        status=label("status", application.status),
    )
    return redirect(request, "manage", slug=application.edition.slug)


@login_required
async def application_detail(request: Request) -> Response:
    user = await require_user(request)
    application = await screening.application_for_organiser(
        user, int_param(request, "application_id")
    )
    return render(
        request,
        "manage/application.html",
        {
            "application": application,
            "answers": await submission.answers_by_key(application),
            "history": await StatusChange.filter(application=application).order_by("at"),
        },
    )


@login_required
async def assign(request: Request) -> Response:
    user, edition = await _edition(request)
    form = await checked_form(request)
    panel_id = str(form.get("panel_id", ""))
    panel = (
        await Panel.get_or_none(id=int(panel_id), edition=edition) if panel_id.isdigit() else None
    )
    if panel is None:
        raise NotFound(_("This panel does not exist."))
    try:
        result = await review.run_assignment(user, edition, panel, ip=client_ip(request))
    except review.AssignmentImpossible as exc:
        return render(
            request,
            "manage/overview.html",
            {
                **await _overview_context(edition),
                "reasons": exc.reasons,
                "message": _("The assignment is impossible as the panel stands:"),
            },
            status=400,
        )
    loads = ", ".join(f"{name} {count}" for name, count in result.loads)
    flash = _(
        "Assignment done: %(created)s new reviews assigned, %(kept)s kept.",
        created=result.created,
        kept=result.kept,
    )
    flash += " " + _(
        "Total affinity %(total)s. Loads: %(loads)s.",
        total=f"{result.total_affinity:g}",
        loads=loads,
    )
    if result.dropped:
        flash += " " + _(
            "%(n)s assignments under a conflict of interest were removed.", n=result.dropped
        )
    request.session["flash"] = flash
    return redirect(request, "manage", slug=edition.slug)


async def _jury_context(user, edition) -> dict:
    return {
        "edition": edition,
        "progress": await jury.progress(user, edition),
        "panels": await Panel.filter(edition=edition).order_by("id"),
        "conflicts": await Conflict.filter(application__edition=edition)
        .prefetch_related("juror", "application")
        .order_by("id"),
        "review_open": edition.status in review.REVIEW_OPEN,
        "action": "",
    }


@login_required
async def jury_page(request: Request) -> Response:
    user, edition = await _edition(request)
    return render(request, "manage/jury.html", await _jury_context(user, edition))


JURY_ACTIONS = {"pin", "forbid", "unassign", "remind", "close", "invite"}


@login_required
async def jury_action(request: Request) -> Response:
    """Every change an organiser makes to the jury: one form per action, one service each."""
    user, edition = await _edition(request)
    form = await checked_form(request)
    values = form_values(form)
    action = request.path_params["action"]
    if action not in JURY_ACTIONS:
        raise NotFound(_("This page does not exist."))
    ip = client_ip(request)
    try:
        if action == "pin":
            await jury.pin_pair(
                user,
                edition,
                member_id=values.get("member_id", ""),
                reference=values.get("reference", ""),
                ip=ip,
            )
            flash = _(
                "%(ref)s is assigned to the juror by hand; later runs keep it.",
                ref=values.get("reference", "").strip().upper(),
            )
        elif action == "forbid":
            removed = await jury.forbid_pair(
                user,
                edition,
                member_id=values.get("member_id", ""),
                reference=values.get("reference", ""),
                reason=values.get("reason", ""),
                ip=ip,
            )
            flash = _("Conflict of interest recorded: this juror will never see this application.")
            if removed:
                flash += " " + _("Their assignment to it was removed.")
        elif action == "unassign":
            removed_assignment = await jury.unassign(
                user, edition, values.get("assignment_id", ""), ip=ip
            )
            flash = _(
                "%(juror)s no longer reviews %(ref)s.",
                juror=removed_assignment.juror.display_name,
                ref=removed_assignment.application.reference,
            )
        elif action == "remind":
            count = await jury.send_reminders(
                user, edition, settings=request.app.state.settings, ip=ip
            )
            flash = _("Reminders sent to %(n)s jurors.", n=count)
        elif action == "close":
            await jury.close_review(user, edition, ip=ip)
            flash = _(
                "The review phase is closed: the call is in deliberation and scores are frozen."
            )
        else:
            await jury.invite_juror(
                user,
                edition,
                panel_id=values.get("panel_id", ""),
                email=values.get("email", ""),
                settings=request.app.state.settings,
                ip=ip,
            )
            flash = _(
                "Invitation sent to %(email)s.", email=values.get("email", "").strip().lower()
            )
    except ServiceError as exc:
        if exc.status_code != 400:
            raise
        return render(
            request,
            "manage/jury.html",
            {
                **await _jury_context(user, edition),
                "values": values,
                "action": action,
                "errors": exc.errors,
                "message": exc.message,
            },
            status=400,
        )
    request.session["flash"] = flash
    return redirect(request, "manage_jury", slug=edition.slug)


@login_required
async def phase(request: Request) -> Response:
    user, edition = await _edition(request)
    form = await checked_form(request)
    await screening.set_phase(
        user, edition, phase=str(form.get("phase", "")), ip=client_ip(request)
    )
    request.session["flash"] = _("Phase changed.")
    return redirect(request, "manage", slug=edition.slug)


@login_required
async def ranking(request: Request) -> Response:
    user, edition = await _edition(request)
    rows = await review.ranking(user, edition)
    titles = {a.reference: a for a in await Application.filter(edition=edition)}
    awarded = {a.application_id: a for a in await Award.filter(edition=edition)}  # type: ignore[attr-defined]
    context = {
        "edition": edition,
        "rows": rows,
        "applications": titles,
        "awards": awarded,
        "rubric": review.edition_rubric(edition),
    }
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
            user,
            edition,
            reference=values.get("reference", ""),
            title=values.get("title", ""),
            position=int(position) if position.isdigit() else 1,
            amount_eur=int(amount) if amount.isdigit() else 0,
            citation=values.get("citation", ""),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        return render(
            request,
            "manage/ranking.html",
            {**context, "values": values, "errors": exc.errors, "message": exc.message},
            status=400,
        )
    request.session["flash"] = _("Award recorded. It stays private until you publish.")
    return redirect(request, "ranking", slug=edition.slug)


routes = [
    Route("/manage/{slug}", overview, name="manage"),
    Route("/manage/{slug}/assign", assign, methods=["POST"], name="assign"),
    Route("/manage/{slug}/jury", jury_page, name="manage_jury"),
    Route("/manage/{slug}/jury/{action}", jury_action, methods=["POST"], name="manage_jury_action"),
    Route("/manage/{slug}/phase", phase, methods=["POST"], name="phase"),
    Route("/manage/{slug}/ranking", ranking, methods=["GET", "POST"], name="ranking"),
    Route("/manage/applications/{application_id}", application_detail, name="manage_application"),
    Route("/manage/applications/{application_id}/screen", screen, methods=["POST"], name="screen"),
]
