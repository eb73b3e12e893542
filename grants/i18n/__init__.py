"""Translations: the locale of the current request lives in a context variable.

Why a context variable: services raise errors with translated messages and templates
call gettext, both inside the request's task, so neither needs the request passed down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).parent

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LANGUAGE)


@cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(CATALOG_DIR), [locale], domain="messages")


def gettext(message: str, **params: object) -> str:
    text = translations(current_locale.get()).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(current_locale.get()).ungettext(singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def translated(value: Any) -> str:
    """The current language's text of a {"en": .., "fr": .., "ru": ..} dict (English when it is
    missing); anything with `as_dict()` (scoring.Text) is read the same way."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return str(value.get(current_locale.get()) or value.get(DEFAULT_LANGUAGE) or "")
    return "" if value is None else str(value)


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Translate into `locale` for a while (a mail to someone else goes in their language)."""
    token = current_locale.set(locale if locale in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        current_locale.reset(token)


def negotiate(accept_language: str, *, supported: tuple[str, ...] = tuple(LANGUAGES)) -> str:
    """Pick the best supported language from an Accept-Language header."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(weighted):
        primary = tag.split("-")[0]
        if primary in supported:
            return primary
    return DEFAULT_LANGUAGE
