"""Spec packs: one per system under test, declared once, read by every part of e2et.

A system is ``features/<name>/``, ``steps/<name>_*.py``, ``support/<name>/`` and ``sandbox/<name>/``,
plus one declaration — ``support/<name>/pack.py`` defining ``PACK``, an instance of a :class:`Pack`
subclass — and one line in ``support/registry.py``. The lifecycle, the ``e2et`` command, parallel
flows, soaks, the janitor, the summary and the Allure environment learn about a system only from
here (docs/adding-a-system.md walks through it with a worked example).
"""
from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import datetime as dt

    from .faults import FaultControl
    from .http import ExchangeLog
    from .run import CleanupStack, RunContext
    from .world import BaseWorld


class SandboxInfo(BaseModel):
    """What a local sandbox reports about itself in the profile it writes (absent for real systems)."""

    model_config = ConfigDict(extra="ignore")
    control_url: str | None = None
    log_file: str | None = None
    data_dir: str | None = None
    pid: int | None = None


class PackSettings(BaseModel):
    """Base of every pack's settings section (``<name>:`` in a profile)."""

    model_config = ConfigDict(extra="ignore")
    sandbox: SandboxInfo | None = None


@dataclass(frozen=True)
class Endpoint:
    """One address of the system: probed by preflight (TCP) and listed in the report's environment."""

    setting: str                    # the profile key naming it, e.g. "public_api.url" (within the section)
    address: str                    # an http(s) URL or host:port
    preflight: bool = True

    def host_port(self) -> tuple[str, int]:
        if "://" in self.address:
            u = urlparse(self.address)
            return u.hostname or "", u.port or (443 if u.scheme == "https" else 80)
        host, _, port = self.address.rpartition(":")
        return host, int(port)


@dataclass(frozen=True)
class Legacy:
    """Configuration written before packs existed, that this pack still accepts unchanged.

    ``sections``: top-level profile keys that belong to this pack's section (``tenant:`` → the
    pack's ``tenant``); env ``E2ET_<SECTION>__…`` follows. ``keys``: an earlier tool's dotted keys
    (flat or nested in YAML) → path in the section (None: accepted and ignored); their env names
    (``E2ET_`` + key upper-cased, dots → ``_``) follow.
    """

    sections: frozenset[str] = frozenset()
    keys: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, tuple[str, ...] | None]:
        return {"E2ET_" + k.upper().replace(".", "_").replace("-", "_"): v for k, v in self.keys.items()}

    def env_name(self, path: tuple[str, ...]) -> str | None:
        """The earlier tool's env name for a section path, if it had one."""
        return next((e for e, p in self.env.items() if p == path), None)


