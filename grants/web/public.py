"""Pages for everyone: home, the call page, winners, language choice."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from grants import i18n
from grants.services import public
from grants.web.common import local_path, render
from grants.web.session import current_user


async def home(request: Request) -> Response:
    await current_user(request)
    return render(request, "public/home.html", {"editions": await public.public_editions()})


async def call_page(request: Request) -> Response:
    await current_user(request)
    page = await public.call_page(request.path_params["slug"])
    context = {"edition": page.edition, "categories": page.categories, "rubric": page.rubric}
    return render(request, "public/call.html", context)


async def winners(request: Request) -> Response:
    await current_user(request)
    page = await public.winners_page(request.path_params["slug"])
    context = {"edition": page.edition, "winners": page.winners, "published": page.published}
    return render(request, "public/winners.html", context)


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
