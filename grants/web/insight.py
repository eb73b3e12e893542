"""What organisers read about their call: the audit log (/manage/{slug}/audit, and site-wide for
administrators at /admin/audit), filtered, a page at a time or as CSV; the dashboard of figures
and charts (/manage/{slug}/dashboard)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from grants import i18n
from grants.i18n import gettext as _
from grants.models import Edition
from grants.services import audit_log, dashboard, exports
from grants.services.errors import ServiceError
from grants.services.parsing import clean_text
from grants.web import charts
from grants.web.common import form_error, login_required, organiser_required, render, require_user
from grants.web.session import client_ip


def _params(request: Request) -> dict[str, str]:
    return {key: request.query_params.get(key, "") for key in audit_log.FIELDS}


async def _audit(request: Request, edition: Edition | None) -> Response:
    params, user = _params(request), await require_user(request)
    context: dict[str, Any] = {"edition": edition}
    try:
        page = await audit_log.audit_page(
            user, edition, params, page=request.query_params.get("page", "")
        )
    except ServiceError as error:
        if error.status_code != 400:
            raise
        typed = {key: clean_text(value)[:200] for key, value in params.items()}
        context.update(log=None, actions=await audit_log.action_choices(user, edition))
        return form_error(request, "manage/audit.html", context, error, values=typed)
    query = page.filters.as_params()
    context.update(
        actions=page.actions,
        log=page,
        values=query,
        csv_query=urlencode(query),
        page_query={n: urlencode({**query, "page": n}) for n in (page.page - 1, page.page + 1)},
    )
    return render(request, "manage/audit.html", context)


async def _audit_csv(request: Request, edition: Edition | None) -> Response:
    user = await require_user(request)
    try:
        table = await audit_log.audit_export(user, edition, _params(request), ip=client_ip(request))
    except ServiceError as error:
        if error.status_code != 400:
            raise
        return await _audit(request, edition)  # the form, with what is wrong in the filters
    name = f"{edition.slug if edition else 'site'}-audit-log.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return StreamingResponse(
        exports.csv_chunks(table), media_type=exports.FORMATS["csv"], headers=headers
    )


@organiser_required
async def edition_audit(request: Request, edition: Edition) -> Response:
    return await _audit(request, edition)


@organiser_required
async def edition_audit_csv(request: Request, edition: Edition) -> Response:
    return await _audit_csv(request, edition)


@login_required
async def site_audit(request: Request) -> Response:
    return await _audit(request, None)


@login_required
async def site_audit_csv(request: Request) -> Response:
    return await _audit_csv(request, None)


def _day_words(days: list[date]) -> dict[date, str]:
    locale = i18n.current_locale.get()
    return {day: format_date(day, format="medium", locale=locale) for day in days}


@organiser_required
async def edition_dashboard(request: Request, edition: Edition) -> Response:
    board = await dashboard.dashboard(await require_user(request), edition)
    day_words = _day_words([day for day, _count in board.per_day])

    def shares(rows: list[dashboard.Share]) -> list[tuple[str, int]]:
        return [(s.label, s.count) for s in rows]

    svg = {
        "status": charts.bars("chart-status", _("Applications by status"), shares(board.by_status)),
        "country": charts.bars(
            "chart-country", _("Applications by country"), shares(board.by_country)
        ),
        "category": charts.bars(
            "chart-category", _("Applications by category"), shares(board.by_category)
        ),
        "language": charts.bars(
            "chart-language", _("Applications by language"), shares(board.by_language)
        ),
        "days": charts.per_day(
            "chart-days",
            _("Applications submitted per day"),
            board.per_day,
            day_words=day_words,
            deadline=board.deadline,
        ),
        "jurors": charts.progress(
            "chart-jurors",
            _("Reviews submitted per juror"),
            [(f"{j.name} ({j.panel})", j.submitted, j.assigned) for j in board.jurors],
        ),
        "panels": charts.progress(
            "chart-panels",
            _("Reviews submitted per panel"),
            [(p.name, p.submitted, p.assigned) for p in board.panels],
        ),
    }
    context = {"edition": edition, "board": board, "svg": svg, "day_words": day_words}
    return render(request, "manage/dashboard.html", context)


routes = [
    Route("/manage/{slug}/audit", edition_audit, name="audit_log"),
    Route("/manage/{slug}/audit.csv", edition_audit_csv, name="audit_log_csv"),
    Route("/manage/{slug}/dashboard", edition_dashboard, name="edition_dashboard"),
    Route("/admin/audit", site_audit, name="site_audit_log"),
    Route("/admin/audit.csv", site_audit_csv, name="site_audit_log_csv"),
]
