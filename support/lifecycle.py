"""Run lifecycle behind environment.py: profile → run context → sandbox → preflight → cleanup.

Kept out of environment.py so the hooks stay one-liners and the same lifecycle can be driven
from pytest and the ``e2et`` command.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import packs

log = logging.getLogger("e2et")

REPO_ROOT = Path(__file__).resolve().parents[1]


class FatalInput(Exception):
    """Bad input or unreachable platform before anything was created: one line, exit code 2."""

    exit_code = 2


def install_signal_handlers(context: Any) -> None:
    """SIGTERM behaves like Ctrl-C: behave aborts, after_all runs every registered cleanup."""
    def on_signal(signum: int, _frame: object) -> None:
        if context.config.userdata.get("_e2et_signal"):
            return      # already stopping: a second Ctrl-C must not cut the cleanup short
        context.config.userdata["_e2et_signal"] = signum
        if context.config.userdata.get("_e2et_cleaning"):
            return      # let the cleanup in progress finish; after_scenario aborts the run after it
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def forced_exit_code(context: Any) -> int | None:
    sig = context.config.userdata.get("_e2et_signal")
    if sig == signal.SIGINT:
        return 130
    if sig == signal.SIGTERM:
        return 143
    return None


def _profile_name(context: Any) -> str:
    return (context.config.userdata.get("profile") or os.environ.get("E2ET_PROFILE") or "local").strip()


def start_run(context: Any) -> None:
    from .config import load_settings
    from .errors import ConfigError, InfrastructureError
    from .run import CleanupStack, RunContext

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    context.e2et_sandboxes = {}
    context.run_cleanup = CleanupStack()
    profile = _profile_name(context)
    try:
        context.run = RunContext()
        if profile == "local" and not os.environ.get("E2ET_SANDBOX_PROFILE"):
            _start_sandboxes(context)
        context.settings = load_settings(profile)
        _preflight(context.settings)
    except ConfigError as e:
        raise FatalInput(str(e)) from None
    except InfrastructureError as e:
        raise FatalInput(str(e)) from None
    context.worlds = {}
    log.info("run %s on profile %s", context.run.run_id, profile)


def _start_sandboxes(context: Any) -> None:
    """Start each selected pack's sandbox once for the run; the suite then sees only its profile."""
    from sandbox.launcher import SandboxStartError, start_sandbox

    for pack in packs.selected(context.config):
        run_dir = REPO_ROOT / "reports" / "runs" / context.run.run_id / "sandbox" / pack.name
        try:
            handle = start_sandbox(pack.sandbox, run_dir)
        except SandboxStartError as e:
            raise FatalInput(f"the local {pack.name} sandbox did not start: {e} "
                             "(run `bash scripts/setup.sh`, then look at the sandbox log)") from None
        context.e2et_sandboxes[pack.name] = handle
        os.environ["E2ET_SANDBOX_PROFILE"] = str(handle.profile_path)
        context.run_cleanup.push(f"stop {pack.name} sandbox", handle.stop)


def _preflight(settings: Any) -> None:
    """Fail fast, before creating anything, when an endpoint or the broker cannot be reached."""
    from .errors import InfrastructureError

    checks: list[tuple[str, str, int]] = []
    for key in ("identity", "public_api", "admin_api"):
        section = getattr(settings, key, None)
        url = getattr(section, "url", None) if section is not None else None
        if url:
            u = urlparse(str(url))
            checks.append((f"{key}.url", u.hostname or "", u.port or (443 if u.scheme == "https" else 80)))
    for broker in settings.kafka.brokers:
        host, _, port = broker.rpartition(":")
        checks.append(("kafka.brokers", host, int(port)))
    for key, host, port in checks:
        try:
            socket.create_connection((host, port), timeout=5).close()
        except OSError as e:
            raise InfrastructureError(
                f"{key} {host}:{port} unreachable ({e.strerror or e}): check the profile's {key} "
                "or that the platform is up") from None


def before_feature(context: Any, feature: Any) -> None:
    pass


def before_scenario(context: Any, scenario: Any) -> None:
    from .run import CleanupStack

    context.scenario_state = {}
    context.scenario_cleanup = CleanupStack()
    if "known_issue" in scenario.effective_tags:
        scenario.skip(reason=packs.known_issue_reason(scenario))


def after_scenario(context: Any, scenario: Any) -> None:
    stack = getattr(context, "scenario_cleanup", None)
    if stack is not None:
        context.config.userdata["_e2et_cleaning"] = True
        try:
            failures = stack.run()
        finally:
            context.config.userdata["_e2et_cleaning"] = False
        for f in failures or []:
            log.warning("scenario cleanup failed: %s", f)
    if context.config.userdata.get("_e2et_signal"):
        raise KeyboardInterrupt("signal received during cleanup")


def stop_run(context: Any) -> None:
    """Run every cleanup still registered — a scenario's cut short by an interrupt first, then the
    run's (reverse creation order, sandbox last) — then close the worlds; never raises."""
    context.config.userdata["_e2et_cleaning"] = True
    for name in ("scenario_cleanup", "run_cleanup"):
        stack = getattr(context, name, None)
        if stack is not None:
            for f in stack.run() or []:
                log.warning("cleanup failed: %s", f)
    for world in list(getattr(context, "worlds", {}).values()):
        try:
            world.close()
        except Exception as e:  # keep cleaning whatever one world does
            log.warning("closing %s failed: %s", world, e)
    run = getattr(context, "run", None)
    if run is not None:
        _kill_strays(f"e2et-{run.run_id}-")
        run.remove_temp()


def _kill_strays(marker: str) -> None:
    """Last line of defence: any process still running from this run's temp root (an envoy whose
    start was cut by a signal before its handle was kept) is killed with its children."""
    import psutil

    strays = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.pid != os.getpid() and marker in " ".join(p.info["cmdline"] or []):
                strays.append(p)
        except psutil.Error:
            continue
    for p in strays:
        try:
            for child in p.children(recursive=True):
                child.kill()
            p.kill()
            log.warning("killed stray process %s of this run", p.pid)
        except psutil.Error:
            pass
    psutil.wait_procs(strays, timeout=3)
