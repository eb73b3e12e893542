"""An edition's application form: its questions and categories, and how a typed answer is read.

Pure parsing (`parse_answer`) is kept apart from reading the form, so the check page, the save
and the content hash all judge an answer the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from grants.i18n import gettext as _
from grants.models import Category, Edition, Question, QuestionKind
from grants.services.parsing import decimal_number

URL_RE = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
SHORT_TEXT_CHARACTERS = 300
SUMMARY_WORDS = 200

Parsed = tuple[Any, str | None]  # (value to store, error message or None)


@dataclass(frozen=True)
class EditionForm:
    """An edition's form: its questions (in order of step and position) and categories."""

    questions: list[Question]
    categories: list[Category]

    @property
    def typed_questions(self) -> list[Question]:
        return [q for q in self.questions if q.kind != QuestionKind.FILE]

    @property
    def file_questions(self) -> list[Question]:
        return [q for q in self.questions if q.kind == QuestionKind.FILE]


async def form_of(edition: Edition) -> EditionForm:
    """The edition's questions and categories, as applicants see them."""
    return EditionForm(
        questions=await Question.filter(edition_id=edition.id).order_by("step", "position", "id"),
        categories=await categories_of(edition),
    )


async def categories_of(edition: Edition) -> list[Category]:
    return await Category.filter(edition_id=edition.id).order_by("id")


def word_count(text: str) -> int:
    return len(text.split())


def parse_answer(question: Question, raw: Any) -> Parsed:
    """(value to store, error message or None) for one typed answer; empty is None."""
    if question.kind == QuestionKind.MULTI_CHOICE:
        return _multi_choice(question, raw)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None, None
    parser = PARSERS.get(question.kind)
    return parser(question, text) if parser else (None, None)


def _multi_choice(question: Question, raw: Any) -> Parsed:
    values = [v for v in (raw or []) if v]
    if any(v not in _option_values(question) for v in values):
        return values, _("Choose from the options given.")
    return values, None


def _text(question: Question, text: str) -> Parsed:
    if question.word_limit and word_count(text) > question.word_limit:
        return text, _(
            "Use at most %(limit)s words (now %(n)s).",
            limit=question.word_limit,
            n=word_count(text),
        )
    if question.kind == QuestionKind.SHORT_TEXT and len(text) > SHORT_TEXT_CHARACTERS:
        return text, _("Keep this under 300 characters.")
    return text, None


def _number(question: Question, text: str) -> Parsed:
    number = decimal_number(text)  # ASCII digits only: no 1e308, inf, nan or "²"
    if number is None:
        return text, _("Enter a number, for example 12.")
    return number, None


def _date(question: Question, text: str) -> Parsed:
    try:
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return text, _("Enter a date as YYYY-MM-DD, for example 2026-03-01.")


def _link(question: Question, text: str) -> Parsed:
    if not URL_RE.match(text):
        return text, _("Enter a full web address starting with https://")
    return text, None


def _choice(question: Question, text: str) -> Parsed:
    if text not in _option_values(question):
        return text, _("Choose one of the options.")
    return text, None


def _option_values(question: Question) -> set[str]:
    return {option["value"] for option in question.options}


PARSERS: dict[QuestionKind, Callable[[Question, str], Parsed]] = {
    QuestionKind.SHORT_TEXT: _text,
    QuestionKind.LONG_TEXT: _text,
    QuestionKind.NUMBER: _number,
    QuestionKind.DATE: _date,
    QuestionKind.LINK: _link,
    QuestionKind.CHOICE: _choice,
}
