"""Sign-up, log-in, log-out, email verification and password reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from grants import i18n
from grants.i18n import gettext as _
from grants.security import client_ip, log_in, log_out
from grants.services import accounts
from grants.services.errors import ServiceError
from grants.web.common import checked_form, current_user, form_values, local_path, redirect, render


async def signup(request: Request) -> Response:
    await current_user(request)
    next_url = local_path(request.query_params.get("next", "/me"), "/me")
    if request.method == "GET":
        return render(request, "auth/signup.html", {"next": next_url})
    form = await checked_form(request)
    values = form_values(form)
    try:
        user = await accounts.sign_up(
            settings=request.app.state.settings,
            email=values.get("email", ""),
            display_name=values.get("display_name", ""),
            password=values.get("password", ""),
            locale=i18n.current_locale.get(),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        values.pop("password", None)
        return render(
            request,
            "auth/signup.html",
            {"values": values, "errors": exc.errors, "message": exc.message, "next": next_url},
            status=400,
        )
    log_in(request, user.id, user.password_hash)
    request.session["flash"] = _("Welcome! We sent you an email to confirm your address.")
    return RedirectResponse(local_path(values.get("next", next_url), "/me"), status_code=303)


async def login(request: Request) -> Response:
    await current_user(request)
    next_url = local_path(request.query_params.get("next", "/me"), "/me")
    if request.method == "GET":
        return render(request, "auth/login.html", {"next": next_url})
    form = await checked_form(request)
    values = form_values(form)
    try:
        user = await accounts.authenticate(
            settings=request.app.state.settings,
            email=values.get("email", ""),
            password=values.get("password", ""),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        values.pop("password", None)
        return render(
            request,
            "auth/login.html",
            {"values": values, "message": exc.message, "next": next_url},
            status=400,
        )
    log_in(request, user.id, user.password_hash)
    return RedirectResponse(local_path(values.get("next", next_url), "/me"), status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    log_out(request)
    return redirect(request, "home")


async def verify(request: Request) -> Response:
    await current_user(request)
    try:
        await accounts.verify_email(request.path_params["token"])
    except ServiceError as exc:
        return render(
            request,
            "auth/message.html",
            {"title": _("Link not valid"), "message": exc.message},
            status=400,
        )
    return render(
        request,
        "auth/message.html",
        {
            "title": _("Email confirmed"),
            "message": _("Thank you, your email address is confirmed."),
        },
    )


async def forgot_password(request: Request) -> Response:
    await current_user(request)
    if request.method == "GET":
        return render(request, "auth/forgot.html")
    form = await checked_form(request)
    await accounts.request_password_reset(
        settings=request.app.state.settings, email=str(form.get("email", ""))
    )
    return render(
        request,
        "auth/message.html",
        {
            "title": _("Check your email"),
            "message": _(
                "If an account exists for this address, we sent it a link to choose a new password."
            ),
        },
    )


async def reset_password(request: Request) -> Response:
    await current_user(request)
    token = request.path_params["token"]
    if request.method == "GET":
        return render(request, "auth/reset.html", {"token": token})
    form = await checked_form(request)
    try:
        await accounts.reset_password(token=token, password=str(form.get("password", "")))
    except ServiceError as exc:
        return render(
            request,
            "auth/reset.html",
            {"token": token, "errors": exc.errors, "message": exc.message},
            status=400,
        )
    return render(
        request,
        "auth/message.html",
        {
            "title": _("Password changed"),
            "message": _("You can now log in with your new password."),
        },
    )


routes = [
    Route("/signup", signup, methods=["GET", "POST"], name="signup"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/verify/{token}", verify, name="verify"),
    Route("/password/forgot", forgot_password, methods=["GET", "POST"], name="forgot_password"),
    Route(
        "/password/reset/{token}", reset_password, methods=["GET", "POST"], name="reset_password"
    ),
]
