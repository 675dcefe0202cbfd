"""Run lifecycle behind environment.py: selected packs → run context → sandboxes → settings →
preflight → worlds → cleanup.

Kept out of environment.py so the hooks stay one-liners and the same lifecycle can be driven from
pytest and the ``e2et`` command. Everything iterates over the packs the run selects (behave's own
tag evaluation, support/selection.py); nothing here knows any particular system.
"""
from __future__ import annotations

import logging
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import packs, selection
from .reporting.paths import reports_root

log = logging.getLogger("e2et")


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


def selected_packs(context: Any) -> list[packs.Pack]:
    """The packs with at least one scenario this behave run will execute."""
    runner = getattr(context, "_runner", None)
    return selection.packs_for(getattr(runner, "features", []) or [], context.config)


def start_run(context: Any) -> None:
    from .config import load_settings, profile_name
    from .errors import ConfigError, InfrastructureError
    from .run import CleanupStack, RunContext
    from .sandboxes import Sandboxes, SandboxStartError, to_start

    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    context.worlds = {}
    context.run_cleanup = CleanupStack()
    context.packs = []
    context.capabilities = {}
    context.unavailable = {}
    context.deployment_locks = {}
    profile = profile_name(context.config.userdata.get("profile"))
    try:
        context.run = RunContext()
        chosen = selected_packs(context)
        context.packs = chosen
        names = [p.name for p in chosen]
        provided: dict[str, Any] = {}
        starting = to_start(names, profile)
        for pack in [p for p in chosen if p.name in starting]:
            reason = pack.unavailable_reason()
            if reason:      # this machine cannot run its sandbox: its scenarios skip with the reason
                context.unavailable[pack.name] = reason
        starting = [n for n in starting if n not in context.unavailable]
        names = [n for n in names if n not in context.unavailable]
        if starting:
            try:
                sandboxes = Sandboxes.start(starting, reports_root() / "runs" / context.run.run_id / "sandbox")
            except SandboxStartError as e:
                raise FatalInput(f"a local sandbox did not start: {e} (run `bash scripts/setup.sh`, then look at "
                                 "the sandbox log)") from None
            context.sandboxes = sandboxes
            context.run_cleanup.push("stop sandboxes", sandboxes.stop)
            provided = sandboxes.sections()
        context.settings = load_settings(profile, packs=names, provided=provided)
        context.run.configure(context.settings.http.timeout, context.settings.timeout_multiplier)
        usable = [p for p in chosen if p.name in names]
        context.capabilities = {p.name: p.capabilities(context.settings.section(p.name)) for p in usable}
        preflight(context.settings, usable)
    except (ConfigError, InfrastructureError) as e:
        raise FatalInput(str(e)) from None
    log.info("run %s on profile %s: %s", context.run.run_id, profile, ", ".join(names) or "no pack selected")


def preflight(settings: Any, chosen: list[packs.Pack], timeout: float = 5.0) -> None:
    """Fail fast, before creating anything, when an endpoint of a selected pack cannot be reached."""
    from .errors import InfrastructureError

    checks = [(p.name, e) for p in chosen for e in p.endpoints(settings.section(p.name)) if e.preflight]

    def probe(item: tuple[str, Any]) -> str | None:
        name, endpoint = item
        host, port = endpoint.host_port()
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as e:
            return (f"{name}.{endpoint.setting} {host}:{port} unreachable ({e.strerror or e}): check the profile's "
                    f"{name}.{endpoint.setting} or that the platform is up")
        return None
    if not checks:
        return
    with ThreadPoolExecutor(max_workers=min(8, len(checks)), thread_name_prefix="preflight") as pool:
        problems = [p for p in pool.map(probe, checks) if p]
    if problems:
        raise InfrastructureError(problems[0])


def before_feature(context: Any, feature: Any) -> None:
    pass


EXCLUSIVE_TAGS = {"exclusive", "needs:faults"}


def before_scenario(context: Any, scenario: Any) -> None:
    from .run import CleanupStack

    context.scenario_state = {}
    context.scenario_cleanup = CleanupStack()
    reason = packs.known_issue_reason(scenario.effective_tags)
    if reason:
        scenario.skip(reason=reason)
        return
    _hold_deployment(context, scenario)


def _hold_deployment(context: Any, scenario: Any) -> None:
    """Shared use of the scenario's deployment, exclusive for ``@exclusive`` / ``@needs:faults``
    (parallel flows on one deployment must not see each other's fault switches)."""
    from .exclusive import DeploymentLock

    pack = packs.pack_of_tags(scenario.effective_tags)
    settings = getattr(context, "settings", None)
    if pack is None or settings is None or pack.name not in getattr(context, "capabilities", {}):
        return
    locks = getattr(context, "deployment_locks", None)
    if locks is None:
        return
    if pack.name not in locks:
        key = pack.name + " " + " ".join(sorted(e.address for e in pack.endpoints(settings.section(pack.name))))
        locks[pack.name] = DeploymentLock(key)
    lock = locks[pack.name]
    exclusive = bool(EXCLUSIVE_TAGS & {str(t) for t in scenario.effective_tags})
    lock.acquire(exclusive=exclusive, timeout=context.run.deadline(900))
    context.scenario_cleanup.push("release the deployment", lock.release)


class CleanupDefect(AssertionError):
    """A scenario's cleanup proved the system wrong (e.g. a DELETE answered 204 and left the object)."""


def after_scenario(context: Any, scenario: Any) -> None:
    """Run the scenario's cleanups; raise ``CleanupDefect`` when one of them found a product defect
    (the scenario then fails with that message) — other cleanup trouble is only logged."""
    stack = getattr(context, "scenario_cleanup", None)
    defects: list[str] = []
    if stack is not None:
        context.config.userdata["_e2et_cleaning"] = True
        try:
            failures = stack.run()
        finally:
            context.config.userdata["_e2et_cleaning"] = False
        for f in failures or []:
            log.warning("scenario cleanup failed: %s", f)
            if f.product:
                defects.append(f.error)
    if context.config.userdata.get("_e2et_signal"):
        raise KeyboardInterrupt("signal received during cleanup")
    if defects:
        raise CleanupDefect("; ".join(defects))


def stop_run(context: Any) -> None:
    """Run every cleanup still registered — a scenario's cut short by an interrupt first, then the
    run's (reverse creation order, sandboxes last) — then close the worlds; never raises."""
    from .processes import kill_matching

    context.config.userdata["_e2et_cleaning"] = True
    for name in ("scenario_cleanup", "run_cleanup"):
        stack = getattr(context, name, None)
        if stack is not None:
            for f in stack.run() or []:
                log.warning("cleanup failed: %s", f)
    for lock in list(getattr(context, "deployment_locks", {}).values()):
        lock.close()
    for world in list(getattr(context, "worlds", {}).values()):
        try:
            world.close()
        except Exception as e:  # noqa: BLE001 — keep cleaning whatever one world does
            log.warning("closing %s failed: %s", world, e)
    run = getattr(context, "run", None)
    if run is not None:
        # last line of defence: a process started from this run's temp root (a child whose start was
        # cut by a signal before its handle was kept) is killed with its children
        for pid in kill_matching(f"e2et-{run.run_id}-"):
            log.warning("killed stray process %s of this run", pid)
        run.remove_temp()
