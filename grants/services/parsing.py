"""What forms and paths send, read strictly: the one home of "is this a number, an id, a text
that fits". Every path parameter and form value that becomes a number or a stored text goes
through here, so no input ends in a database error (a 500) instead of a message.

Numbers: only ASCII digits count ("²", "٣" and "𝟗" pass `str.isdigit` or `float()` but are no
number a person meant), no exponents, underscores, `inf` or `nan`, and nothing beyond what the
database stores (ids are 32-bit integers on PostgreSQL). Texts: no control characters (PostgreSQL
refuses NUL, nobody types the others) and no more characters than the column holds or the form
states (`MAX_TEXT` for free text).
"""

from __future__ import annotations

import re

from tortoise.models import Model

from grants.i18n import gettext as _

MAX_ID = 2**31 - 1  # PostgreSQL's integer; SQLite's is larger, but an id beyond it never exists
MAX_NUMBER = 10**12  # the largest number a form answer may hold (a count, a sum in euros)
MAX_TEXT = 50_000  # the longest free text one form field may carry (a long answer, a comment)
MAX_LOGGED = 200  # a value written to the log or the audit trail is cut to this length

DECIMAL_RE = re.compile(r"[+-]?[0-9]{1,13}(?:[.,][0-9]{1,6})?", re.ASCII)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def whole_number(text: str | int, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """The whole number typed, if it is one between `lo` and `hi`; otherwise None."""
    digits = str(text).strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(max(hi, 0))):
        return None
    number = int(digits)
    return number if lo <= number <= hi else None


def parse_id(text: str | int) -> int | None:
    """A database id typed or sent in a form or a path, if it can be one."""
    return whole_number(text, 1, MAX_ID)


def decimal_number(
    text: str, lo: float = -MAX_NUMBER, hi: float = MAX_NUMBER
) -> int | float | None:
    """The number typed (`12`, `-3`, `12.5` or `12,5`) if it is one between `lo` and `hi`: an int
    when whole, else a float; None for anything else (exponents, `inf`, `nan`, other digits)."""
    typed = text.strip()
    if not DECIMAL_RE.fullmatch(typed):
        return None
    number = float(typed.replace(",", "."))
    if not lo <= number <= hi:
        return None
    return int(number) if number.is_integer() else number


def clean_text(value: str) -> str:
    """Typed text without control characters (tab and line breaks are kept)."""
    return CONTROL_CHARACTERS.sub("", value)


def max_length(model: type[Model], field: str) -> int:
    """How many characters the model's text column holds (its CharField's max_length)."""
    length = getattr(model._meta.fields_map[field], "max_length", None)
    assert isinstance(length, int), f"{model.__name__}.{field} has no max_length"
    return length


def length_error(text: str, limit: int) -> str | None:
    """The message for a text longer than `limit` characters, in the user's language; else None."""
    if len(text) <= limit:
        return None
    return _("Use at most %(n)s characters (now %(now)s).", n=limit, now=len(text))


def for_log(value: object, limit: int = MAX_LOGGED) -> str:
    """A value as written to the log or the audit trail: on one line and cut to `limit`."""
    text = CONTROL_CHARACTERS.sub("?", str(value)).replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
