"""The organisers' pages: applications and screening, assignment, the jury desk, ranking, awards,
publication. Every page is under /manage/{slug} (`@organiser_required`) or names an application
that the service checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import Edition
from grants.services import (
    assignment,
    awards,
    conflicts,
    jurors,
    messages,
    progress,
    ranking,
    screening,
)
from grants.services.errors import NotFound, ServiceError
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


async def _overview_context(
    request: Request, edition: Edition, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """The console's main page: the list as `params` (else the GET query) asks for it."""
    if params is None:
        params = {key: request.query_params[key] for key in request.query_params}
    page = await screening.overview(await require_user(request), edition, params)
    return {
        "edition": edition,
        "page": page,
        "query": page.query,
        "panels": page.panels,
        "phases": screening.PHASES,
        "statuses": screening.LISTED,
        "sizes": screening.PAGE_SIZES,
        "reasons": [],
        "selected": set(),
        "failed": "",  # "bulk" when the bulk action's form comes back with an error
    }


@organiser_required
async def overview(request: Request, edition: Edition) -> Response:
    return render(request, "manage/overview.html", await _overview_context(request, edition))


def _list_values(form: Form) -> dict[str, str]:
    """The list's search, filters, sorting and page, as the bulk forms carry them along."""
    values = form.values()
    return {key: values[key][:200] for key in screening.LIST_FIELDS if values.get(key)}


def _ticked(form: Form) -> set[str]:
    """The ticked applications, to tick them again when the form comes back with an error."""
    try:
        return set(form.texts("application", max_length=20))
    except ServiceError:
        return set()


def _back_to_list(request: Request, edition: Edition, form: Form) -> RedirectResponse:
    query = urlencode(_list_values(form))
    path = url_for(request.app, "manage", slug=edition.slug)
    return RedirectResponse(path + ("?" + query if query else ""), status_code=303)


@organiser_required
@csrf_protected
async def bulk_screen(request: Request, edition: Edition, form: Form) -> Response:
    """The confirmation page of a bulk action on the ticked applications (or all that match the
    list's filters): what will change and what will be skipped. Nothing changes yet."""
    try:
        plan = await screening.plan(
            await require_user(request),
            edition,
            action=form.text("action"),
            reason=form.text("reason"),
            ids=form.texts("application"),
            everything=form.text("everything") == "all",
            params=_list_values(form),
        )
    except ServiceError as exc:
        context = await _overview_context(request, edition, _list_values(form))
        context.update(selected=_ticked(form), failed="bulk")
        return form_error(request, "manage/overview.html", context, exc, values=form.values())
    context = {"edition": edition, "plan": plan, "back": _list_values(form)}
    return render(request, "manage/bulk_confirm.html", context)


