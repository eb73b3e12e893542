"""Small named permission predicates, composed by the services that need them."""

from __future__ import annotations

from grants.i18n import gettext as _
from grants.models import Application, Edition, EditionRole, PanelMember, User, hot
from grants.services.errors import NotFound, PermissionDenied


async def is_organiser(user: User | None, edition: Edition) -> bool:
    if user is None:
        return False
    if user.is_admin:
        return True
    return await EditionRole.exists(user=user, edition=edition, role="organiser")


async def require_organiser(user: User | None, edition: Edition) -> None:
    if not await is_organiser(user, edition):
        raise PermissionDenied(_("Only the organisers of this call can do this."))


async def is_juror(user: User | None, edition: Edition) -> bool:
    return user is not None and await PanelMember.exists(user=user, panel__edition=edition)


async def application_for_applicant(user: User, application_id: int) -> Application:
    """An application of one of the user's groups; 404 otherwise (existence not revealed)."""
    # One query, hand-written (it runs on nearly every applicant request, see grants/models/hot.py).
    application = await hot.application_of_member(application_id, user.id)
    if application is None:
        raise NotFound(_("This application does not exist or is not yours."))
    return application


async def edition_by_slug(slug: str) -> Edition:
    edition = await hot.edition_by_slug(slug)
    if edition is None:
        raise NotFound(_("This call does not exist."))
    return edition
