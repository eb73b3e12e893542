"""What every handler shares: rendering, the current user, CSRF-checked forms, errors."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import User, hot
from grants.security import CSRF_FIELD, csrf_token, csrf_valid, log_out, password_mark

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
Handler = Callable[[Request], Awaitable[Response]]


def build_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "xml", "txt"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.gettext(message),
        lambda singular, plural, n: i18n.translations(i18n.current_locale.get()).ungettext(
            singular, plural, n
        ),
        newstyle=True,
    )
    env.filters["local"] = localise
    env.filters["tr"] = translated
    env.globals["label"] = label
    return env


def translated(value: Any) -> str:
    """Pick the current language from a {"en": .., "fr": .., "ru": ..} dict (English fallback)."""
    if hasattr(value, "as_dict"):  # scoring.Text
        value = value.as_dict()
    if isinstance(value, dict):
        return str(value.get(i18n.current_locale.get()) or value.get("en") or "")
    return "" if value is None else str(value)


def localise(moment: datetime | None, zone: str = "UTC") -> str:
    """A UTC datetime shown in `zone`, with the zone named so nobody has to guess."""
    if moment is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M ") + zone


async def current_user(request: Request) -> User | None:
    if "user" not in request.state._state:
        uid = request.session.get("uid")
        user = await hot.active_user(uid) if isinstance(uid, int) else None
        if user is not None and not hmac.compare_digest(
            request.session.get("pw", ""), password_mark(user.password_hash)
        ):
            user = None  # the password changed since this session began (a reset elsewhere): log in again
            log_out(request)
        request.state.user = user
    return request.state.user


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    has_session = "session" in request.scope
    page = env.get_template(template).render(
        request=request,
        user=request.state._state.get("user"),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request) if has_session else "",
        flash=request.session.pop("flash", None) if has_session else None,
        url=lambda name, **params: url_for(request.app, name, **params),
        lang=i18n.current_locale.get(),
        ui_languages=i18n.LANGUAGES,
        **{"errors": {}, "values": {}, "message": None, **(context or {})},
    )
    return HTMLResponse(page, status_code=status)


def local_path(target: str, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: a `next=` never leads off-site.

    Browsers read "//host" and "/\\host" as another host, so both are refused.
    """
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def route_index(routes: list[BaseRoute]) -> dict[str, BaseRoute]:
    """Named routes by name, for `url_for`; a name used twice is left to Starlette's lookup."""
    named = [route for route in routes if getattr(route, "name", None)]
    names = [route.name for route in named]  # type: ignore[attr-defined]
    return {route.name: route for route in named if names.count(route.name) == 1}  # type: ignore[attr-defined]


def url_for(app: Starlette, name: str, **params: Any) -> str:
    """The path of a named route.

    Starlette's own lookup tries the routes one by one (about a hundred here, for each of a
    page's dozen links: a tenth of a page's rendering time); the index built by `create_app`
    makes it one dictionary lookup.
    """
    route = app.state.route_by_name.get(name)
    return str((route or app).url_path_for(name, **params))


def redirect(request: Request, name: str, **params: Any) -> RedirectResponse:
    return RedirectResponse(url_for(request.app, name, **params), status_code=303)


async def checked_form(request: Request) -> FormData:
    """The request's form, after checking its CSRF token (403 when missing or wrong)."""
    form = await request.form(max_files=20, max_fields=500, max_part_size=1024 * 1024)
    submitted = form.get(CSRF_FIELD) or request.headers.get("x-csrf-token")
    if not csrf_valid(request, submitted if isinstance(submitted, str) else None):
        raise HTTPException(
            403, _("This form has expired. Go back, reload the page and try again.")
        )
    return FormData(
        [
            (key, clean_text(value) if isinstance(value, str) else value)
            for key, value in form.multi_items()
        ]
    )


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Typed text without control characters (NUL is refused by PostgreSQL, and nobody types them)."""
    return CONTROL_CHARACTERS.sub("", value)


def login_required(handler: Handler) -> Handler:
    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if await current_user(request) is None:
            target = quote(str(request.url.path))
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return await handler(request)

    return wrapper


async def require_user(request: Request) -> User:
    user = await current_user(request)
    assert user is not None, "handler must be wrapped with @login_required"
    return user


def int_param(request: Request, name: str) -> int:
    """A numeric path parameter: anything else is simply a page that does not exist."""
    try:
        return int(request.path_params[name])
    except (KeyError, ValueError):
        raise HTTPException(404) from None


def form_values(form: FormData) -> dict[str, str]:
    """What the user typed, to put back into the form after an error."""
    return {
        key: value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD
    }
