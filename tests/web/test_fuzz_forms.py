"""Every form of the app, driven by Hypothesis with hostile input: never a 5xx.

The POST routes come from `app.routes`, and each route's fields from the forms the app itself
renders (every GET page is read as the person it is meant for, and each `<form method="post">`
whose action is the route's gives its field names, options and file inputs). A new form is
therefore fuzzed as soon as a page shows it; a POST route that no page shows is still posted
with a few guessed field names, and a path parameter nobody knows a value for fails the test
until world() says what to put there.

Each route is posted with a valid session and CSRF token as the person it is meant for (the
applicant of the draft, the juror assigned, the organiser of the call, a visitor), with arbitrary
text, Unicode digits, huge and non-finite numbers, NULs, long strings and arbitrary file parts
(raw multipart, so a file name may carry a NUL). Bounded: a few examples per route, no deadline,
one copy of the demo per backend.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.routing import Route

from grants.demo import DEMO_PASSWORD
from grants.models import Application, Assignment, Attachment, Edition, PanelMember, User
from grants.storage import LocalStorage

EXAMPLES_PER_FORM = 12
ACTIONS_PER_ROUTE = 6  # a route shown with many ids (one screening form per application) or actions
APPLICANT = "applicant1@demo.prevention-prize.eu"
ORGANISER = "organiser@demo.prevention-prize.eu"

# Who each route is meant for, by the start of its path; anything else is an applicant's.
ROLE_BY_PREFIX = (
    ("/manage", "organiser"),
    ("/jury", "juror"),
    ("/signup", "visitor"),
    ("/login", "visitor"),
    ("/password", "visitor"),
    ("/verify", "visitor"),
)
# Routes that end what later routes need (the session, the juror's assignment, the open call)
# are fuzzed last, in this order.
LAST = ("/conflict", "/withdraw", "/assign", "/phase", "/jury/{action}", "/logout")

# Odd things people (and scripts) type, beside Hypothesis's own text and numbers.
ODD_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "²",
    "١٢",
    "𝟗",
    "½",
    "1e308",
    "-1e308",
    "1e309",
    "inf",
    "-Infinity",
    "nan",
    "1_000",
    "0x1f",
    "12.5",
    "1,5",
    str(2**31),
    str(2**63),
    "9" * 40,
    "\x00",
    "a\x00b",
    "EPP-2027-0001",
    "epp-2027-0001" + "x" * 40,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202e\ufeff\u200b",
]
LONG_VALUES = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["x", "é", "\x00", "9", "😀", "a b "]),
    st.integers(min_value=64, max_value=70_000),
)
FILE_HEADS = [
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"MZ",
    b"",
]


def values(options: list[str]) -> st.SearchStrategy[str]:
    """A field's value: one the form offers, an odd one, a long one, or anything at all."""
    choices = [
        st.text(max_size=40),
        st.sampled_from(ODD_VALUES),
        st.integers().map(str),
        st.floats().map(repr),
        LONG_VALUES,
    ]
    if options:
        choices.insert(0, st.sampled_from(options))
    return st.one_of(choices)


FILE_NAMES = st.one_of(
    st.sampled_from(
        ["plan.pdf", "a\x00b.pdf", "../../etc/passwd", "x" * 400 + ".pdf", "", ".pdf", "²³.pdf"]
    ),
    st.text(max_size=60),
)
FILES = st.tuples(
    FILE_NAMES,
    st.builds(lambda head, tail: head + tail, st.sampled_from(FILE_HEADS), st.binary(max_size=300)),
)


@dataclass
class PostForm:
    """A `<form method="post">` as a page shows it."""

    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> offered values
    files: set[str] = field(default_factory=set)


class FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PostForm] = []
        self._form: PostForm | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._form = PostForm(action=a.get("action", ""))
            self.forms.append(self._form)
        if self._form is None or not a.get("name") and tag != "option":
            return
        name = a.get("name", "")
        if tag == "input" and a.get("type") == "file":
            self._form.files.add(name)
        elif tag in ("input", "textarea", "button"):
            offered = self._form.fields.setdefault(name, [])
            if a.get("value"):
                offered.append(a["value"])
        elif tag == "select":
            self._select = name
            self._form.fields.setdefault(name, [])
        elif tag == "option" and self._select:
            self._form.fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def merged(forms: list[PostForm]) -> list[PostForm]:
    """One form per action: the fields of every form posting there (a page may have several)."""
    by_action: dict[str, PostForm] = {}
    for form in forms:
        into = by_action.setdefault(form.action, PostForm(action=form.action))
        for name, offered in form.fields.items():
            into.fields.setdefault(name, []).extend(offered)
        into.files |= form.files
    return list(by_action.values())


def post_forms(page: str) -> list[PostForm]:
    reader = FormReader()
    reader.feed(page)
    return reader.forms


def role_of(path: str) -> str:
    return next((role for prefix, role in ROLE_BY_PREFIX if path.startswith(prefix)), "applicant")


def in_order(routes: list[Route]) -> list[Route]:
    def rank(route: Route) -> tuple[int, int]:
        last = [i for i, marker in enumerate(LAST) if route.path.endswith(marker)]
        roles = ["visitor", "applicant", "juror", "organiser"]
        return (last[0] + 1 if last else 0, roles.index(role_of(route.path)))

    return sorted(routes, key=rank)


@dataclass
class Person:
    role: str
    browser: httpx.AsyncClient
    email: str = ""

    async def log_in(self) -> None:
        if self.email:
            await self.browser.log_in(self.email, DEMO_PASSWORD)
        else:
            await self.browser.page("/login")


