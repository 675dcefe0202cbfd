"""Salus-specific evidence of a failed scenario: Kafka scan windows and envoy/agent log tails."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..reporting.evidence import tail
from ..world import Attachment


def watcher_evidence(w: Any, tenant: str | None) -> Attachment:
    """The watcher's scan window plus its last messages of the run's tenant (never other tenants')."""
    try:
        window = w.window()
        seen = [m for m in list(w.seen or []) if tenant is None or str(m.get("tenantId")) == tenant]
        window["last_messages_of_tenant"] = [{k: v for k, v in m.items() if k != "raw"} for m in seen[-20:]]
        body = json.dumps(window, indent=2, sort_keys=True, default=str)
    except Exception as e:  # noqa: BLE001 — evidence must never hide the real failure
        body = json.dumps({"error": f"window unavailable: {e}"})
    return Attachment(body, f"Kafka scan window {getattr(w, 'topic', '?')}", "json")


def envoy_evidence(envoy: Any) -> list[Attachment]:
    rid = getattr(envoy, "resource_id", "envoy")
    out = [Attachment(envoy.log_tail(200) or "(empty)", f"envoy log {rid}")]
    for agent_log in sorted(Path(getattr(envoy, "workdir", "/nonexistent")).rglob("*.log")):
        if agent_log != getattr(envoy, "log_path", None):
            out.append(Attachment(tail(agent_log, 200) or "(empty)", f"agent log {agent_log.name} ({rid})"))
    return out
