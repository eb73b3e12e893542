"""Sign-up, log-in, log-out, email verification and password reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from grants import i18n
from grants.i18n import gettext as _
from grants.i18n import ngettext
from grants.services import accounts, sessions
from grants.services.errors import ServiceError
from grants.web.common import (
    Form,
    csrf_protected,
    flash,
    form_error,
    links_for,
    local_path,
    login_required,
    redirect,
    render,
    require_user,
)
from grants.web.session import client_ip, current_user, log_in, log_out, session_token


def _next(request: Request, form: Form | None = None) -> str:
    """Where to go after signing up or in: the page that sent the person here, on this site."""
    asked = request.query_params.get("next", "/me")
    if form is not None:
        asked = form.text("next", asked)
    return local_path(asked, "/me")


def _typed(form: Form) -> dict[str, str]:
    """What was typed, without the password (never sent back to the browser)."""
    return {key: value for key, value in form.values().items() if key != "password"}


async def signup_page(request: Request) -> Response:
    await current_user(request)
    return render(request, "auth/signup.html", {"next": _next(request)})


@csrf_protected
async def create_account(request: Request, form: Form) -> Response:
    await current_user(request)
    try:
        user = await accounts.sign_up(
            links=links_for(request),
            email=form.text("email"),
            display_name=form.text("display_name"),
            password=form.text("password"),
            locale=i18n.current_locale.get(),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = {"next": _next(request)}
        return form_error(request, "auth/signup.html", context, exc, values=_typed(form))
    if user is not None:  # None: the address has an account, whose owner was mailed instead
        await log_in(request, user)
    flash(request, _("Welcome! We sent you an email to confirm your address."))
    return RedirectResponse(_next(request, form), status_code=303)


async def login_page(request: Request) -> Response:
    await current_user(request)
    return render(request, "auth/login.html", {"next": _next(request)})


@csrf_protected
async def sign_in(request: Request, form: Form) -> Response:
    await current_user(request)
    try:
        user = await accounts.authenticate(
            settings=request.app.state.settings,
            email=form.text("email"),
            password=form.text("password"),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = {"next": _next(request), "values": _typed(form), "message": exc.message}
        return render(request, "auth/login.html", context, status=400)
    await log_in(request, user)
    return RedirectResponse(_next(request, form), status_code=303)


@csrf_protected
async def logout(request: Request, form: Form) -> Response:
    await log_out(request)
    return redirect(request, "home")


def _message(request: Request, title: str, message: str, *, status: int = 200) -> Response:
    return render(request, "auth/message.html", {"title": title, "message": message}, status=status)


async def verify(request: Request) -> Response:
    await current_user(request)
    try:
        await accounts.verify_email(request.path_params["token"])
    except ServiceError as exc:
        return _message(request, _("Link not valid"), exc.message, status=400)
    return _message(request, _("Email confirmed"), _("Thank you, your email address is confirmed."))


async def forgot_page(request: Request) -> Response:
    await current_user(request)
    return render(request, "auth/forgot.html")


@csrf_protected
async def send_reset_link(request: Request, form: Form) -> Response:
    await current_user(request)
    await accounts.request_password_reset(
        links=links_for(request), email=form.text("email"), ip=client_ip(request)
    )
    # The same answer whether the address has an account, and whether a mail went or a limit
    # held it back (accounts.RESETS_PER_ACCOUNT): nobody learns which addresses have accounts.
    sent = _("If an account exists for this address, we sent it a link to choose a new password.")
    wait = ngettext(
        "If nothing arrives, look in your spam folder, and wait %(num)s minute "
        "before asking again.",
        "If nothing arrives, look in your spam folder, and wait %(num)s minutes "
        "before asking again.",
        accounts.RESET_WINDOW_MINUTES,
    )
    return _message(request, _("Check your email"), f"{sent} {wait}")


async def reset_page(request: Request) -> Response:
    await current_user(request)
    return render(request, "auth/reset.html", {"token": request.path_params["token"]})


@csrf_protected
async def set_new_password(request: Request, form: Form) -> Response:
    await current_user(request)
    token = request.path_params["token"]
    try:
        await accounts.reset_password(
            token=token, password=form.text("password"), ip=client_ip(request)
        )
    except ServiceError as exc:
        return form_error(request, "auth/reset.html", {"token": token}, exc)
    return _message(request, _("Password changed"), _("You can now log in with your new password."))


async def _security_context(request: Request) -> dict[str, object]:
    user = await require_user(request)
    return {
        "sessions": await sessions.open_sessions(user, current_token=session_token(request)),
        "session_days": request.app.state.settings.session_days,
    }


@login_required
async def security_page(request: Request) -> Response:
    """The person's password and the sessions open in their name, this one marked."""
    return render(request, "auth/security.html", await _security_context(request))


@login_required
@csrf_protected
async def change_password(request: Request, form: Form) -> Response:
    try:
        await accounts.change_password(
            await require_user(request),
            current_password=form.text("current_password"),
            new_password=form.text("new_password"),
            keep_token=session_token(request),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        context = await _security_context(request)
        return form_error(request, "auth/security.html", context, exc)
    flash(request, _("Your password is changed. Your other sessions have ended."))
    return redirect(request, "security")


@login_required
@csrf_protected
async def end_other_sessions(request: Request, form: Form) -> Response:
    ended = await sessions.end_all_for_user(
        await require_user(request),
        reason=sessions.SIGNED_OUT_ELSEWHERE,
        keep_token=session_token(request),
        ip=client_ip(request),
    )
    flash(
        request,
        ngettext("%(num)s other session ended.", "%(num)s other sessions ended.", ended),
    )
    return redirect(request, "security")


routes = [
    Route("/signup", signup_page, name="signup"),
    Route("/signup", create_account, methods=["POST"]),
    Route("/login", login_page, name="login"),
    Route("/login", sign_in, methods=["POST"]),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/verify/{token}", verify, name="verify"),
    Route("/password/forgot", forgot_page, name="forgot_password"),
    Route("/password/forgot", send_reset_link, methods=["POST"]),
    Route("/password/reset/{token}", reset_page, name="reset_password"),
    Route("/password/reset/{token}", set_new_password, methods=["POST"]),
    Route("/me/security", security_page, name="security"),
    Route("/me/security/password", change_password, methods=["POST"], name="change_password"),
    Route("/me/security/sessions", end_other_sessions, methods=["POST"], name="end_sessions"),
]
