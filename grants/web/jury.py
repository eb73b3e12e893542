"""The juror's pages: assigned applications and the score form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from grants.i18n import gettext as _
from grants.models import Answer, Question, QuestionKind
from grants.security import client_ip
from grants.services import review
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
    return render(request, "jury/assignments.html", {"assignments": mine, "reviews": status})


@login_required
async def review_form(request: Request) -> Response:
    juror = await require_user(request)
    assignment = await review.assignment_for_juror(juror, int_param(request, "assignment_id"))
    application = assignment.application
    edition = application.edition
    existing, scores = await review.review_of(assignment)
    answers = await Answer.filter(application=application).prefetch_related("question")
    context = {
        "assignment": assignment, "application": application, "edition": edition,
        "blind": edition.blind_review, "rubric": review.edition_rubric(edition),
        "review": existing, "scores": scores,
        "answers": [a for a in answers if a.question.kind != QuestionKind.FILE],
        "questions": await Question.filter(edition=edition),
        "review_open": edition.status in review.REVIEW_OPEN,
    }
    if request.method == "GET":
        return render(request, "jury/review.html", context)
    form = await checked_form(request)
    values = form_values(form)
    rubric = context["rubric"]
    errors = await review.save_review(
        juror, assignment,
        raw_scores={c.id: values.get(f"score_{c.id}", "") for c in rubric.criteria},
        comments={c.id: values.get(f"comment_{c.id}", "") for c in rubric.criteria},
        overall_comment=values.get("overall_comment", ""),
        submit=values.get("action") == "submit", ip=client_ip(request),
    )
    if errors:
        return render(request, "jury/review.html", {**context, "values": values, "errors": errors,
                                                     "message": _("Not saved yet: please correct the marked scores.")}, status=400)
    request.session["flash"] = _("Review submitted. Thank you!") if values.get("action") == "submit" else _("Draft saved.")
    return redirect(request, "review", assignment_id=assignment.id)


routes = [
    Route("/jury", assignments, name="jury"),
    Route("/jury/reviews/{assignment_id}", review_form, methods=["GET", "POST"], name="review"),
]
