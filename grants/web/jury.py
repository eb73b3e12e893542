"""The juror's pages: assigned applications, conflicts, the score form and the discussion,
bids, the juror's profile and invitations."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.i18n.labels import READ_LANGUAGES
from grants.models import Edition
from grants.services import assignment, bids, conflicts, discussion, dossier, jurors, review
from grants.services.errors import ServiceError
from grants.services.parsing import parse_id
from grants.services.permissions import edition_by_slug
from grants.web.common import (
    Form,
    csrf_protected,
    flash,
    form_error,
    int_param,
    login_required,
    redirect,
    render,
    require_user,
)
from grants.web.session import client_ip


@login_required
async def assignments(request: Request) -> Response:
    juror = await require_user(request)
    mine = await assignment.assignments_of(juror)
    memberships = await jurors.memberships_of(juror)
    bidding = {m.panel.edition.slug: m.panel.edition for m in memberships}
    context = {
        "assignments": mine,
        "reviews": await review.review_statuses(mine),
        "memberships": memberships,
        "bidding": [e for e in bidding.values() if not e.blind_review],
    }
    return render(request, "jury/assignments.html", context)


@login_required
@csrf_protected
async def declare_conflict(request: Request, form: Form) -> Response:
    removed = await conflicts.declare_conflict(
        await require_user(request), int_param(request, "assignment_id"), ip=client_ip(request)
    )
    flash(
        request,
        _(
            "Thank you: your conflict of interest is recorded and the application was taken "
            "off your list."
        )
        if removed
        else _(
            "Your conflict of interest is recorded. You had already submitted this review: "
            "the organisers will decide what to do with it."
        ),
    )
    return redirect(request, "jury")


async def _review_context(page: review.ReviewPage) -> dict[str, Any]:
    return {
        "assignment": page.assignment,
        "application": page.application,
        "edition": page.edition,
        "blind": page.edition.blind_review,
        "rubric": page.rubric,
        "review": page.review,
        "scores": page.scores,
        "answers": page.answers,
        "review_open": page.review_open,
        "discussion": page.discussion,
        "files": await dossier.juror_files(page.assignment),  # neutral names if blind
    }


@login_required
async def review_form(request: Request) -> Response:
    page = await review.review_page(
        await require_user(request), int_param(request, "assignment_id")
    )
    return render(request, "jury/review.html", await _review_context(page))


@login_required
@csrf_protected
async def save_review(request: Request, form: Form) -> Response:
    juror = await require_user(request)
    page = await review.review_page(juror, int_param(request, "assignment_id"))
    criteria = [c.id for c in page.rubric.criteria]
    submit = form.text("action") == "submit"
    errors = await review.save_review(
        juror,
        page.assignment,
        raw_scores={c: form.text(f"score_{c}") for c in criteria},
        comments={c: form.text(f"comment_{c}") for c in criteria},
        overall_comment=form.text("overall_comment"),
        submit=submit,
        ip=client_ip(request),
    )
    if errors:
        message = _("Not saved yet: please correct the marked scores.")
        error = ServiceError(message, errors=errors)
        return form_error(
            request, "jury/review.html", await _review_context(page), error, values=form.values()
        )
    flash(request, _("Review submitted. Thank you!") if submit else _("Draft saved."))
    return redirect(request, "review", assignment_id=page.assignment.id)


@login_required
@csrf_protected
async def comment(request: Request, form: Form) -> Response:
    juror = await require_user(request)
    assigned = await assignment.assignment_for_juror(juror, int_param(request, "assignment_id"))
    await discussion.post_comment(juror, assigned, form.text("body"), ip=client_ip(request))
    flash(request, _("Comment posted."))
    return redirect(request, "review", assignment_id=assigned.id)


async def _edition(request: Request) -> Edition:
    return await edition_by_slug(request.path_params["slug"])


@login_required
async def bid_page(request: Request) -> Response:
    edition = await _edition(request)
    rows = await bids.bid_sheet(await require_user(request), edition)
    context = {"edition": edition, "rows": rows, "levels": bids.BID_LEVELS}
    return render(request, "jury/bids.html", context)


@login_required
@csrf_protected
async def save_bids(request: Request, form: Form) -> Response:
    juror, edition = await require_user(request), await _edition(request)
    rows = await bids.bid_sheet(juror, edition)
    levels = {row.application.id: form.text(f"bid_{row.application.id}", row.level) for row in rows}
    await bids.save_bids(juror, edition, levels, ip=client_ip(request))
    flash(request, _("Your preferences are saved."))
    return redirect(request, "bids", slug=edition.slug)


async def _profile_context(request: Request) -> dict[str, Any]:
    memberships = await jurors.profile(await require_user(request))
    return {
        "memberships": [m.member for m in memberships],
        "categories": {m.member.id: m.categories for m in memberships},
        "languages": READ_LANGUAGES,
        "editing": None,
        "form": None,
    }


@login_required
async def profile(request: Request) -> Response:
    return render(request, "jury/profile.html", await _profile_context(request))


@login_required
@csrf_protected
async def save_profile(request: Request, form: Form) -> Response:
    member_id = form.text("member_id")
    change = jurors.ProfileChange(
        languages=form.texts("languages"),
        country=form.text("country"),
        organisation=form.text("organisation"),
        expertise=form.texts("expertise"),
        max_load=form.text("max_load"),
    )
    try:
        await jurors.update_profile(
            await require_user(request), member_id, change, ip=client_ip(request)
        )
    except ServiceError as exc:
        context = {**await _profile_context(request), "editing": parse_id(member_id), "form": form}
        return form_error(request, "jury/profile.html", context, exc)
    flash(request, _("Your jury profile is saved."))
    return redirect(request, "jury_profile")


@login_required
async def invitation(request: Request) -> Response:
    """What the invitation is, with a button to accept it: opening the link changes nothing."""
    token = request.path_params["token"]
    offer = await jurors.jury_invitation(await require_user(request), token, ip=client_ip(request))
    context = {"panel": offer.panel, "edition": offer.edition, "token": token}
    return render(request, "jury/invitation.html", context)


@login_required
@csrf_protected
async def accept_jury_invitation(request: Request, form: Form) -> Response:
    await jurors.accept_invitation(
        await require_user(request), request.path_params["token"], ip=client_ip(request)
    )
    flash(
        request,
        _("Welcome to the jury! Please check the languages you read and your other details."),
    )
    return redirect(request, "jury_profile")


routes = [
    Route("/jury", assignments, name="jury"),
    Route("/jury/profile", profile, name="jury_profile"),
    Route("/jury/profile", save_profile, methods=["POST"]),
    Route("/jury/invitations/{token}", invitation, name="jury_invitation"),
    Route("/jury/invitations/{token}", accept_jury_invitation, methods=["POST"]),
    Route("/jury/reviews/{assignment_id}", review_form, name="review"),
    Route("/jury/reviews/{assignment_id}", save_review, methods=["POST"]),
    Route(
        "/jury/reviews/{assignment_id}/conflict",
        declare_conflict,
        methods=["POST"],
        name="declare_conflict",
    ),
    Route("/jury/reviews/{assignment_id}/comments", comment, methods=["POST"], name="comment"),
    Route("/jury/calls/{slug}/bids", bid_page, name="bids"),
    Route("/jury/calls/{slug}/bids", save_bids, methods=["POST"]),
]
