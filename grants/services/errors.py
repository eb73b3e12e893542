"""The errors services raise; web turns each into a page in the user's language."""

from __future__ import annotations

from collections.abc import Mapping

from grants.i18n import gettext as _


class ServiceError(Exception):
    """Bad input or a refused operation the user can fix. `errors` maps field -> message."""

    status_code = 400

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class InvalidInput(ServiceError):
    """Some fields of a form are wrong: `errors` says which and why, one message per field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(_("Please correct the marked fields."), errors=errors)


def refuse_invalid(errors: Mapping[str, str]) -> None:
    """Raise InvalidInput when any field has an error (the one way services refuse a form)."""
    if errors:
        raise InvalidInput(errors)


class PermissionDenied(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404
