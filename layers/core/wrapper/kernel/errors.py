"""Domain errors. They are mapped to HTTP in exactly one place: ``wrapper.api.app``."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad Request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(DomainError):
    status = 422
    title = "Unprocessable Content"
    type_slug = "validation-error"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class PermissionDenied(DomainError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not Found"
    type_slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class LimitExceeded(DomainError):
    status = 429
    title = "Too Many Requests"
    type_slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after_seconds: int, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail, errors=errors)
        self.retry_after_seconds = retry_after_seconds
        self.headers = headers or {}


class Unavailable(DomainError):
    status = 503
    title = "Service Unavailable"
    type_slug = "unavailable"
