"""An edition's parts as organisers name them in forms: an application by its reference, a
juror by their membership, a panel by its id. Each lookup refuses what is not of this edition
with a message on the field that named it."""

from __future__ import annotations

from grants.i18n import gettext as _
from grants.models import Application, Edition, Panel, PanelMember
from grants.services.errors import InvalidInput
from grants.services.parsing import parse_id


async def application_by_reference(edition: Edition, reference: str) -> Application:
    """The edition's application with this reference (typed in any case), with its call, group
    and category."""
    application = await Application.get_or_none(
        edition=edition, reference=reference.strip().upper()[:32]
    ).select_related("edition", "group", "category")
    if application is None:
        raise InvalidInput({"reference": _("No application of this call has this reference.")})
    return application


async def juror_of_edition(edition: Edition, member_id: str | int) -> PanelMember:
    """A juror (panel membership) of the edition, with their user and panel."""
    number = parse_id(member_id)
    member = None
    if number is not None:
        member = await PanelMember.get_or_none(id=number, panel__edition=edition).select_related(
            "user", "panel"
        )
    if member is None:
        raise InvalidInput({"member_id": _("Choose a juror of this call.")})
    return member


async def panel_of_edition(edition: Edition, panel_id: str | int) -> Panel:
    number = parse_id(panel_id)
    panel = await Panel.get_or_none(id=number, edition=edition) if number is not None else None
    if panel is None:
        raise InvalidInput({"panel_id": _("Choose a panel of this call.")})
    return panel


async def panels_of(edition: Edition) -> list[Panel]:
    return await Panel.filter(edition=edition).order_by("id")
