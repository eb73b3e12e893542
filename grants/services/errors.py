"""The errors services raise; web turns each into a page in the user's language."""

from __future__ import annotations


class ServiceError(Exception):
    """Bad input or a refused operation the user can fix. `errors` maps field -> message."""

    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class PermissionDenied(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404
