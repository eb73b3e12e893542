"""Messages between the secretariat and a group about one application.

Organisers write on their page of the application, the group reads and answers on its own;
each message is also mailed to the other side (the group's members with an account, or the
edition's organisers), each in their own language, and audited. Nobody else reads them: the
lookups of permissions.py give a 404 to anyone who is not of the group or an organiser.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from grants import i18n
from grants.i18n import gettext as _
from grants.mail import Links, queue_email
from grants.models import Application, ApplicationMessage, EditionRole, GroupMember, User
from grants.services import audit
from grants.services.errors import refuse_invalid
from grants.services.parsing import length_error
from grants.services.permissions import application_for_applicant, application_for_organiser

MAX_MESSAGE = 5000


async def thread(application: Application) -> list[ApplicationMessage]:
    """The application's messages, oldest first, with their authors (for a page whose reader
    was already checked)."""
    return (
        await ApplicationMessage.filter(application=application)
        .select_related("author")
        .order_by("created_at", "id")
    )


@dataclass
class Conversation:
    """One application's messages as one side reads them."""

    application: Application  # with its edition and group
    thread: list[ApplicationMessage]


async def conversation(user: User, application_id: int, *, secretariat: bool) -> Conversation:
    """The messages of an application the user organises (`secretariat`) or applies with;
    404 or 403 otherwise."""
    lookup = application_for_organiser if secretariat else application_for_applicant
    application = await lookup(user, application_id)
    return Conversation(application, await thread(application))


def _checked_body(body: str) -> str:
    text = body.strip()
    problem = _("Write your message.") if not text else length_error(text, MAX_MESSAGE)
    refuse_invalid({"body": problem} if problem else {})
    return text


async def _group_accounts(application: Application, *, but: User | None = None) -> list[User]:
    members = await GroupMember.filter(
        group_id=application.group_id, user_id__not_isnull=True, user__erased_at__isnull=True
    ).select_related("user")
    return [m.user for m in members if m.user is not None and m.user != but]


async def _organisers(application: Application) -> list[User]:
    roles = await EditionRole.filter(
        edition_id=application.edition_id, role="organiser", user__erased_at__isnull=True
    ).select_related("user")
    return sorted({r.user.id: r.user for r in roles}.values(), key=lambda u: u.id)


async def _record(
    user: User, application: Application, text: str, *, from_secretariat: bool, mailed: int, ip: str
) -> ApplicationMessage:
    message = await ApplicationMessage.create(
        application=application, author=user, body=text, from_secretariat=from_secretariat
    )
    await audit.record(
        "application.message",
        actor=user,
        object_type="application",
        object_id=application.id,
        after={
            "message": message.id,
            "from": "secretariat" if from_secretariat else "group",
            "mailed": mailed,
        },
        ip=ip,
    )
    return message


async def write_to_group(
    user: User, application_id: int, *, body: str, links: Links, ip: str = ""
) -> ApplicationMessage:
    """An organiser writes to the group; its members with an account get it by mail."""
    application = await application_for_organiser(user, application_id)
    text = _checked_body(body)
    call = application.edition.title
    async with in_transaction():
        recipients = await _group_accounts(application)
        for person in recipients:
            with i18n.speaking(person.locale):
                await queue_email(
                    to=person.email,
                    subject=_(
                        "A message about your application %(ref)s", ref=application.reference
                    ),
                    body=_(
                        "Hello %(name)s,\n\nthe organisers of %(call)s wrote to you about your "
                        "application %(ref)s “%(title)s”:\n\n%(text)s\n\nRead it and answer "
                        "on your application's page: %(link)s\n",
                        name=person.display_name,
                        call=i18n.translated(call),
                        ref=application.reference,
                        title=application.title,
                        text=text,
                        link=links("receipt", application_id=application.id),
                    ),
                )
        return await _record(
            user, application, text, from_secretariat=True, mailed=len(recipients), ip=ip
        )


async def write_to_organisers(
    user: User, application_id: int, *, body: str, links: Links, ip: str = ""
) -> ApplicationMessage:
    """A member of the group writes to the secretariat; the edition's organisers get it by
    mail."""
    application = await application_for_applicant(user, application_id)
    text = _checked_body(body)
    async with in_transaction():
        recipients = await _organisers(application)
        for person in recipients:
            with i18n.speaking(person.locale):
                await queue_email(
                    to=person.email,
                    subject=_(
                        "%(ref)s: a message from %(group)s",
                        ref=application.reference,
                        group=application.group.name,
                    ),
                    body=_(
                        "Hello %(name)s,\n\n%(author)s of %(group)s wrote about the application "
                        "%(ref)s “%(title)s”:\n\n%(text)s\n\nRead it and answer: %(link)s\n",
                        name=person.display_name,
                        author=user.display_name,
                        group=application.group.name,
                        ref=application.reference,
                        title=application.title,
                        text=text,
                        link=links("manage_application", application_id=application.id),
                    ),
                )
        return await _record(
            user, application, text, from_secretariat=False, mailed=len(recipients), ip=ip
        )
