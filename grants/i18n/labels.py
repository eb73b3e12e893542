"""Human labels for stored codes (statuses, age bands, languages, flags), translated.

Codes are stored; people read labels. `N_` marks a string for extraction only: it is
translated when shown, in the reader's language.
"""

from __future__ import annotations

from grants.i18n import gettext


def N_(message: str) -> str:  # noqa: N802 (gettext convention)
    return message


LABELS: dict[str, dict[str, str]] = {
    "status": {
        "draft": N_("Draft"),
        "submitted": N_("Submitted"),
        "withdrawn": N_("Withdrawn"),
        "eligible": N_("Eligible"),
        "ineligible": N_("Not eligible"),
        "in_review": N_("In review"),
        "shortlisted": N_("Shortlisted"),
        "awarded": N_("Awarded"),
        "not_awarded": N_("Not awarded"),
        # edition phases
        "open": N_("Open for applications"),
        "closed": N_("Closed"),
        "screening": N_("Screening"),
        "review": N_("Jury review"),
        "deliberation": N_("Deliberation"),
        "published": N_("Results published"),
    },
    "age_band": {
        "under_14": N_("under 14"),
        "14_15": N_("14–15 years"),
        "16_17": N_("16–17 years"),
        "18_21": N_("18–21 years"),
        "22_25": N_("22–25 years"),
        "over_25": N_("over 25"),
    },
    "language": {
        "en": N_("English"),
        "fr": N_("French"),
        "ru": N_("Russian"),
        "de": N_("German"),
        "es": N_("Spanish"),
        "it": N_("Italian"),
        "uk": N_("Ukrainian"),
        "ka": N_("Georgian"),
        "kk": N_("Kazakh"),
        "ky": N_("Kyrgyz"),
        "tg": N_("Tajik"),
        "uz": N_("Uzbek"),
        "tr": N_("Turkish"),
        "other": N_("Another language"),
    },
    "flag": {
        "high-disagreement": N_("jurors disagree"),
        "too-few-reviews": N_("too few reviews"),
        "failed-gate": N_("below a minimum"),
        "missing-panel": N_("a panel is missing"),
        "no-reviews": N_("no reviews"),
    },
    # The built-in aggregators (scoring/aggregate.py) in words; a plug-in's shows its own name.
    "aggregator": {
        "weighted-mean": N_("Mean of the reviews"),
        "median": N_("Median of the reviews"),
        "trimmed-mean": N_("Mean without the highest and lowest review"),
        "z-score": N_("Mean after evening out lenient and strict jurors (z-score)"),
    },
    "review": {"draft": N_("Draft saved"), "submitted": N_("Submitted"), "none": N_("Not started")},
    "bid": {
        "eager": N_("I would like to"),
        "willing": N_("I could"),
        "not": N_("I would rather not"),
        "none": N_("No preference"),
    },
    "conflict": {
        "auto": N_("automatic"),
        "declared": N_("declared by the juror"),
        "organiser": N_("set by the organisers"),
    },
}


# The languages an application may be written in (the one list), and those a juror may read.
WRITTEN_LANGUAGES: tuple[str, ...] = tuple(LABELS["language"])
READ_LANGUAGES: tuple[str, ...] = tuple(code for code in WRITTEN_LANGUAGES if code != "other")


def label(kind: str, code: object) -> str:
    """The translated label of a code; the code itself when it has none (never an error)."""
    key = getattr(code, "value", code)
    text = LABELS.get(kind, {}).get(str(key))
    return gettext(text) if text else str(key)
