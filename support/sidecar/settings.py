"""The ``sidecar:`` profile section (the plan runner's options as settings).

Every key can be overridden by ``E2ET_SIDECAR__<KEY>`` (nested: ``E2ET_SIDECAR__LOAD__DURATION=120s``).
Tokens are secrets: they come only from the environment or ``<key>_file`` paths (the sandbox's own
profile may carry them). File paths left unset mean "not available here": the areas that need them
skip with a reason naming the setting, never fail.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ..durations import Seconds
from ..packs import PackSettings


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimits(_M):
    """The deployment's limits (``RATE_LIMIT_*``): the rate-limit specs size their bursts from them."""

    read_rps: float = Field(default=50, ge=0)
    read_burst: int = Field(default=200, ge=1)
    write_rps: float = Field(default=5, ge=0)
    write_burst: int = Field(default=20, ge=1)


class Load(_M):
    """The plan runner's load options; local defaults keep ``behave --tags @sidecar`` short (the
    plan's run is ``duration: 120s, concurrency: 300``)."""

    duration: Seconds = Field(default=6.0, ge=1)
    concurrency: int = Field(default=20, ge=1, le=5000)
    attach_rate: float = Field(default=0.3, ge=0, le=1)
    token_mix: float = Field(default=0.1, ge=0, le=1)
    granularity: Literal["sentence", "token", "mix"] = "mix"
    features: str = "sae-gpt4-2m"
    model: str = "gpt-4o-mini"
    rps_limit: float = Field(default=0, ge=0)
    timeout: Seconds = 15.0
    poll_interval: Seconds = Field(default=0.25, gt=0)
    poll_cap: Seconds = 180.0
    sample_traces: int = Field(default=12, ge=1)
    client: Literal["aiohttp", "httpx"] = "aiohttp"     # the generator's HTTP engine (see support/sidecar/load.py)


class Slo(_M):
    sentence_p95: Seconds = 2.0
    token_p95: Seconds = 8.0


class Backpressure(_M):
    #: The contract only *records* explainer backpressure signals; a deployment that runs the
    #: controller (the stand-in does) sets this so their absence under a chaos spike fails.
    require_signals: bool = False


class Audit(_M):
    mask_numbers: bool = False          # PII_MASK_NUMBERS (contract default off)
    min_digits: int = Field(default=9, ge=1)    # PII_MASK_MIN_DIGITS


class Timeouts(_M):
    trace: Seconds = 120.0
    chaos_baseline: Seconds = 90.0
    chaos: Seconds = 90.0
    recovery: Seconds = 120.0
    webhook: Seconds = 30.0
    stream: Seconds = 60.0
    analyzer: Seconds = 60.0


TOKEN_KEYS = ("auth_token_write", "auth_token_read", "auth_token_write_only", "auth_token_b_write")
PATH_KEYS = ("status_json", "audit_log", "chaos_control", "helm_chart", "argocd_manifest", "keda_template",
             "karpenter_file", "openapi_file", "change_management_doc", "analyzer")


class SidecarSettings(PackSettings):
    """The ``sidecar:`` section; an unknown key is refused (a typo would silently do nothing)."""

    model_config = ConfigDict(extra="forbid")
    base_url: str
    metrics_gateway: str | None = None           # default: <base_url>/metrics
    metrics_explainer: str | None = None
    auth_token_write: SecretStr                  # tenant A, traces:read + traces:write
    auth_token_read: SecretStr | None = None     # tenant B, traces:read only
    auth_token_write_only: SecretStr | None = None
    auth_token_b_write: SecretStr | None = None  # tenant B with traces:write (immutability probe)
    auth_tokens_json: SecretStr | None = None    # AUTH_TOKENS_JSON-shaped: fills the token kinds above
    tenant_a: str | None = None
    tenant_b: str | None = None
    status_json: Path | None = None
    audit_log: Path | None = None
    s3_check: str | None = None                  # file:///tmp/hif on the plan
    chaos_control: Path | None = None
    helm_chart: Path | None = None
    argocd_manifest: Path | None = None
    keda_template: Path | None = None
    karpenter_file: Path | None = None
    openapi_file: Path | None = None
    change_management_doc: Path | None = None
    analyzer: Path | None = None
    analyzer_concurrency: int | None = Field(default=None, ge=1)   # default: load.concurrency
    webhook_host: str = "127.0.0.1"
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    load: Load = Field(default_factory=Load)
    slo: Slo = Field(default_factory=Slo)
    backpressure: Backpressure = Field(default_factory=Backpressure)
    audit: Audit = Field(default_factory=Audit)
    timeouts: Timeouts = Field(default_factory=Timeouts)

    @field_validator("base_url", "metrics_gateway", "metrics_explainer")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", v):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v.rstrip("/") if not v.endswith("/metrics") else v

    @field_validator("webhook_host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if not re.fullmatch(r"127(\.\d{1,3}){3}", v):
            raise ValueError(f"{v!r} is not a loopback address: the webhook receiver listens on 127.0.0.0/8 only")
        return v

    @field_validator("auth_tokens_json")
    @classmethod
    def _tokens_json(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            parse_tokens_json(v.get_secret_value())
        return v

    @model_validator(mode="after")
    def _defaults(self) -> SidecarSettings:
        if self.metrics_gateway is None:
            self.metrics_gateway = self.base_url + "/metrics"
        if self.tenant_a and self.tenant_b and self.tenant_a == self.tenant_b:
            raise ValueError("tenant_a and tenant_b are the same tenant: isolation needs two tenants")
        return self

    # ---------------------------------------------------------------- derived
    def token(self, kind: str) -> str | None:
        """The token of a kind (write, read, write_only, b_write): explicit settings first, then
        the tokens JSON (matched by tenant and scopes)."""
        explicit = getattr(self, f"auth_token_{kind}", None)
        if explicit is not None:
            return explicit.get_secret_value()
        if self.auth_tokens_json is None:
            return None
        want = {"write": (self.tenant_a, {"traces:read", "traces:write"}), "read": (self.tenant_b, {"traces:read"}),
                "write_only": (self.tenant_a, {"traces:write"}),
                "b_write": (self.tenant_b, {"traces:read", "traces:write"})}.get(kind)
        if want is None:
            return None
        for token, ident in parse_tokens_json(self.auth_tokens_json.get_secret_value()).items():
            if ident.get("tenant_id") == want[0] and _scopes(ident.get("scopes")) == want[1]:
                return token
        return None

    def secrets(self) -> list[str]:
        vals = [self.token(k) for k in ("write", "read", "write_only", "b_write")]
        if self.auth_tokens_json is not None:
            vals += list(parse_tokens_json(self.auth_tokens_json.get_secret_value()))
        return [v for v in vals if v]

    def artifact_root(self) -> Path | None:
        if self.s3_check and self.s3_check.startswith("file://"):
            return Path(self.s3_check[len("file://"):])
        return None


def _scopes(value: Any) -> set[str]:
    if isinstance(value, str):
        return {s.strip() for s in value.split(",") if s.strip()}
    return {str(s) for s in value or []}


def parse_tokens_json(text: str) -> dict[str, dict[str, Any]]:
    """``AUTH_TOKENS_JSON``: plain or base64 JSON object token → identity (with a tenant_id)."""
    import base64
    import binascii

    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = json.loads(base64.b64decode(text, validate=True).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise ValueError("not JSON (nor base64 JSON): give an object mapping token → "
                             '{"tenant_id", "scopes"}') from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError('must be a JSON object mapping token → {"tenant_id", "scopes", "subject"}')
    return data
