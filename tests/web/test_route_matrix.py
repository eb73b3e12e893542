"""Who may do what: every route of the app against every kind of person.

The matrix below has one row per route (method and path, as the app declares it) and one column
per person. A cell says what that person gets:

    o  served (a page, a redirect onwards, or the form again with its errors)
    l  sent to log in first
    f  refused: 403, a page saying the role is missing
    n  not found: 404, the object is not theirs to know about

Adding a route without a row fails `test_every_route_has_a_row`, so nobody can add a page and
forget to decide who may reach it. Each person runs through every row on a fresh copy of the
demo (one test per person), GETs first, then the posts, with the ones that change the most
(withdrawing, running the assignment, logging out) last.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import Mount, Route

from grants.app import create_app
from grants.demo import DEMO_PASSWORD
from grants.models import (
    Application,
    Assignment,
    Attachment,
    Conflict,
    Edition,
    EditionRole,
    GroupMember,
    Panel,
    PanelMember,
    Programme,
    User,
)
from grants.passwords import hash_password
from grants.storage import LocalStorage

PEOPLE = (
    "anonymous",
    "member",  # a member of the application's group
    "other_applicant",  # an applicant of another group
    "juror",  # assigned to the application
    "conflicted",  # a juror of the same panel with a conflict on the application
    "other_panel",  # a juror of the edition's other panel, not assigned
    "other_organiser",  # an organiser of another programme's edition
    "organiser",  # an organiser of the edition
    "admin",
)

# One row per route; a letter per person in PEOPLE's order: anonymous, member, other applicant,
# juror, conflicted juror, juror of the other panel, other programme's organiser, organiser, admin.
MATRIX: dict[str, str] = {
    "GET /": "ooooooooo",
    "GET /healthz": "ooooooooo",  # the health check (grants/web/health.py)
    # Public pages, and the token pages whose token is the credential (a wrong one: 400).
    "GET /calls/{slug}": "ooooooooo",
    "GET /calls/{slug}/winners": "ooooooooo",
    "GET /language": "ooooooooo",
    "GET /signup": "ooooooooo",
    "GET /login": "ooooooooo",
    "GET /verify/{token}": "ooooooooo",
    "GET /password/forgot": "ooooooooo",
    "GET /password/reset/{token}": "ooooooooo",
    # Anyone signed in: their own dashboard, groups, drafts, jury list (empty if not a juror).
    "GET /me": "loooooooo",
    "GET /groups/new": "loooooooo",
    "GET /invitations/{token}": "loooooooo",
    "GET /groups/{group_id}": "lonnnnnnn",
    "GET /calls/{slug}/apply": "loooooooo",
    "GET /applications/{application_id}/step/{step}": "lonnnnnnn",
    "GET /applications/{application_id}/receipt": "lonnnnnnn",
    # Files (services/dossier.py): the group, the assigned juror without a conflict, organisers.
    "GET /applications/{application_id}/files/{attachment_id}": "lononnnoo",
    "GET /jury": "loooooooo",
    "GET /jury/profile": "loooooooo",
    "GET /jury/invitations/{token}": "loooooooo",
    "GET /jury/reviews/{assignment_id}": "lnnonnnnn",
    # Bids: jurors of the edition only (this demo is blind, so they are told bids are off: 400).
    "GET /jury/calls/{slug}/bids": "lffooofff",
    # The console: the edition's organisers and site administrators.
    "GET /manage/{slug}": "lffffffoo",
    "GET /manage/{slug}/jury": "lffffffoo",
    "GET /manage/{slug}/ranking": "lffffffoo",
    "GET /manage/{slug}/export/{what}.{fmt}": "lffffffoo",
    # The audit log and dashboard (web/insight.py); the whole site's log is for administrators.
    "GET /manage/{slug}/audit": "lffffffoo",
    "GET /manage/{slug}/audit.csv": "lffffffoo",
    "GET /manage/{slug}/dashboard": "lffffffoo",
    "GET /admin/audit": "lfffffffo",
    "GET /admin/audit.csv": "lfffffffo",
    "GET /manage/applications/{application_id}": "lffffffoo",
    # Privacy: one's own data (download, erasure); organisers erase on a person's request.
    "GET /me/data": "loooooooo",
    "GET /me/erase": "loooooooo",
    # One's own password and sessions (web/auth.py).
    "GET /me/security": "loooooooo",
    "GET /manage/{slug}/erase": "lffffffoo",
    # Telling the groups (web/outcomes.py): outcome mails and their texts, organisers only.
    "GET /manage/{slug}/outcomes": "lffffffoo",
    "GET /manage/{slug}/outcomes/texts": "lffffffoo",
    # Posts (an empty form: the person it is meant for gets the form again with its errors).
    "POST /signup": "ooooooooo",
    "POST /login": "ooooooooo",
    "POST /password/forgot": "ooooooooo",
    "POST /password/reset/{token}": "ooooooooo",
    "POST /groups/new": "loooooooo",
    "POST /invitations/{token}": "loooooooo",
    "POST /jury/invitations/{token}": "loooooooo",
    "POST /groups/{group_id}": "lonnnnnnn",
    "POST /calls/{slug}/apply": "loooooooo",
    "POST /applications/{application_id}/step/{step}": "lonnnnnnn",
    "POST /applications/{application_id}/submit": "lonnnnnnn",
    "POST /jury/profile": "lnnonnnnn",
    "POST /jury/reviews/{assignment_id}": "lnnonnnnn",
    "POST /jury/reviews/{assignment_id}/conflict": "lnnonnnnn",
    "POST /jury/reviews/{assignment_id}/comments": "lnnonnnnn",
    "POST /jury/calls/{slug}/bids": "lffooofff",
    "POST /manage/{slug}/jury/{action}": "lffffffoo",
    "POST /manage/{slug}/phase": "lffffffoo",
    "POST /manage/{slug}/ranking": "lffffffoo",
    "POST /manage/{slug}/ranking/method": "lffffffoo",
    "POST /manage/applications/{application_id}/screen": "lffffffoo",
    # Bulk screening: the confirmation page, then the confirmed action (an empty form: a 400).
    "POST /manage/{slug}/screening": "lffffffoo",
    "POST /manage/{slug}/screening/confirm": "lffffffoo",
    "POST /me/erase": "loooooooo",
    "POST /me/security/password": "loooooooo",
    "POST /me/security/sessions": "loooooooo",
    "POST /manage/{slug}/erase": "lffffffoo",
    "POST /manage/{slug}/outcomes/release": "lffffffoo",
    "POST /manage/{slug}/outcomes/texts": "lffffffoo",
    # Messages on the application's pages: its organisers write to the group, the group answers.
    "POST /manage/applications/{application_id}/messages": "lffffffoo",
    "POST /applications/{application_id}/messages": "lonnnnnnn",
    "POST /applications/{application_id}/withdraw": "lonnnnnnn",
    "POST /manage/{slug}/assign": "lffffffoo",
    "POST /logout": "ooooooooo",
}

# Posts that change the most go last, in this order, so the rows before them see the demo as it was.
LAST = (
    "POST /jury/reviews/{assignment_id}/conflict",
    "POST /applications/{application_id}/withdraw",
    "POST /manage/{slug}/assign",
    "POST /logout",
)


# What a post carries besides its CSRF token (values in braces come from the world's objects):
# enough that the person it is meant for gets past the lookup of their own object.
BODIES: dict[str, dict[str, str]] = {
    "POST /jury/profile": {"member_id": "{panel_member_id}"},
    "POST /jury/reviews/{assignment_id}/comments": {"body": "A thought on the budget."},
}


def declared_routes() -> list[str]:
    """Every (method, path) the app serves, as "METHOD /path" (static files aside)."""
    rows = []
    for route in create_app().routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route), route
        for method in sorted((route.methods or set()) - {"HEAD"}):
            rows.append(f"{method} {route.path}")
    return rows


def test_every_route_has_a_row():
    declared = set(declared_routes())
    assert not declared - MATRIX.keys(), "routes without a row in MATRIX: decide who may reach them"
    assert not MATRIX.keys() - declared, "rows for routes the app no longer has"
    assert all(len(cells) == len(PEOPLE) for cells in MATRIX.values())


@dataclass
class World:
    """The demo plus what the matrix needs: the people of PEOPLE and the objects in the paths."""

    emails: dict[str, str]
    path_values: dict[str, str]
    title: str  # the application's title: never on a page that refuses or hides it


async def make_world(settings) -> World:
    application = await Application.get(reference="EPP-2027-0001").prefetch_related("edition")
    edition = application.edition
    members = await GroupMember.filter(
        group_id=application.group_id, user_id__not_isnull=True
    ).values_list("user_id", flat=True)
    member_user = await User.get(id=members[0])
    other_applicant = await User.get(
        id=(
            await GroupMember.filter(user_id__not_isnull=True)
            .exclude(user_id__in=members)
            .order_by("id")
            .first()
        ).user_id
    )
    panels = await Panel.filter(edition=edition).order_by("id")
    first_panel, second_panel = panels[0], panels[1]
    first_jurors = await PanelMember.filter(panel=first_panel).order_by("id")
    juror = await User.get(id=first_jurors[0].user_id)
    conflicted = await User.get(id=first_jurors[1].user_id)
    other_panel = await User.get(
        id=(await PanelMember.filter(panel=second_panel).order_by("id").first()).user_id
    )
    assignment = await Assignment.create(panel=first_panel, juror=juror, application=application)
    await Conflict.create(
        juror=conflicted, application=application, source="declared", reason="a friend"
    )
    stored = await LocalStorage(settings.upload_dir).save(
        io.BytesIO(b"%PDF-1.4\n% a plan\n"), max_bytes=1 << 20
    )
    attachment = await Attachment.create(
        application=application,
        original_name="plan.pdf",
        stored_name=stored.stored_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=member_user,
    )
    programme = await Programme.create(
        slug="other-prize", name={"en": "Another prize"}, description={}
    )
    other_edition = await Edition.create(
        programme=programme,
        slug="other-2027",
        year=2027,
        title={"en": "Another prize 2027"},
        opens_at=edition.opens_at,
        closes_at=edition.closes_at,
        reference_prefix="OTH",
        rubric_name=edition.rubric_name,
        rubric_version=edition.rubric_version,
        rubric_fingerprint=edition.rubric_fingerprint,
    )
    other_organiser = await User.create(
        email="organiser@other-prize.example",
        display_name="Otto",
        password_hash=await hash_password(DEMO_PASSWORD),
        email_verified_at=edition.opens_at,
    )
    await EditionRole.create(edition=other_edition, user=other_organiser, role="organiser")
    organiser = await User.get(id=(await EditionRole.get(edition=edition)).user_id)
    admin = await User.get(is_admin=True)
    return World(
        emails={
            "member": member_user.email,
            "other_applicant": other_applicant.email,
            "juror": juror.email,
            "conflicted": conflicted.email,
            "other_panel": other_panel.email,
            "other_organiser": other_organiser.email,
            "organiser": organiser.email,
            "admin": admin.email,
        },
        path_values={
            "slug": edition.slug,
            "application_id": str(application.id),
            "step": "1",
            "attachment_id": str(attachment.id),
            "group_id": str(application.group_id),
            "assignment_id": str(assignment.id),
            "action": "pin",
            "what": "applications",
            "fmt": "xlsx",
            "token": "not-a-real-token",
            "panel_member_id": str(first_jurors[0].id),
        },
        title=application.title,
    )


def outcome(response: httpx.Response) -> str:
    if response.status_code >= 500:
        return "X"
    if response.status_code == 403:
        return "f"
    if response.status_code == 404:
        return "n"
    if response.status_code in (302, 303) and response.headers["location"].startswith("/login"):
        return "l"
    return "o"


def in_order(rows: list[str]) -> list[str]:
    gets = [row for row in rows if row.startswith("GET ")]
    posts = [row for row in rows if not row.startswith("GET ") and row not in LAST]
    return gets + posts + [row for row in LAST if row in rows]


@pytest.mark.parametrize("person", PEOPLE)
async def test_each_person_reaches_exactly_their_cells(person, settings, demo, make_browser):
    world = await make_world(settings)
    browser = await make_browser("198.51.100.20")
    if person != "anonymous":
        await browser.log_in(world.emails[person], DEMO_PASSWORD)
    else:
        await browser.page("/login")  # a CSRF token, so posts are judged on more than the token
    column = PEOPLE.index(person)
    seen, wrong = {}, []
    for row in in_order(declared_routes()):
        method, path = row.split(" ", 1)
        url = path.format(**world.path_values)
        if method == "GET":
            response = await browser.get(url)
        else:
            body = {k: v.format(**world.path_values) for k, v in BODIES.get(row, {}).items()}
            response = await browser.submit(url, body)
        seen[row] = outcome(response)
        expected = MATRIX.get(row, "?" * len(PEOPLE))[column]
        if seen[row] in "fnl" and world.title in response.text:
            wrong.append(f"{row}: refused ({response.status_code}) but shows the title")
        if seen[row] != expected:
            wrong.append(f"{row}: expected {expected}, got {seen[row]} ({response.status_code})")
    assert not wrong, f"{person}:\n" + "\n".join(wrong)
