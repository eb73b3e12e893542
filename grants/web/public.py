"""Pages for everyone: home, the call page, winners, language choice."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import scoring
from grants import i18n
from grants.models import Category, Edition, EditionStatus
from grants.services import awards
from grants.services.permissions import edition_by_slug
from grants.web.common import current_user, local_path, render


async def home(request: Request) -> Response:
    await current_user(request)
    editions = (
        await Edition.exclude(status=EditionStatus.DRAFT)
        .prefetch_related("programme")
        .order_by("-year", "id")
    )
    return render(request, "public/home.html", {"editions": editions})


async def call_page(request: Request) -> Response:
    await current_user(request)
    edition = await edition_by_slug(request.path_params["slug"])
    if edition.status == EditionStatus.DRAFT:
        from starlette.exceptions import HTTPException

        raise HTTPException(404)
    categories = await Category.filter(edition=edition).order_by("id")
    user_zone = request.session.get("tz") or ""
    return render(
        request,
        "public/call.html",
        {
            "edition": edition,
            "categories": categories,
            "rubric": scoring.get_rubric(edition.rubric_name),
            "user_zone": user_zone,
        },
    )


async def winners(request: Request) -> Response:
    await current_user(request)
    edition = await edition_by_slug(request.path_params["slug"])
    return render(
        request,
        "public/winners.html",
        {
            "edition": edition,
            "winners": await awards.public_winners(edition),
            "published": awards.is_public(edition),
        },
    )


async def choose_language(request: Request) -> Response:
    language = request.query_params.get("lang", "")
    if language in i18n.LANGUAGES:
        request.session["lang"] = language
    return RedirectResponse(local_path(request.query_params.get("next", "/")), status_code=303)


routes = [
    Route("/", home, name="home"),
    Route("/calls/{slug}", call_page, name="call"),
    Route("/calls/{slug}/winners", winners, name="winners"),
    Route("/language", choose_language, name="language"),
]
