"""The juror's pages: assigned applications, conflicts, the score form and the discussion,
bids, the juror's profile and invitations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.models import Answer, Question, QuestionKind
from grants.security import client_ip
from grants.services import jury, review
from grants.services.errors import ServiceError
from grants.services.permissions import edition_by_slug
from grants.web.common import (
    checked_form,
    form_values,
    int_param,
    login_required,
    redirect,
    render,
    require_user,
)


@login_required
async def assignments(request: Request) -> Response:
    juror = await require_user(request)
    mine = await review.assignments_of(juror)
    status = {a.id: (await review.review_of(a))[0] for a in mine}
    memberships = await jury.memberships_of(juror)
    bidding = {
        m.panel.edition.slug: m.panel.edition
        for m in memberships
        if not m.panel.edition.blind_review
    }
    return render(
        request,
        "jury/assignments.html",
        {
            "assignments": mine,
            "reviews": status,
            "memberships": memberships,
            "bidding": list(bidding.values()),
        },
    )


@login_required
async def declare_conflict(request: Request) -> Response:
    juror = await require_user(request)
    await checked_form(request)
    removed = await jury.declare_conflict(
        juror, int_param(request, "assignment_id"), ip=client_ip(request)
    )
    request.session["flash"] = (
        _(
            "Thank you: your conflict of interest is recorded and the application was taken off your list."
        )
        if removed
        else _(
            "Your conflict of interest is recorded. You had already submitted this review: the organisers will decide what to do with it."
        )
    )
    return redirect(request, "jury")


@login_required
async def review_form(request: Request) -> Response:
    juror = await require_user(request)
    assignment = await review.assignment_for_juror(juror, int_param(request, "assignment_id"))
    application = assignment.application
    edition = application.edition
    existing, scores = await review.review_of(assignment)
    answers = await Answer.filter(application=application).prefetch_related("question")
    context = {
        "assignment": assignment,
        "application": application,
        "edition": edition,
        "blind": edition.blind_review,
        "rubric": review.edition_rubric(edition),
        "review": existing,
        "scores": scores,
        "answers": [a for a in answers if a.question.kind != QuestionKind.FILE],
        "questions": await Question.filter(edition=edition),
        "review_open": edition.status in review.REVIEW_OPEN,
        "discussion": await jury.discussion(juror, assignment),
    }
    if request.method == "GET":
        return render(request, "jury/review.html", context)
    form = await checked_form(request)
    values = form_values(form)
    rubric = context["rubric"]
    errors = await review.save_review(
        juror,
        assignment,
        raw_scores={c.id: values.get(f"score_{c.id}", "") for c in rubric.criteria},
        comments={c.id: values.get(f"comment_{c.id}", "") for c in rubric.criteria},
        overall_comment=values.get("overall_comment", ""),
        submit=values.get("action") == "submit",
        ip=client_ip(request),
    )
    if errors:
        return render(
            request,
            "jury/review.html",
            {
                **context,
                "values": values,
                "errors": errors,
                "message": _("Not saved yet: please correct the marked scores."),
            },
            status=400,
        )
    request.session["flash"] = (
        _("Review submitted. Thank you!") if values.get("action") == "submit" else _("Draft saved.")
    )
    return redirect(request, "review", assignment_id=assignment.id)


@login_required
async def comment(request: Request) -> Response:
    juror = await require_user(request)
    assignment = await review.assignment_for_juror(juror, int_param(request, "assignment_id"))
    form = await checked_form(request)
    await jury.post_comment(
        juror, assignment, form_values(form).get("body", ""), ip=client_ip(request)
    )
    request.session["flash"] = _("Comment posted.")
    return redirect(request, "review", assignment_id=assignment.id)


@login_required
async def bids(request: Request) -> Response:
    juror = await require_user(request)
    edition = await edition_by_slug(request.path_params["slug"])
    form = await checked_form(request) if request.method == "POST" else None
    rows = await jury.bid_sheet(juror, edition)
    if form is not None:
        values = form_values(form)
        levels = {
            row.application.id: values.get(f"bid_{row.application.id}", row.level) for row in rows
        }
        await jury.save_bids(juror, edition, levels, ip=client_ip(request))
        request.session["flash"] = _("Your preferences are saved.")
        return redirect(request, "bids", slug=edition.slug)
    return render(
        request, "jury/bids.html", {"edition": edition, "rows": rows, "levels": jury.BID_LEVELS}
    )


@login_required
async def profile(request: Request) -> Response:
    user = await require_user(request)
    memberships = await jury.memberships_of(user)
    categories = {m.id: await jury.categories_of(m.panel.edition) for m in memberships}
    context = {
        "memberships": memberships,
        "categories": categories,
        "languages": jury.JUROR_LANGUAGES,
        "editing": None,
        "form": None,
    }
    if request.method == "GET":
        return render(request, "jury/profile.html", context)
    form = await checked_form(request)
    member_id = str(form.get("member_id", ""))
    try:
        await jury.update_profile(
            user,
            int(member_id) if member_id.isdigit() else 0,
            languages=[str(v) for v in form.getlist("languages")],
            country=str(form.get("country", "")),
            organisation=str(form.get("organisation", "")),
            expertise=[str(v) for v in form.getlist("expertise")],
            max_load=str(form.get("max_load", "")),
            ip=client_ip(request),
        )
    except ServiceError as exc:
        if exc.status_code != 400:
            raise
        return render(
            request,
            "jury/profile.html",
            {
                **context,
                "editing": int(member_id),
                "errors": exc.errors,
                "message": exc.message,
                "form": form,
            },
            status=400,
        )
    request.session["flash"] = _("Your jury profile is saved.")
    return redirect(request, "jury_profile")


@login_required
async def invitation(request: Request) -> Response:
    user = await require_user(request)
    member = await jury.accept_invitation(user, request.path_params["token"], ip=client_ip(request))
    request.session["flash"] = _(
        "Welcome to the jury! Please check the languages you read and your other details."
    )
    return redirect(request, "jury_profile") if member else redirect(request, "jury")


routes = [
    Route("/jury", assignments, name="jury"),
    Route("/jury/profile", profile, methods=["GET", "POST"], name="jury_profile"),
    Route("/jury/invitations/{token}", invitation, name="jury_invitation"),
    Route("/jury/reviews/{assignment_id}", review_form, methods=["GET", "POST"], name="review"),
    Route(
        "/jury/reviews/{assignment_id}/conflict",
        declare_conflict,
        methods=["POST"],
        name="declare_conflict",
    ),
    Route("/jury/reviews/{assignment_id}/comments", comment, methods=["POST"], name="comment"),
    Route("/jury/calls/{slug}/bids", bids, methods=["GET", "POST"], name="bids"),
]
