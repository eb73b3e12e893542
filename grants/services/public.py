"""What anyone may see: the calls, a call's page, and the winners once published.

Only what a group agreed to publish appears, and never a member's name: a winner is shown by
its group's name and country.
"""

from __future__ import annotations

from dataclasses import dataclass

import scoring
from grants.i18n import gettext as _
from grants.models import Award, Category, Edition, EditionStatus
from grants.services.awards import is_public
from grants.services.errors import NotFound
from grants.services.forms import categories_of
from grants.services.permissions import edition_by_slug


async def public_editions() -> list[Edition]:
    """Every call that is not a draft, the latest year first."""
    return (
        await Edition.exclude(status=EditionStatus.DRAFT)
        .select_related("programme")
        .order_by("-year", "id")
    )


@dataclass
class CallPage:
    edition: Edition
    categories: list[Category]
    rubric: scoring.Rubric


async def call_page(slug: str) -> CallPage:
    """A call as the public sees it; a draft call does not exist for them."""
    edition = await edition_by_slug(slug)
    if edition.status == EditionStatus.DRAFT:
        raise NotFound(_("This call does not exist."))
    return CallPage(edition, await categories_of(edition), scoring.get_rubric(edition.rubric_name))


@dataclass(frozen=True)
class Winner:
    """What the public may see: the group's name and country, never a member's name."""

    title: str
    position: int
    reference: str
    project_title: str
    summary: str
    group_name: str
    country: str
    citation: str


async def public_winners(edition: Edition) -> list[Winner]:
    """The edition's awards, best place first; nothing before publication."""
    if not is_public(edition):
        return []
    awards = (
        await Award.filter(edition=edition)
        .select_related("application", "application__group")
        .order_by("position", "id")
    )
    return [
        Winner(
            title=a.title,
            position=a.position,
            reference=a.application.reference,
            project_title=a.application.title,
            summary=a.application.summary if a.application.publish_consent else "",
            group_name=a.application.group.name,
            country=a.application.group.country,
            citation=a.citation,
        )
        for a in awards
    ]


@dataclass
class WinnersPage:
    edition: Edition
    published: bool
    winners: list[Winner]


async def winners_page(slug: str) -> WinnersPage:
    edition = await edition_by_slug(slug)
    return WinnersPage(edition, is_public(edition), await public_winners(edition))
