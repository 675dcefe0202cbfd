"""Start and stop the whole stand-in: Redis, the upstream stub and the fault control (in this
process), the gateway and the explainer (child processes), then write the profile."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from support.net import free_port

from .artifact_copy import ArtifactCopy
from .children import PythonChild
from .config import SandboxConfig
from .control import Control
from .faults import FaultBoard
from .llm_stub import make_app as stub_app
from .redis_server import RedisServer

log = logging.getLogger("sandbox.sidecar")


class SidecarSandbox:
    def __init__(self, cfg: SandboxConfig, log_file: Path | None) -> None:
        self.cfg = cfg
        self._tmp = None
        if cfg.data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="e2et-sidecar-sandbox-")
            cfg.data_dir = Path(self._tmp)
        self.data = Path(cfg.data_dir)
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file or self.data / "sandbox.log"
        self.hif_root = self.data / "hif"
        self.hif_root.mkdir(exist_ok=True)
        self.redis = RedisServer(self.data)
        self.board = FaultBoard(self.data / "faults.json")
        self.artifacts = ArtifactCopy(self.data)
        self.tokens = {k: "sk-sbx-" + secrets.token_urlsafe(18) for k in ("write", "read", "write_only", "b_write")}
        self.children: list[PythonChild] = []
        self.runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}

    def auth_tokens_json(self) -> str:
        a, b = self.cfg.tenant_a, self.cfg.tenant_b
        rw = ["traces:read", "traces:write"]
        return json.dumps({
            self.tokens["write"]: {"tenant_id": a, "scopes": rw, "subject": "userA"},
            self.tokens["read"]: {"tenant_id": b, "scopes": ["traces:read"], "subject": "userB"},
            self.tokens["write_only"]: {"tenant_id": a, "scopes": "traces:write", "subject": "writerA"},
            self.tokens["b_write"]: {"tenant_id": b, "scopes": rw, "subject": "writerB"},
        })

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/"

    async def start(self) -> None:
        self.redis.start()
        self.urls["llm"] = await self._serve(stub_app(self.cfg.llm_latency_ms))
        self.control = Control(self.board, self.artifacts, dict(self.cfg.faults))
        self.urls["control"] = await self._serve(self.control.app())
        gw_port, ex_port = free_port(), free_port()
        rl, ex = self.cfg.rate_limits, self.cfg.explainer
        common = {"REDIS_URL": self.redis.url, "REDIS_STREAM": "hypergraph:completions",
                  "STATUS_BACKEND": "json", "STATUS_JSON_PATH": str(self.hif_root / "status.json"),
                  "TRACE_TTL_DAYS": str(self.cfg.trace_ttl_days), "AUDIT_LOG_ENABLE": "1",
                  "AUDIT_LOG_PATH": str(self.data / "audit.log"), "ENABLE_OTEL": "1",
                  "CHAOS_CONTROL_PATH": str(self.hif_root / "chaos.json"), "ARTIFACT_ROOT": str(self.hif_root),
                  "SANDBOX_FAULTS_PATH": str(self.board.path), "LOG_LEVEL": "INFO"}
        gateway_env = {**common, "PORT": str(gw_port), "HOST": "127.0.0.1", "AUTH_MODE": "static",
                       "AUTH_TOKENS_JSON": self.auth_tokens_json(), "LLM_PROXY_URL": self.urls["llm"].rstrip("/"),
                       "RATE_LIMIT_READ_RPS": str(rl.read_rps), "RATE_LIMIT_READ_BURST": str(rl.read_burst),
                       "RATE_LIMIT_WRITE_RPS": str(rl.write_rps), "RATE_LIMIT_WRITE_BURST": str(rl.write_burst),
                       "GATEWAY_VERSION": "0.1.0-sandbox", "PII_MASK_NUMBERS": "1" if self.cfg.mask_numbers else "0"}
        explainer_env = {**common, "EXPLAINER_METRICS_HOST": "127.0.0.1", "EXPLAINER_METRICS_PORT": str(ex_port),
                         "REDIS_CONSUMER_NAME": "sandbox-explainer", "REDIS_BLOCK_MS": "1000",
                         "EXPLAINER_SLOTS": str(ex.slots), "STAGE_COSTS_SENTENCE": ex.costs_sentence,
                         "STAGE_COSTS_TOKEN": ex.costs_token, "BP_MAX_BACKLOG_SENTENCE": str(ex.max_backlog_sentence),
                         "BP_MAX_BACKLOG_TOKEN": str(ex.max_backlog_token), "EXPLAINER_VERSION": "0.1.0-sandbox"}
        for module, env in (("sandbox.sidecar.gateway", gateway_env), ("sandbox.sidecar.explainer", explainer_env)):
            child = PythonChild(module, env, self.log_file)
            child.start()
            self.children.append(child)
        self.urls["gateway"] = f"http://127.0.0.1:{gw_port}"
        self.urls["explainer_metrics"] = f"http://127.0.0.1:{ex_port}/metrics"
        await self._wait_ready(f"http://127.0.0.1:{gw_port}/healthz", f"http://127.0.0.1:{ex_port}/healthz")

    async def _wait_ready(self, *urls: str, timeout: float = 20.0) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = list(urls)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
            while pending:
                for child in self.children:
                    if child.exited() is not None:
                        raise RuntimeError(f"{child.module} exited with {child.exited()}: see {self.log_file}")
                for url in list(pending):
                    try:
                        async with http.get(url) as r:
                            if r.status == 200:
                                pending.remove(url)
                    except (TimeoutError, aiohttp.ClientError):
                        pass
                if pending and loop.time() > deadline:
                    raise RuntimeError(f"not ready within {timeout:.0f}s: {', '.join(pending)}; see {self.log_file}")
                if pending:
                    await asyncio.sleep(0.05)

    def profile(self) -> dict[str, Any]:
        a, b = self.cfg.tenant_a, self.cfg.tenant_b
        rl = self.cfg.rate_limits
        section: dict[str, Any] = {
            "base_url": self.urls["gateway"], "metrics_gateway": self.urls["gateway"] + "/metrics",
            "metrics_explainer": self.urls["explainer_metrics"],
            "auth_token_write": self.tokens["write"], "auth_token_read": self.tokens["read"],
            "auth_token_write_only": self.tokens["write_only"], "auth_token_b_write": self.tokens["b_write"],
            "tenant_a": a, "tenant_b": b,
            "status_json": str(self.hif_root / "status.json"), "audit_log": str(self.data / "audit.log"),
            "s3_check": f"file://{self.hif_root}", "chaos_control": str(self.hif_root / "chaos.json"),
            **self.artifacts.profile_keys(),
            "rate_limits": {"read_rps": rl.read_rps, "read_burst": rl.read_burst, "write_rps": rl.write_rps,
                            "write_burst": rl.write_burst},
            "audit": {"mask_numbers": self.cfg.mask_numbers},
            "load": self.cfg.load.model_dump(),
            "backpressure": {"require_signals": True},
            "sandbox": {"control_url": self.urls["control"], "log_file": str(self.log_file),
                        "data_dir": str(self.data), "pid": os.getpid()},
        }
        return {"sidecar": section}

    def write_profile(self, path: Path) -> None:
        from sandbox.common.cli import write_profile
        write_profile(path, self.profile())

    async def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        for runner in reversed(self.runners):
            await runner.cleanup()
        self.redis.stop()
        if self._tmp:
            import shutil
            shutil.rmtree(self._tmp, ignore_errors=True)
