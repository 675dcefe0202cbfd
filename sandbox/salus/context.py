"""The wiring handed to every sandbox component (built once in ``sandbox.salus.app``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import SandboxConfig
from .faults import Faults
from .interfaces import Bus, Domain


@dataclass
class SandboxContext:
    config: SandboxConfig
    faults: Faults
    data_dir: Path
    bus: Bus | None = None
    domain: Domain | None = None
    pki: Any = None                       # sandbox.salus.pki.Pki
    urls: dict[str, str] = field(default_factory=dict)   # service name -> base URL / address
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. release tarball facts
