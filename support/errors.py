"""Error categories the suite reports separately: product defect, infrastructure, configuration.

Why categories: a red report must say whose problem it is. A 4xx/5xx from the platform when the
spec expects success is a *product* defect (``ApiError``, an ``AssertionError`` so behave counts
it as a failed step); a refused connection or a timeout is *infrastructure* (the platform or the
network is down, nothing was judged); a bad profile is *configuration* (the CLI exits 2).
"""
from __future__ import annotations

BODY_EXCERPT = 400


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
    """The platform answered, but not as the spec needs: a product defect (or a wrong request).

    Deliberately *not* an ``InfrastructureError``: the platform was reachable and judged the request.
    Carries the method, the (already redacted) URL, the status and an excerpt of the error body.
    """

    category = "product"

    def __init__(self, method: str, url: str, status: int, body: str, what: str = "") -> None:
        self.method, self.url, self.status, self.what = method, url, status, what
        self.body = body[:BODY_EXCERPT]
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{method} {url} answered {status}: {self.body}")


class WaitTimeout(AssertionError, E2etError):
    """A poll expired; the message says what was waited for and what was seen instead."""

    category = "product"
