"""Evidence attached to a scenario's Allure result, so nobody has to rerun to learn why it failed.

What: this scenario's HTTP exchanges as replayable curl commands (redacted), each Kafka watcher's
scan window (partitions, offsets, counts) and its last messages of the run's tenant (near-misses),
envoy/agent log tails, and the local sandbox's log tail. Every text passes the run's redactor
right before it is attached — secrets learnt late (tokens) are covered too.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("e2et.reporting")

Attach = Callable[[str, str, str], None]   # (body, name, kind: "text" | "json")


def allure_attach(body: str, name: str, kind: str) -> None:
    """Attach through allure_commons (a no-op when no allure formatter is active)."""
    import allure
    from allure_commons.types import AttachmentType

    allure.attach(body, name=name, attachment_type=AttachmentType.JSON if kind == "json" else AttachmentType.TEXT)


class Marks:
    """Where each world's exchange log / watcher / envoy lists stood when the scenario began."""

    def __init__(self, worlds: dict[str, Any]) -> None:
        self.at: dict[str, tuple[Any, int, int]] = {}
        for name, world in worlds.items():
            items = list(getattr(getattr(world, "exchanges", None), "items", []) or [])
            self.at[name] = (items[-1] if items else None, len(getattr(world, "watchers", [])),
                             len(getattr(world, "envoys", [])))

    def since(self, name: str, world: Any) -> tuple[list[Any], list[Any], list[Any]]:
        """This scenario's exchanges, watchers and envoys (run-scoped envoys it used are included)."""
        last, n_watch, n_env = self.at.get(name, (None, 0, 0))
        items = list(getattr(getattr(world, "exchanges", None), "items", []) or [])
        if last is not None and any(i is last for i in items):
            idx = next(k for k, i in enumerate(items) if i is last)
            items = items[idx + 1:]
        envoys = list(getattr(world, "envoys", []))
        # envoys started in this scenario, plus earlier (run-scoped) ones still running that it may have used
        used = envoys[n_env:] + [e for e in envoys[:n_env] if getattr(e, "alive", lambda: False)()]
        return items, list(getattr(world, "watchers", []))[n_watch:], used


def _tail(path: str | Path | None, lines: int) -> str:
    if not path:
        return ""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _watcher_evidence(w: Any, tenant: str | None) -> dict[str, Any]:
    window = w.window() if hasattr(w, "window") else {}
    seen = [m for m in list(getattr(w, "seen", []) or []) if tenant is None or str(m.get("tenantId")) == tenant]
    window["last_messages_of_tenant"] = [{k: v for k, v in m.items() if k != "raw"} for m in seen[-20:]]
    return window


def collect(world: Any, marks: Marks, name: str, settings: Any) -> list[tuple[str, str, str]]:
    """(body, attachment name, kind) triples for one world; redacted; never raises."""
    redact = getattr(world, "redact", None) or (lambda s: s)
    out: list[tuple[str, str, str]] = []
    exchanges, watchers, envoys = marks.since(name, world)
    if exchanges:
        out.append(("\n\n".join(e.render() for e in exchanges[-60:]), f"{name}: HTTP exchanges (curl)", "text"))
    tenant = getattr(world, "tenant_id", None)
    for i, w in enumerate(watchers):
        try:
            body = json.dumps(_watcher_evidence(w, tenant), indent=2, sort_keys=True, default=str)
        except Exception as e:  # evidence must never hide the real failure
            body = json.dumps({"error": f"window unavailable: {e}"})
        out.append((body, f"{name}: Kafka scan window {getattr(w, 'topic', i)}", "json"))
    for envoy in envoys:
        rid = getattr(envoy, "resource_id", "envoy")
        out.append((envoy.log_tail(200) or "(empty)", f"{name}: envoy log {rid}", "text"))
        for agent_log in sorted(Path(getattr(envoy, "workdir", "/nonexistent")).rglob("*.log")):
            if agent_log != getattr(envoy, "log_path", None):
                out.append((_tail(agent_log, 200) or "(empty)", f"{name}: agent log {agent_log.name} ({rid})", "text"))
    sandbox = getattr(settings, "sandbox", None)
    if sandbox is not None and getattr(sandbox, "log_file", None):
        out.append((_tail(sandbox.log_file, 300) or "(empty)", "sandbox log (tail)", "text"))
    return [(redact(body), title, kind) for body, title, kind in out]


def attach_all(worlds: dict[str, Any], marks: Marks | None, settings: Any, attach: Attach = allure_attach) -> int:
    """Attach every world's evidence; returns how many attachments were made."""
    count = 0
    if marks is None:
        marks = Marks({})
    seen_titles: set[str] = set()
    for name, world in worlds.items():
        try:
            items = collect(world, marks, name, settings)
        except Exception as e:
            log.warning("collecting evidence of %s failed: %s", name, e)
            continue
        for body, title, kind in items:
            if title in seen_titles:
                continue
            seen_titles.add(title)
            attach(body, title, kind)
            count += 1
    return count
