"""Error categories the suite reports separately: product defect, infrastructure, configuration."""
from __future__ import annotations


class E2etError(Exception):
    """Base of every error the harness raises on purpose."""

    category = "product"


class ConfigError(E2etError):
    """Bad profile or configuration: one line naming the problem and the fix (exit code 2)."""

    category = "configuration"


class InfrastructureError(E2etError):
    """The platform or broker could not be reached (connection refused, timeouts)."""

    category = "infrastructure"


class ApiError(AssertionError, E2etError):
    """The platform answered, but not as the spec needs: a product defect (or a wrong request)."""

    category = "product"

    def __init__(self, method: str, url: str, status: int, body: str, what: str = "") -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{method} {url} answered {status}: {body[:400]}")


class WaitTimeout(AssertionError, E2etError):
    """A poll expired; the message says what was waited for and what was seen instead."""

    category = "product"
