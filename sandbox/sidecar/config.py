"""The stand-in's own configuration (``--config FILE`` overrides; every key has a default)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .explainer.worker import DEFAULT_COSTS, parse_costs


class ConfigError(ValueError):
    """Bad sandbox input: one line naming the key and the fix (exit 2)."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimits(_M):
    read_rps: float = Field(default=50, ge=0)
    read_burst: float = Field(default=200, ge=1)
    write_rps: float = Field(default=5, ge=0)
    write_burst: float = Field(default=20, ge=1)


class Explainer(_M):
    slots: int = Field(default=2, ge=1, le=64)
    costs_sentence: str = DEFAULT_COSTS["sentence"]
    costs_token: str = DEFAULT_COSTS["token"]
    max_backlog_sentence: float = 1.5
    max_backlog_token: float = 3.0

    @field_validator("costs_sentence", "costs_token")
    @classmethod
    def _costs(cls, v: str) -> str:
        parse_costs(v)
        return v


class Load(_M):
    """The load step's local defaults written into the profile (short: the whole pack ≤ ~60 s)."""

    duration: float = 6.0
    concurrency: int = 20
    attach_rate: float = 0.3
    token_mix: float = 0.1


class SandboxConfig(_M):
    tenant_a: str = "tenant-a"
    tenant_b: str = "tenant-b"
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    explainer: Explainer = Field(default_factory=Explainer)
    load: Load = Field(default_factory=Load)
    llm_latency_ms: float = Field(default=2.0, ge=0)
    trace_ttl_days: float = Field(default=7, gt=0)
    mask_numbers: bool = True
    data_dir: Path | None = None
    faults: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def load_file(cls, path: str | None) -> SandboxConfig:
        if not path:
            return cls()
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as e:
            raise ConfigError(f"--config {path} unreadable ({e.strerror}): fix the path") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"--config {path} is not valid YAML ({e}): fix its syntax") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"--config {path} must be a YAML mapping: see sandbox/sidecar/config.py for the keys")
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            key = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"--config {path}: {key}: {str(err['msg']).removeprefix('Value error, ')}: "
                              "fix it or remove the key") from None
