"""Every string marked for translation has a French and a Russian translation that keeps
its placeholders, and the app answers in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from grants import i18n
from grants.i18n.labels import LABELS, label

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_messages() -> set[str]:
    method_map = [("grants/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_every_marked_string_is_translated_with_its_placeholders(language):
    with open(ROOT / f"grants/i18n/{language}/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    # A plural message is keyed by its singular and translated when every form is.
    translations = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): (
            m.string if isinstance(m.string, tuple) else (m.string,)
        )
        for m in catalog
        if m.id
    }
    missing = sorted(extracted_messages() - {k for k, v in translations.items() if all(v)})
    assert not missing, f"untranslated in {language} (run `make messages` and translate): {missing}"
    for source, forms in translations.items():
        for target in forms:
            assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(target)), (
                language,
                source,
            )


def test_labels_speak_the_current_language():
    token = i18n.current_locale.set("fr")
    try:
        assert label("status", "submitted") == "Envoyée"
        assert label("status", "no-such-status") == "no-such-status"
    finally:
        i18n.current_locale.reset(token)
    assert set(LABELS["age_band"]) == {"under_14", "14_15", "16_17", "18_21", "22_25", "over_25"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE,ru;q=0.5,en;q=0.4", "ru"),
        ("ka-GE", "en"),
        ("", "en"),
        ("en;q=0.1, ru;q=0.9", "ru"),
        ("garbage;;q=x,,", "en"),
    ],
)
def test_accept_language_is_negotiated(header, expected):
    assert i18n.negotiate(header) == expected
