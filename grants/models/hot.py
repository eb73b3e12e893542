"""Hand-written SQL for the few reads made on nearly every request.

Why: Tortoise builds a query's SQL anew on every call, and for a filter across a relation with
two `select_related` that building costs about a millisecond of CPU, five times what running
the query costs on SQLite. The permission check that loads an application with its call and
group runs on six of the eight requests of an applicant's deadline flow, so in a deadline rush
this building was a quarter of the server's Python time. The same holds, less steeply, for
the call page's edition, the applicant's groups, and an application's answers, files and
members, read on most pages of the form. Here the SQL text is made once per dialect from the
models' own column lists, and rows become model instances the way Tortoise's executor makes
them (`_init_from_db`, related objects in `_<field>`), so callers get ordinary models.
Anything not on that hot path stays with the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from tortoise import Model, connections

from grants.models.accounts import Group, User
from grants.models.applications import Application
from grants.models.calls import Edition, Programme

M = TypeVar("M", bound=Model)


@cache
def columns(model: type[Model]) -> tuple[str, ...]:
    """The model's database columns, in the order the SELECTs here list them (read per row)."""
    return tuple(model._meta.fields_db_projection.values())


def select_list(alias: str, model: type[Model]) -> str:
    return ", ".join(f'{alias}."{column}"' for column in columns(model))


def numbered(sql: str, dialect: str) -> str:
    """`?` placeholders as the dialect wants them (asyncpg: $1, $2, ...)."""
    if dialect != "postgres":
        return sql
    pieces = sql.split("?")
    return "".join(
        piece + (f"${index}" if index < len(pieces) else "")
        for index, piece in enumerate(pieces, 1)
    )


def instance(model: type[M], row: tuple[Any, ...], start: int) -> tuple[M, int]:
    """The model made from the row's values from `start` on, and where the next model's values begin."""
    names = columns(model)
    end = start + len(names)
    return model._init_from_db(**dict(zip(names, row[start:end], strict=True))), end


async def rows_of(sql_for: Callable[[str], str], values: list[Any]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples: joined tables repeat column names, so rows are read by position."""
    db = connections.get("default")
    _, rows = await db.execute_query(sql_for(db.capabilities.dialect), values)
    return [tuple(row) for row in rows]


@cache
def _application_of_member_sql(dialect: str) -> str:
    return numbered(
        f"SELECT {select_list('a', Application)}, {select_list('e', Edition)}, {select_list('g', Group)}"
        ' FROM "application" a'
        ' JOIN "edition" e ON e."id" = a."edition_id"'
        ' JOIN "group" g ON g."id" = a."group_id"'
        ' WHERE a."id" = ? AND EXISTS (SELECT 1 FROM "groupmember" m WHERE m."group_id" = a."group_id" AND m."user_id" = ?)',
        dialect,
    )


async def application_of_member(application_id: int, user_id: int) -> Application | None:
    """The application if the user is a member of its group, with `edition` and `group` loaded."""
    rows = await rows_of(_application_of_member_sql, [application_id, user_id])
    if not rows:
        return None
    row = rows[0]
    application, next_start = instance(Application, row, 0)
    edition, next_start = instance(Edition, row, next_start)
    group, _ = instance(Group, row, next_start)
    object.__setattr__(application, "_edition", edition)
    object.__setattr__(application, "_group", group)
    return application


@cache
def _active_user_sql(dialect: str) -> str:
    return numbered(
        f'SELECT {select_list("u", User)} FROM "{User._meta.db_table}" u WHERE u."id" = ? AND u."erased_at" IS NULL',
        dialect,
    )


async def active_user(user_id: int) -> User | None:
    """The user with this id unless erased (what every signed-in request starts with)."""
    rows = await rows_of(_active_user_sql, [user_id])
    return instance(User, rows[0], 0)[0] if rows else None


@cache
def _edition_by_slug_sql(dialect: str) -> str:
    return numbered(
        f"SELECT {select_list('e', Edition)}, {select_list('p', Programme)}"
        ' FROM "edition" e JOIN "programme" p ON p."id" = e."programme_id" WHERE e."slug" = ?',
        dialect,
    )


async def edition_by_slug(slug: str) -> Edition | None:
    """The edition with this slug, with `programme` loaded."""
    rows = await rows_of(_edition_by_slug_sql, [slug])
    if not rows:
        return None
    edition, next_start = instance(Edition, rows[0], 0)
    object.__setattr__(edition, "_programme", instance(Programme, rows[0], next_start)[0])
    return edition


@cache
def _children_sql(model: type[Model], parent_column: str, dialect: str) -> str:
    return numbered(
        f'SELECT {select_list("c", model)} FROM "{model._meta.db_table}" c WHERE c."{parent_column}" = ? ORDER BY c."id"',
        dialect,
    )


async def children_of(model: type[M], parent_column: str, parent_id: int) -> list[M]:
    """The rows of `model` whose `parent_column` is `parent_id`, in the order they were made."""
    rows = await rows_of(lambda dialect: _children_sql(model, parent_column, dialect), [parent_id])
    return [instance(model, row, 0)[0] for row in rows]


IS_MEMBER = 'EXISTS (SELECT 1 FROM "groupmember" m WHERE m."group_id" = g."id" AND m."user_id" = ?)'


@cache
def _groups_of_member_sql(dialect: str) -> str:
    return numbered(
        f'SELECT {select_list("g", Group)} FROM "group" g WHERE {IS_MEMBER} ORDER BY g."name", g."id"',
        dialect,
    )


async def groups_of_member(user_id: int) -> list[Group]:
    """The groups the user is a member of, by name."""
    return [instance(Group, row, 0)[0] for row in await rows_of(_groups_of_member_sql, [user_id])]


@cache
def _group_of_member_sql(dialect: str) -> str:
    return numbered(
        f'SELECT {select_list("g", Group)} FROM "group" g WHERE g."id" = ? AND {IS_MEMBER}', dialect
    )


async def group_of_member(group_id: int, user_id: int) -> Group | None:
    """The group if the user is one of its members."""
    rows = await rows_of(_group_of_member_sql, [group_id, user_id])
    return instance(Group, rows[0], 0)[0] if rows else None