async def world(settings) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The demo plus an assignment and an attachment: each role's path values, and emails."""
    applicant = await User.get(email=APPLICANT)
    draft = (
        await Application.filter(group__members__user=applicant, status="draft")
        .order_by("id")
        .first()
    )
    submitted = await Application.filter(status="submitted").order_by("id").first()
    edition = await Edition.get(id=submitted.edition_id)
    member = await PanelMember.filter(panel__edition=edition).order_by("id").first()
    juror = await User.get(id=member.user_id)
    assigned = await Assignment.create(panel_id=member.panel_id, juror=juror, application=submitted)
    stored = await LocalStorage(settings.upload_dir).save(
        io.BytesIO(b"%PDF-1.4\n% a plan\n"), max_bytes=1 << 20
    )
    attachment = await Attachment.create(
        application=draft,
        original_name="plan.pdf",
        stored_name=stored.stored_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=applicant,
    )
    common = {"slug": edition.slug, "token": secrets.token_urlsafe(16), "step": "2"}
    paths = {
        "visitor": common,
        "applicant": {
            **common,
            "application_id": str(draft.id),
            "group_id": str(draft.group_id),
            "attachment_id": str(attachment.id),
        },
        "juror": {**common, "assignment_id": str(assigned.id)},
        "organiser": {**common, "application_id": str(submitted.id), "action": "pin"},
    }
    emails = {"visitor": "", "applicant": APPLICANT, "juror": juror.email, "organiser": ORGANISER}
    return paths, emails


def fill(path: str, known: dict[str, str]) -> str:
    missing = [name for name in re.findall(r"{(\w+)}", path) if name not in known]
    assert not missing, f"{path}: add a value for {missing} to the fuzz test's world()"
    return path.format(**known)


async def forms_shown(app, people: dict[str, Person], paths) -> list[tuple[str, PostForm]]:
    """Every post form on every GET page, read as the person the page is meant for."""
    shown: list[tuple[str, PostForm]] = []
    for route in app.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        role = role_of(route.path)
        if set(re.findall(r"{(\w+)}", route.path)) - paths[role].keys():
            continue  # a page whose path needs what world() does not know: it shows no form here
        steps = ["1", "2", "3"] if "{step}" in route.path else ["1"]
        for step in steps:
            url = fill(route.path, {**paths[role], "step": step})
            page = await people[role].browser.page(url)
            shown += [(role, form) for form in post_forms(page.text)]
    return shown


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand: file names go in raw (a NUL included)."""
    boundary = "fuzz" + secrets.token_hex(12)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode("utf-8", "surrogatepass") + b"\r\n")
    for name, (filename, content) in files.items():
        safe = re.sub(r'[\r\n"]', "", filename)
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{safe}"'
        out.write(head.encode("utf-8", "surrogatepass"))
        out.write(b"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def field_names(name: str) -> str:
    return name if re.fullmatch(r"[\w\-\[\].]+", name) else "x"


async def post(person: Person, url: str, fields, files) -> httpx.Response:
    fields = {**fields, "csrf_token": person.browser.csrf}
    if files:
        body, content_type = multipart(fields, files)
        response = await person.browser.post(
            url, content=body, headers={"content-type": content_type}
        )
    else:
        response = await person.browser.post(url, data=fields)
    ended = response.headers.get("location", "").startswith("/login") or (
        response.status_code == 403 and "expired" in response.text
    )
    if ended or url.startswith("/logout"):
        await person.log_in()  # logged out, or a log-in as someone else: back as themselves
    return response


def fuzz_one(loop, person: Person, url: str, form: PostForm) -> None:
    """Hypothesis, in a worker thread; each request runs on the test's event loop."""
    names = sorted(set(form.fields) - {"csrf_token"})
    form_fields = st.fixed_dictionaries({n: values(form.fields[n]) for n in names if n})
    extra = st.dictionaries(st.text(min_size=1, max_size=12).map(field_names), values([]))
    files = st.dictionaries(
        st.sampled_from(sorted(form.files | {"file", *names})), FILES, max_size=2
    )

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(fields=form_fields, extra=extra, chosen=files, with_files=st.booleans())
    def posts_never_fail(fields, extra, chosen, with_files):
        sent_files = chosen if (with_files or form.files) else {}
        coroutine = post(person, url, {**extra, **fields}, sent_files)
        response = asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=120)
        assert response.status_code < 500, (url, response.status_code, response.text[-2000:])
        assert "Traceback" not in response.text

    posts_never_fail()


async def test_every_form_takes_hostile_input_without_a_server_error(
    settings, demo, app, make_browser
):
    paths, emails = await world(settings)
    people = {}
    for number, role in enumerate(emails):
        people[role] = Person(role, await make_browser(f"198.51.100.{60 + number}"), emails[role])
        await people[role].log_in()
    shown = await forms_shown(app, people, paths)
    routes = [r for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or set())]
    assert len(routes) >= 20
    loop = asyncio.get_running_loop()
    failures = []
    for route in in_order(routes):
        role = role_of(route.path)
        forms = [
            form
            for form_role, form in shown
            if route.path_regex.match(urlsplit(form.action).path) and form_role == role
        ]
        if not forms:  # a post no page shows: its path from the world, a few guessed fields
            guessed = {name: [] for name in ("id", "name", "email", "value", "reference")}
            forms = [PostForm(action=fill(route.path, paths[role]), fields=guessed)]
        for form in merged(forms)[:ACTIONS_PER_ROUTE]:
            try:
                await asyncio.to_thread(fuzz_one, loop, people[role], form.action, form)
            except Exception as exc:  # every route is tried; all failures are shown at the end
                example = "\n".join(getattr(exc, "__notes__", []))
                failures.append(f"POST {form.action} as {role}: {exc!r}"[:1500] + example[:1500])
    assert not failures, "\n\n".join(failures)