class Pack:
    """The declaration of one system; subclass it in ``support/<name>/pack.py``.

    Class attributes say what the system *is*; methods, given the pack's validated settings
    section, say what a run can do with it. Defaults fit a pack without a sandbox, faults or janitor.
    """

    name: ClassVar[str] = ""                            # tag @name, features/<name>/, profile section <name>:
    title: ClassVar[str] = ""                           # human name in reports
    settings_model: ClassVar[type[PackSettings]] = PackSettings
    sandbox_module: ClassVar[str | None] = None         # `python -m <module> up --profile-out FILE …`
    fault_catalog_module: ClassVar[str | None] = None   # module with CATALOG: {name: spec with .description}
    legacy: ClassVar[Legacy] = Legacy()
    how_to_enable: ClassVar[Mapping[str, str]] = {}     # capability → what to add to the profile
    leak_markers: ClassVar[tuple[str, ...]] = ()        # command lines of processes that must not outlive a run
    known_issues: ClassVar[Mapping[str, str]] = {}      # @known_issue:<key> → reason shown on the skip

    def __repr__(self) -> str:
        return f"<pack {self.name}>"

    @property
    def tag(self) -> str:
        return "@" + self.name

    # -- what a run does with the system -------------------------------------------------------
    def world(self, settings: Any, run: RunContext, run_cleanup: CleanupStack) -> BaseWorld:
        """The pack's fixtures for steps (created once per run, on first use)."""
        from .world import BaseWorld
        return BaseWorld(settings, run, run_cleanup)

    def endpoints(self, settings: Any) -> list[Endpoint]:
        return []

    def capabilities(self, settings: Any) -> set[str]:
        """What this profile can exercise (``@needs:<capability>``); ``faults`` when a sandbox reports a control."""
        sandbox = getattr(settings, "sandbox", None)
        return {"faults"} if sandbox is not None and sandbox.control_url else set()

    def enable_hint(self, capability: str, settings: Any) -> str:
        """What to add to the profile (or this machine) to get ``capability``: the skip reason.
        Override to add what only the settings or the machine can tell."""
        return self.how_to_enable.get(capability, "see the profile docs")

    def unavailable_reason(self) -> str | None:
        """Why this machine cannot run the pack's local sandbox (None: it can). Asked before the
        sandbox would start; every scenario of the pack is then skipped with this reason."""
        return None

    def check(self, settings: Any, profile: str) -> None:
        """Cross-field validation after the model validated: raise ``ConfigError`` naming the setting."""

    def fault_control(self, settings: Any, log: ExchangeLog | None = None, transport: Any = None) -> FaultControl:
        """The sandbox's fault switches (``sandbox.control_url``); override to add authentication.

        ``transport``: an httpx transport for unit tests of the control's requests."""
        from .faults import FaultControl
        return FaultControl.at(self.name, settings, log, transport=transport)

    def fault_catalog(self) -> dict[str, str]:
        """Fault name → description, from the sandbox's catalogue module (no sandbox needs to run)."""
        if not self.fault_catalog_module:
            return {}
        catalog = importlib.import_module(self.fault_catalog_module).CATALOG
        return {name: getattr(spec, "description", str(spec)) for name, spec in sorted(catalog.items())}

    def janitor(self, settings: Any, run: RunContext, older_than: dt.timedelta, keep_runs: set[str],
                dry_run: bool) -> dict[str, int]:
        """Remove what dead runs left on a real deployment; counts per kind. Nothing by default."""
        return {}

    def environment(self, settings: Any) -> dict[str, str]:
        """Flat facts for the report's environment (endpoints by default; never secrets)."""
        return {f"{self.name}.{e.setting}": e.address for e in self.endpoints(settings)}


# ----------------------------------------------------------------------------- the registry
@functools.cache
def registry() -> dict[str, Pack]:
    """Every registered pack by name, in registration order (support/registry.py)."""
    from .registry import PACK_MODULES

    packs: dict[str, Pack] = {}
    for module in PACK_MODULES:
        pack = importlib.import_module(module).PACK
        if not pack.name or pack.name in packs:
            raise RuntimeError(f"{module}: a pack needs a unique name (got {pack.name!r})")
        packs[pack.name] = pack
    return packs


def get(name: str) -> Pack:
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"unknown pack {name!r}: registered packs are {', '.join(registry())}") from None


def pack_of_tags(tags: Any) -> Pack | None:
    """The pack a scenario belongs to: the first registered pack whose name is among its tags."""
    tagset = {str(t) for t in tags}
    return next((p for p in registry().values() if p.name in tagset), None)


def known_issue_reason(tags: Any) -> str | None:
    """None unless tagged ``@known_issue[:<key>]``; then the reason the pack declares for the key."""
    tags = [str(t) for t in tags]
    keys = [t.split(":", 1)[1] if ":" in t else "" for t in tags if t == "known_issue" or t.startswith("known_issue:")]
    if not keys:
        return None
    pack = pack_of_tags(tags)
    reason = pack.known_issues.get(keys[0]) if pack is not None and keys[0] else None
    return reason or "known issue of the system under test (tagged @known_issue)"
