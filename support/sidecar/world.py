"""Run-scoped fixtures of the @sidecar pack: what the steps need, made on first use, cleaned up
always, and only through what a real deployment exposes (HTTP, metrics, the status file, the audit
log, the chaos file and the artifact files named in the profile).
"""
from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ..exclusive import DeploymentLock
from ..run import CleanupStack, RunContext
from ..world import BaseWorld
from . import hif, metrics
from .files import AuditTail, ChaosControl, read_status_store
from .gateway import TERMINAL, Gateway, rand
from .settings import SidecarSettings
from .sse import StreamResult, follow
from .webhooks import WebhookReceiver

if TYPE_CHECKING:
    from .load import LoadResult

log = logging.getLogger("e2et.sidecar")
T = TypeVar("T")
PROMPT = "Explain which circuits turn the question into the answer."


class Skip(Exception):
    """A dependency of the scenario is absent: the step skips the scenario with this reason."""


class SidecarWorld(BaseWorld):
    def __init__(self, settings: SidecarSettings, run: RunContext, run_cleanup: CleanupStack | None = None) -> None:
        super().__init__(settings, run, run_cleanup)
        self.s = settings
        self.redact.add(*settings.secrets())          # the tokens inside auth_tokens_json, one by one
        self.gw = Gateway(settings, self.exchanges, run.http_timeout)
        self.lock = DeploymentLock(settings.base_url, scope="sidecar")
        self._bound: Any = None

    def bind_scenario(self, stack: CleanupStack | None) -> None:
        """A new scenario holds the deployment shared until it ends (see exclusive.py)."""
        super().bind_scenario(stack)
        if stack is not None and stack is not self._bound:
            self._bound = stack
            self.lock.acquire(exclusive=False, timeout=self.wait(600))
            stack.push("release the deployment lock", self.lock.release)

    def exclusive(self) -> None:
        """This scenario judges or changes global state: no other flow's scenario runs meanwhile."""
        self.lock.acquire(exclusive=True, timeout=self.wait(600))

    def wait(self, seconds: float) -> float:
        """A wait budget from the profile, stretched by the run's timeout_multiplier."""
        return self.run.deadline(seconds)

    def close(self) -> None:
        receiver = self._cache.get("receiver")
        if receiver is not None:
            receiver.close()
        self.gw.close()
        self.lock.close()
        super().close()

    # ---------------------------------------------------------------- traces
    def trace_id(self, granularity: str = "sentence") -> str:
        """``trc_e2et_<runid>_<granularity>_<rand>``: run-scoped, so the janitor can date leftovers."""
        return "trc_" + self.run.names.name(granularity).replace("-", "_")

    def explained_chat(self, granularity: str = "sentence", as_: str = "write", prompt: str = PROMPT,
                       trace_id: str | None = None) -> tuple[str, httpx.Response]:
        """An explained chat with this run's trace id; a non-terminal leftover is canceled at the end."""
        trace_id = trace_id or self.trace_id(granularity)
        self.on_scenario(f"cancel {trace_id} if still running", lambda: self._cancel_if_running(trace_id, as_))
        resp = self.gw.chat(prompt, as_=as_, granularity=granularity, trace_id=trace_id)
        if resp.status_code >= 500:
            raise Skip(f"chat upstream error (LLM proxy not configured): HTTP {resp.status_code} {resp.text[:120]}")
        return trace_id, resp

    def accepted_chat(self, granularity: str = "sentence", prompt: str = PROMPT) -> str:
        """An explained chat of tenant A that must be answered 200; its trace id."""
        trace_id, resp = self.explained_chat(granularity, prompt=prompt)
        self.gw.ok(resp, 200, what=f"explained chat {trace_id}")
        return trace_id

    def _cancel_if_running(self, trace_id: str, as_: str) -> None:
        r = self.gw.call("GET", f"/v1/traces/{trace_id}/status", as_=as_, retry_429=False)
        if r.status_code == 200 and r.json().get("state") not in TERMINAL:
            self.gw.call("DELETE", f"/v1/traces/{trace_id}", as_=as_, retry_429=False)

    def completed_trace(self, granularity: str = "sentence") -> tuple[str, dict[str, Any]]:
        trace_id, resp = self.explained_chat(granularity)
        self.gw.ok(resp, 200, what=f"explained chat {trace_id}")
        status = self.gw.wait_terminal(trace_id, self.wait(self.s.timeouts.trace))
        if status.get("state") != "complete":
            raise AssertionError(f"trace {trace_id} ended {status.get('state')} (error {status.get('error')}), "
                                 "not complete")
        return trace_id, status

    def terminal(self, trace_id: str, budget: str = "trace", as_: str = "write") -> dict[str, Any]:
        """The trace's terminal status, waited for within the profile's ``timeouts.<budget>``."""
        return self.gw.wait_terminal(trace_id, self.wait(getattr(self.s.timeouts, budget)), as_)

    def graph(self, trace_id: str, as_: str = "write") -> httpx.Response:
        return self.gw.call("GET", f"/v1/traces/{trace_id}/graph", as_=as_)

    def graph_problems(self, graph: Any, granularity: str | None) -> list[str]:
        out = hif.problems(graph)
        if not out and granularity and graph.get("meta", {}).get("granularity") != granularity:
            out.append(f"meta.granularity is {graph.get('meta', {}).get('granularity')!r}, not {granularity!r}")
        return out

    def stored_artifact(self, s3_key: str | None) -> Any:
        """The artifact at ``<s3_check>/<s3_key>`` (gunzipped JSON), or None when not readable here."""
        root = self.s.artifact_root()
        if root is None or not s3_key:
            return None
        try:
            return json.loads(gzip.decompress((root / s3_key).read_bytes()))
        except (OSError, ValueError):
            return None

    def follow_stream(self, trace_id: str, as_: str = "write") -> StreamResult:
        return follow(self.s.base_url, trace_id, self.gw.auth(as_), self.wait(self.s.timeouts.stream))

    # ---------------------------------------------------------------- webhooks
    def receiver(self) -> WebhookReceiver:
        return self.once("receiver", lambda: WebhookReceiver(self.s.webhook_host))

    def register_webhook(self, trace_id: str, as_: str = "write") -> tuple[str, httpx.Response]:
        name = rand(8)
        body = {"url": self.receiver().hook_url(name), "events": ["complete", "failed"]}
        return name, self.gw.call("POST", f"/v1/traces/{trace_id}/webhooks", as_=as_, json=body)

    # ---------------------------------------------------------------- metrics and files
    def gateway_metrics(self) -> metrics.Scrape:
        url = self.s.metrics_gateway or self.s.base_url + "/metrics"
        return metrics.scrape(url, "sidecar.metrics_gateway", self.run.http_timeout)

    def explainer_metrics(self) -> metrics.Scrape | None:
        return metrics.try_scrape(self.s.metrics_explainer, self.run.http_timeout)

    def status_store(self) -> dict[str, Any]:
        data = read_status_store(self.s.status_json) if self.s.status_json else None
        if data is None:
            raise Skip(f"StatusStore path unavailable: {self.s.status_json} is missing or unreadable "
                       "(sidecar.status_json)")
        return data

    def audit(self) -> AuditTail:
        if self.s.audit_log is None:
            raise Skip("audit log unavailable (sidecar.audit_log)")
        return AuditTail(Path(self.s.audit_log))

    def chaos(self) -> ChaosControl:
        """The chaos file, restored to what it held before once the scenario ends."""
        self.exclusive()
        if self.s.chaos_control is None:
            raise Skip("the chaos control file is not configured (sidecar.chaos_control)")
        ctl = ChaosControl(Path(self.s.chaos_control))
        if not ctl.writable():
            raise Skip(f"chaos control {ctl.path} is not writable (sidecar.chaos_control)")
        before = ctl.path.read_text() if ctl.path.exists() else None

        def restore() -> None:
            if before is None:
                ctl.disable_all()
            else:
                ctl.path.write_text(before)
        self.on_scenario("restore the chaos control file", restore)
        return ctl

    # ---------------------------------------------------------------- load
    def load(self) -> LoadResult:
        from .load import run_load  # the load engine (aiohttp) only when a load step runs
        """One load run per test run, shared by the backpressure and the SLO specs."""
        def make() -> LoadResult:
            token = self.s.token("write")
            assert token is not None, "sidecar.auth_token_write is required"
            return run_load(self.s.base_url, token, self.s.load, tenant=self.s.tenant_a)
        return self.once("load", make)

    def load_scrapes(self) -> tuple[metrics.Scrape, metrics.Scrape | None, LoadResult, metrics.Scrape,
                                    metrics.Scrape | None]:
        self.exclusive()

        def make() -> tuple:
            g0, e0 = metrics.try_scrape(self.s.metrics_gateway), self.explainer_metrics()
            result = self.load()
            return g0, e0, result, metrics.try_scrape(self.s.metrics_gateway), self.explainer_metrics()
        return self.once("load_scrapes", make)
