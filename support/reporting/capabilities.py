"""Skip, with a reason, the scenarios whose ``@needs:<capability>`` the profile lacks.

Why tags: the spec says what it needs in one word next to its severity, the profile says what it
has (``Settings.capabilities()``), and a real environment without admin credentials, a public
zone or Kafka TLS gets a SKIP that names the missing setting instead of a red herring failure.
"""
from __future__ import annotations

from typing import Iterable

PREFIX = "needs:"

#: What to add to the profile to enable each capability (the skip reason names it).
HOW_TO_ENABLE = {
    "admin": "admin credentials (admin.username + E2ET_ADMIN_PASSWORD or E2ET_ADMIN__API_KEY) and admin_api.url",
    "public_zone": "a public zone with a poller (zones.public)",
    "kafka_tls": "Kafka TLS material (kafka.security_protocol SSL/SASL_SSL with CA/cert settings)",
    "kafka_sasl": "Kafka SASL credentials (kafka.sasl_username / E2ET_KAFKA__SASL_PASSWORD)",
    "faults": "the sandbox fault control (profile local)",
    "envoy": "an envoy executable or tarball (envoy.executable / envoy.tarball_url)",
}


def needed(tags: Iterable[str]) -> list[str]:
    return sorted({t[len(PREFIX):] for t in tags if t.startswith(PREFIX)})


def skip_reason(tags: Iterable[str], capabilities: set[str], profile: str) -> str | None:
    """None when the profile can run the scenario; else one sentence saying what is missing."""
    missing = [c for c in needed(tags) if c not in capabilities]
    if not missing:
        return None
    hows = "; ".join(f"{c}: {HOW_TO_ENABLE.get(c, 'see the profile docs')}" for c in missing)
    return f"profile {profile} lacks capability {', '.join(missing)} — needs {hows}"
