"""Numbers as forms send them: an id, a whole number within bounds. Only ASCII digits count
("²" and "٣" pass `str.isdigit` but are no number a person meant), and nothing beyond what the
database stores (ids are 32-bit integers), so no input ends in a database error."""

from __future__ import annotations

MAX_ID = 2**31 - 1


def whole_number(text: str | int, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """The whole number typed, if it is one between `lo` and `hi`; otherwise None."""
    digits = str(text).strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_ID)):
        return None
    number = int(digits)
    return number if lo <= number <= hi else None


def parse_id(text: str | int) -> int | None:
    """A database id typed or sent in a form, if it can be one."""
    return whole_number(text, 1, MAX_ID)
