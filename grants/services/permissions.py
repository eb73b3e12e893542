"""Small named permission predicates, and the lookups that apply them.

An object a person may not see is "not found" (404), so its existence is not revealed; a
role a person does not have is "permission denied" (403).
"""

from __future__ import annotations

from grants.i18n import gettext as _
from grants.models import Application, Edition, EditionRole, PanelMember, User
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


async def edition_by_slug(slug: str) -> Edition:
    """The call with this slug, its programme loaded; 404 when there is none."""
    edition = await Edition.get_or_none(slug=slug).select_related("programme")
    if edition is None:
        raise NotFound(_("This call does not exist."))
    return edition


async def edition_for_organiser(user: User, slug: str) -> Edition:
    """The call with this slug, if `user` organises it (403 otherwise)."""
    edition = await edition_by_slug(slug)
    await require_organiser(user, edition)
    return edition


async def application_for_applicant(user: User, application_id: int) -> Application:
    """An application of one of the user's groups, with its call and group; 404 otherwise."""
    application = await Application.get_or_none(
        id=application_id, group__members__user_id=user.id
    ).select_related("edition", "group")
    if application is None:
        raise NotFound(_("This application does not exist or is not yours."))
    return application


async def application_for_organiser(user: User, application_id: int) -> Application:
    """An application, with its call, group and category, if `user` organises its call."""
    application = await Application.get_or_none(id=application_id).select_related(
        "edition", "group", "category"
    )
    if application is None:
        raise NotFound(_("This application does not exist."))
    await require_organiser(user, application.edition)
    return application
