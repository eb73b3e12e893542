"""What every handler shares: rendering, links, the posted form, decorators, form errors.

A handler parses, calls one service, renders: `@login_required`, `@organiser_required` and
`@csrf_protected` do the checks every handler would otherwise repeat, `Form` reads what was
posted, and `form_error` puts a refused form back in front of the user with what they typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from grants import i18n
from grants.i18n import dates
from grants.i18n import gettext as _
from grants.i18n.labels import juror_name, label
from grants.mail import Links, secret_link
from grants.models import User
from grants.services import permissions
from grants.services.errors import InvalidInput, ServiceError
from grants.services.parsing import MAX_TEXT, clean_text, length_error, whole_number
from grants.web.session import CSRF_FIELD, csrf_token, csrf_valid, current_user

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
Handler = Callable[[Request], Awaitable[Response]]


def build_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "xml", "txt"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        lambda message: i18n.gettext(message),
        lambda singular, plural, n: i18n.translations(i18n.current_locale.get()).ungettext(
            singular, plural, n
        ),
        newstyle=True,
    )
    env.filters["local"] = dates.in_zone
    env.filters["machine"] = dates.machine
    env.filters["tr"] = i18n.translated
    env.globals["label"] = label
    env.globals["juror_name"] = juror_name
    return env


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


def form_error(
    request: Request,
    template: str,
    context: dict[str, Any],
    error: ServiceError,
    *,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form again, as a 400, with the error summary, each field's error and what was typed.

    A refusal that is not about the form (404, 403) goes on to the error page."""
    if error.status_code != 400:
        raise error
    return render(
        request,
        template,
        {**context, "values": values or {}, "errors": error.errors, "message": error.message},
        status=400,
    )


def flash(request: Request, message: str) -> None:
    """A message for the next page the user sees (after a redirect)."""
    request.session["flash"] = message


def local_path(target: str, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: a `next=` never leads off-site.

    Browsers read "//host" and "/\\host" as another host, so both are refused.
    """
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def route_index(routes: list[BaseRoute]) -> dict[str, BaseRoute]:
    """Named routes by name, for `url_for`; a name used twice is left to Starlette's lookup."""
    named = [(getattr(route, "name", None), route) for route in routes]
    names = [name for name, _route in named if name]
    return {name: route for name, route in named if name and names.count(name) == 1}


def url_for(app: Starlette, name: str, **params: Any) -> str:
    """The path of a named route.

    Starlette's own lookup tries the routes one by one (about a hundred here, for each of a
    page's dozen links); the index built by `create_app` makes it one dictionary lookup.
    """
    route = app.state.route_by_name.get(name)
    return str((route or app).url_path_for(name, **params))


def links_for(request: Request) -> Links:
    """Absolute links to named routes, for services to put in mails. A link with a `token` is
    a secret: marked, so that the outbox removes it from the stored mail once sent."""
    base = request.app.state.settings.base_url

    def link(name: str, /, **params: object) -> str:
        url = base + url_for(request.app, name, **params)
        return secret_link(url) if "token" in params else url

    return link


def redirect(request: Request, name: str, **params: Any) -> RedirectResponse:
    return RedirectResponse(url_for(request.app, name, **params), status_code=303)


class Form:
    """A posted form whose CSRF token was checked. Every text value comes out without control
    characters (NUL included) and no longer than a stated limit: `MAX_TEXT`, or the column it is
    meant for (`max_length=parsing.max_length(Model, "field")`); a longer one is refused as that
    field's error (InvalidInput, a 400 that keeps what was typed). Files apart, their names
    cleaned the same way."""

    def __init__(self, data: FormData) -> None:
        self._data = data

    def text(self, name: str, default: str = "", *, max_length: int = MAX_TEXT) -> str:
        value = self._data.get(name)
        return self._fitting(name, value, max_length) if isinstance(value, str) else default

    def texts(self, name: str, *, max_length: int = MAX_TEXT) -> list[str]:
        return [
            self._fitting(name, v, max_length)
            for v in self._data.getlist(name)
            if isinstance(v, str)
        ]

    def file(self, name: str) -> UploadFile | None:
        """The file sent under `name`, if one was chosen (its name cleaned and cut to 255)."""
        value = self._data.get(name)
        if not (isinstance(value, UploadFile) and value.filename):
            return None
        value.filename = clean_text(value.filename)[-255:]
        return value

    def lists(self) -> dict[str, list[str]]:
        """Every text field with all its values (a group of checkboxes sends several)."""
        return {key: self.texts(key) for key in self._data if key != CSRF_FIELD}

    def files(self) -> dict[str, UploadFile]:
        """The files chosen, by field name."""
        return {key: f for key in self._data if (f := self.file(key)) is not None}

    def values(self) -> dict[str, str]:
        """What the user typed, to put back into the form after an error (cut to MAX_TEXT)."""
        return {
            key: clean_text(value)[:MAX_TEXT]
            for key, value in self._data.items()
            if isinstance(value, str) and key != CSRF_FIELD
        }

    @staticmethod
    def _fitting(name: str, value: str, max_length: int) -> str:
        text = clean_text(value)
        problem = length_error(text.strip(), max_length)
        if problem:
            raise InvalidInput({name: problem})
        return text


async def checked_form(request: Request) -> Form:
    """The request's form, after checking its CSRF token (403 when missing or wrong); a form that
    cannot be read (a field over 1 MB, too many parts, a broken body) is a 400 saying so."""
    try:
        data = await request.form(max_files=20, max_fields=500, max_part_size=1024 * 1024)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        raise HTTPException(
            400,
            _(
                "This form could not be read: a field or a file is too large, or the form is "
                "damaged. Go back, shorten it and try again."
            ),
        ) from exc
    submitted = data.get(CSRF_FIELD) or request.headers.get("x-csrf-token")
    if not csrf_valid(request, submitted if isinstance(submitted, str) else None):
        raise HTTPException(
            403, _("This form has expired. Go back, reload the page and try again.")
        )
    return Form(data)


def csrf_protected(
    handler: Callable[..., Awaitable[Response]],
) -> Callable[..., Awaitable[Response]]:
    """Check the posted form's CSRF token, then call `handler(request, *args, form)`."""

    @wraps(handler)
    async def endpoint(request: Request, *args: Any) -> Response:
        return await handler(request, *args, await checked_form(request))

    return endpoint


def _to_login(request: Request) -> RedirectResponse:
    target = quote(str(request.url.path))
    return RedirectResponse(url_for(request.app, "login") + f"?next={target}", status_code=303)


def login_required(handler: Handler) -> Handler:
    """Visitors who are not signed in go to the log-in page, and come back after."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        if await current_user(request) is None:
            return _to_login(request)
        return await handler(request)

    return endpoint


def organiser_required(handler: Callable[..., Awaitable[Response]]) -> Handler:
    """For pages under /manage/{slug}: the signed-in organiser's edition, passed on as
    `handler(request, edition)`; 404 for an unknown call, 403 for anyone else."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            return _to_login(request)
        edition = await permissions.edition_for_organiser(user, request.path_params["slug"])
        return await handler(request, edition)

    return endpoint


async def require_user(request: Request) -> User:
    user = await current_user(request)
    assert user is not None, "handler must be wrapped with @login_required"
    return user


def int_param(request: Request, name: str) -> int:
    """A numeric path parameter: anything else is simply a page that does not exist."""
    number = whole_number(str(request.path_params.get(name, "")))
    if number is None:
        raise HTTPException(404)
    return number
