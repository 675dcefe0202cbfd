"""The answers other than success the Salus services give, with the status and reason they carry."""
from __future__ import annotations

from sandbox.common.http import ServiceError


class DomainError(ServiceError):
    """A rule of a real Salus service refused the request (400 unless a subclass says otherwise)."""


class BadRequest(DomainError):
    pass


class NotFound(DomainError):
    status, error = 404, "Not Found"


class AlreadyExists(DomainError):
    status, error = 422, "Unprocessable Entity"


class DeletionNotAllowed(DomainError):
    status, error = 409, "Conflict"


def validation_failed(fields: list[str]) -> BadRequest:
    """Bean-validation failure exactly as the real services word it (contract §1.3)."""
    return BadRequest("One or more field validations failed: " + ", ".join(fields))
