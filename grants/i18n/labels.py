"""Human labels for stored codes (statuses, age bands, languages, flags), translated.

Codes are stored; people read labels. `N_` marks a string for extraction only: it is
translated when shown, in the reader's language.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from grants.i18n import current_locale, gettext


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
    # Audit events (services/audit.py), as the audit log page and its CSV name them.
    "action": {
        "account.erase": N_("Account erased"),
        "account.password_changed": N_("Password changed"),
        "account.password_reset": N_("Password reset"),
        "account.reset_requested": N_("Password reset asked for"),
        "account.signup": N_("Account created"),
        "account.signup_existing": N_("Sign-up with an address already in use"),
        "account.verified": N_("Email address confirmed"),
        "application.create": N_("Application started"),
        "application.edit": N_("Application edited"),
        "application.message": N_("Message about an application"),
        "application.read": N_("Application read by an organiser"),
        "application.screen": N_("Application screened"),
        "application.shortlist": N_("Application shortlisted"),
        "application.submit": N_("Application submitted"),
        "application.withdraw": N_("Application withdrawn"),
        "assignment.drop": N_("Assignment dropped by a new run"),
        "assignment.pin": N_("Juror assigned by hand"),
        "assignment.remove": N_("Assignment removed"),
        "assignment.run": N_("Jurors assigned"),
        "attachment.download": N_("File downloaded"),
        "attachment.remove": N_("File removed"),
        "attachment.upload": N_("File uploaded"),
        "audit.export": N_("Audit log exported"),
        "award.record": N_("Award recorded"),
        "bid.save": N_("Bids saved"),
        "conflict.declare": N_("Conflict of interest declared"),
        "conflict.organiser": N_("Pair forbidden by the organisers"),
        "demo.load": N_("Demo data loaded"),
        "discussion.comment": N_("Discussion comment"),
        "edition.export": N_("Data exported"),
        "edition.phase": N_("Phase changed"),
        "edition.publish": N_("Results published"),
        "group.consent": N_("Guardian's consent recorded"),
        "group.consent_refused": N_("Guardian's consent refused"),
        "group.create": N_("Group created"),
        "group.invitation_accept": N_("Group invitation accepted"),
        "group.invitation_refused": N_("Group invitation refused"),
        "group.member_add": N_("Group member added"),
        "juror.profile": N_("Juror profile changed"),
        "jury.accept": N_("Jury invitation accepted"),
        "jury.accept_refused": N_("Jury invitation refused"),
        "jury.invite": N_("Juror invited"),
        "jury.loads": N_("Jurors' loads changed"),
        "jury.remind": N_("Jurors reminded"),
        "login": N_("Logged in"),
        "login.failed": N_("Failed log-in"),
        "login.throttled": N_("Log-in slowed down"),
        "logout": N_("Logged out"),
        "outcome.release": N_("Outcome mails released"),
        "outcome.texts": N_("Outcome mail texts changed"),
        "privacy.export": N_("Personal data downloaded"),
        "ranking.method": N_("Ranking method changed"),
        "review.save": N_("Review draft saved"),
        "review.excluded": N_("Review excluded from the ranking"),
        "review.submit": N_("Review submitted"),
        "session.ended": N_("Session ended"),
        "sessions.ended": N_("Other sessions ended"),
    },
}


# The languages an application may be written in (the one list), and those a juror may read.
WRITTEN_LANGUAGES: tuple[str, ...] = tuple(LABELS["language"])
READ_LANGUAGES: tuple[str, ...] = tuple(code for code in WRITTEN_LANGUAGES if code != "other")


def juror_name(display_name: str, erased_at: object) -> str:
    """A juror's name as colleagues and organisers see it; an erased juror's, which is stored in
    English only, in the reader's language."""
    return gettext("Former juror") if erased_at else display_name


def label(kind: str, code: object) -> str:
    """The translated label of a code; the code itself when it has none (never an error)."""
    key = getattr(code, "value", code)
    text = LABELS.get(kind, {}).get(str(key))
    return gettext(text) if text else str(key)


def country_name(code: str) -> str:
    """A country's name in the reader's language ("BE" → "Belgique" in French), from Babel's
    territory names; the code itself when Babel knows none."""
    try:
        names = Locale.parse(current_locale.get()).territories
    except (UnknownLocaleError, ValueError):
        return code
    return str(names.get(code.upper(), code))