@organiser_required
@csrf_protected
async def bulk_screen_confirm(request: Request, edition: Edition, form: Form) -> Response:
    """A confirmed bulk action, in one transaction; back to the list with what was done."""
    try:
        done = await screening.act(
            await require_user(request),
            edition,
            action=form.text("action"),
            reason=form.text("reason"),
            ids=[form.text("ids")],
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = await _overview_context(request, edition, _list_values(form))
        context["failed"] = "bulk"
        return form_error(request, "manage/overview.html", context, exc, values=form.values())
    flash(request, " ".join(done.summary()))
    return _back_to_list(request, edition, form)


@login_required
@csrf_protected
async def screen(request: Request, form: Form) -> Response:
    application = await screening.screen(
        await require_user(request),
        int_param(request, "application_id"),
        decision=form.text("decision"),
        note=form.text("note"),
        ip=client_ip(request),
    )
    status = label("status", application.status)
    flash(request, _("%(ref)s marked %(status)s.", ref=application.reference, status=status))
    return redirect(request, "manage", slug=application.edition.slug)


@login_required
async def application_detail(request: Request) -> Response:
    page = await screening.application_file(
        await require_user(request), int_param(request, "application_id"), ip=client_ip(request)
    )
    context = {
        "application": page.application,
        "answers": page.answers,
        "history": page.history,
        "files": page.files,
        "reviews": page.reviews,
        "discussion": page.discussion,
    }
    context["thread"] = await messages.thread(page.application)  # the messages block
    return render(request, "manage/application.html", context)


@organiser_required
@csrf_protected
async def assign(request: Request, edition: Edition, form: Form) -> Response:
    try:
        result = await assignment.run_assignment(
            await require_user(request), edition, form.text("panel_id"), ip=client_ip(request)
        )
    except ServiceError as exc:
        context = await _overview_context(request, edition)
        context["reasons"] = getattr(exc, "reasons", list(exc.errors.values()))
        return form_error(request, "manage/overview.html", context, exc)
    loads = ", ".join(f"{name} {count}" for name, count in result.loads)
    total = f"{result.total_affinity:g}"
    message = _(
        "Assignment done: %(created)s new reviews assigned, %(kept)s kept.",
        created=result.created,
        kept=result.kept,
    )
    message += " " + _(
        "Total affinity %(total)s. Loads: %(loads)s.",
        total=total,
        loads=loads,
    )
    if result.dropped:
        message += " " + _(
            "%(n)s assignments under a conflict of interest were removed.", n=result.dropped
        )
    flash(request, message)
    return redirect(request, "manage", slug=edition.slug)


async def _jury_context(request: Request, edition: Edition) -> dict[str, Any]:
    desk = await progress.jury_desk(await require_user(request), edition)
    return {
        "edition": edition,
        "progress": desk.progress,
        "panels": desk.panels,
        "conflicts": desk.conflicts,
        "review_open": desk.review_open,
        "action": "",
    }


@organiser_required
async def jury_page(request: Request, edition: Edition) -> Response:
    return render(request, "manage/jury.html", await _jury_context(request, edition))


async def _pin(request: Request, edition: Edition, form: Form) -> str:
    await assignment.pin_pair(
        await require_user(request),
        edition,
        member_id=form.text("member_id"),
        reference=form.text("reference"),
        ip=client_ip(request),
    )
    reference = form.text("reference").strip().upper()
    return _("%(ref)s is assigned to the juror by hand; later runs keep it.", ref=reference)


async def _forbid(request: Request, edition: Edition, form: Form) -> str:
    done = await conflicts.forbid_pair(
        await require_user(request),
        edition,
        member_id=form.text("member_id"),
        reference=form.text("reference"),
        reason=form.text("reason"),
        ip=client_ip(request),
    )
    message = _("Conflict of interest recorded: this juror will never see this application.")
    if done.assignment_removed:
        return message + " " + _("Their assignment to it was removed.")
    if done.review_status == "submitted":
        kept = _("Their submitted review is kept; the ranking leaves it out and says why.")
        return message + " " + kept
    if done.review_status:
        return message + " " + _("Their draft review is kept but will not count in the ranking.")
    return message


async def _unassign(request: Request, edition: Edition, form: Form) -> str:
    removed = await assignment.unassign(
        await require_user(request), edition, form.text("assignment_id"), ip=client_ip(request)
    )
    return _(
        "%(juror)s no longer reviews %(ref)s.",
        juror=removed.juror.display_name,
        ref=removed.application.reference,
    )


async def _remind(request: Request, edition: Edition, form: Form) -> str:
    count = await progress.send_reminders(
        await require_user(request), edition, links=links_for(request), ip=client_ip(request)
    )
    return _("Reminders sent to %(n)s jurors.", n=count)


async def _close(request: Request, edition: Edition, form: Form) -> str:
    await progress.close_review(await require_user(request), edition, ip=client_ip(request))
    return _("The review phase is closed: the call is in deliberation and scores are frozen.")


async def _loads(request: Request, edition: Edition, form: Form) -> str:
    changed = await progress.set_loads(
        await require_user(request), edition, form.values(), ip=client_ip(request)
    )
    return _("Loads saved. Jurors changed: %(n)s.", n=changed)


async def _invite(request: Request, edition: Edition, form: Form) -> str:
    await jurors.invite_juror(
        await require_user(request),
        edition,
        panel_id=form.text("panel_id"),
        email=form.text("email"),
        links=links_for(request),
        ip=client_ip(request),
    )
    return _("Invitation sent to %(email)s.", email=form.text("email").strip().lower())


JURY_ACTIONS = {
    "pin": _pin,
    "forbid": _forbid,
    "unassign": _unassign,
    "remind": _remind,
    "close": _close,
    "invite": _invite,
    "loads": _loads,
}


@organiser_required
@csrf_protected
async def jury_action(request: Request, edition: Edition, form: Form) -> Response:
    """Every change an organiser makes to the jury: one form per action, one service each."""
    action = JURY_ACTIONS.get(request.path_params["action"])
    if action is None:
        raise NotFound(_("This page does not exist."))
    try:
        message = await action(request, edition, form)
    except ServiceError as exc:
        context = {**await _jury_context(request, edition), "action": request.path_params["action"]}
        return form_error(request, "manage/jury.html", context, exc, values=form.values())
    flash(request, message)
    return redirect(request, "manage_jury", slug=edition.slug)


@organiser_required
@csrf_protected
async def phase(request: Request, edition: Edition, form: Form) -> Response:
    await screening.set_phase(
        await require_user(request), edition, phase=form.text("phase"), ip=client_ip(request)
    )
    flash(request, _("Phase changed."))
    return redirect(request, "manage", slug=edition.slug)


async def _ranking_context(request: Request, edition: Edition, action: str = "") -> dict[str, Any]:
    page = await ranking.ranking_page(await require_user(request), edition)
    return {
        "edition": edition,
        "rows": page.rows,
        "applications": page.applications,
        "awards": page.awards,
        "rubric": page.rubric,
        "panels": page.panels,
        "method": page.method,
        "aggregators": page.aggregators,
        "jurors": page.jurors,
        "excluded": page.excluded,
        "recorded": page.recorded,
        "action": action,
    }


@organiser_required
async def ranking_page(request: Request, edition: Edition) -> Response:
    return render(request, "manage/ranking.html", await _ranking_context(request, edition))


@organiser_required
@csrf_protected
async def record_award(request: Request, edition: Edition, form: Form) -> Response:
    """Record an award, or (action=publish) publish the results."""
    user = await require_user(request)
    try:
        if form.text("action") == "publish":
            await awards.publish(user, edition, ip=client_ip(request))
            flash(request, _("Results published."))
            return redirect(request, "winners", slug=edition.slug)
        await awards.record_award(
            user,
            edition,
            reference=form.text("reference"),
            title=form.text("title"),
            position=form.text("position"),
            amount_eur=form.text("amount_eur"),
            citation=form.text("citation"),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = await _ranking_context(request, edition, "award")
        return form_error(request, "manage/ranking.html", context, exc, values=form.values())
    flash(request, _("Award recorded. It stays private until you publish."))
    return redirect(request, "ranking", slug=edition.slug)


@organiser_required
@csrf_protected
async def ranking_method(request: Request, edition: Edition, form: Form) -> Response:
    """Switch the ranking's aggregator and the panels' weights."""
    try:
        await ranking.set_method(
            await require_user(request),
            edition,
            aggregator=form.text("aggregator"),
            weights=form.values(),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = await _ranking_context(request, edition, "method")
        return form_error(request, "manage/ranking.html", context, exc, values=form.values())
    flash(request, _("The ranking is now computed this way."))
    return redirect(request, "ranking", slug=edition.slug)


routes = [
    Route("/manage/{slug}", overview, name="manage"),
    Route("/manage/{slug}/assign", assign, methods=["POST"], name="assign"),
    Route("/manage/{slug}/jury", jury_page, name="manage_jury"),
    Route("/manage/{slug}/jury/{action}", jury_action, methods=["POST"], name="manage_jury_action"),
    Route("/manage/{slug}/phase", phase, methods=["POST"], name="phase"),
    Route("/manage/{slug}/screening", bulk_screen, methods=["POST"], name="bulk_screen"),
    Route(
        "/manage/{slug}/screening/confirm",
        bulk_screen_confirm,
        methods=["POST"],
        name="bulk_screen_confirm",
    ),
    Route("/manage/{slug}/ranking", ranking_page, name="ranking"),
    Route("/manage/{slug}/ranking", record_award, methods=["POST"]),
    Route(
        "/manage/{slug}/ranking/method",
        ranking_method,
        methods=["POST"],
        name="ranking_method",
    ),
    Route("/manage/applications/{application_id}", application_detail, name="manage_application"),
    Route("/manage/applications/{application_id}/screen", screen, methods=["POST"], name="screen"),
]
