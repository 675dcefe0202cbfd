"""Reporting side of the behave hooks (called from environment.py around support.lifecycle).

Hook errors: allure-behave shows a scenario whose before_scenario raised as *skipped* (its steps
never ran) and drops every scenario of a feature whose before_feature raised. We turn both into
*broken* results carrying the hook's traceback: a before_feature error is recorded and re-raised
by each of the feature's scenarios; a scenario's hook error is copied onto its first step (the
step allure-behave reports the scenario's status from) as a non-assertion ``HookError``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import packs
from . import capabilities, environment_info, evidence, history, labels
from .paths import allure_results_dir, clear_junit, junit_dir, prune_runs, reports_root, summary_dir
from .summary import Summary, outcome_of

log = logging.getLogger("e2et.reporting")


class HookError(Exception):
    """A set-up or tear-down hook raised; not an assertion, so Allure shows the scenario as broken."""


def _state(context: Any) -> dict[str, Any]:
    """Reporting state lives on the behave runner's root context layer (survives feature/scenario layers)."""
    ud = context.config.userdata
    if "_e2et_reporting" not in ud:
        ud["_e2et_reporting"] = {"summary": Summary(), "redactors": []}
    return ud["_e2et_reporting"]


def redactor(context: Any) -> Callable[[str], str]:
    """Every redactor the run knows: the profile's secrets plus each world's (which learn tokens)."""
    fns: list[Callable[[str], str]] = list(_state(context)["redactors"])
    for world in list(getattr(context, "worlds", {}).values()):
        if getattr(world, "redact", None) is not None:
            fns.append(world.redact)

    def redact(text: str) -> str:
        for fn in fns:
            text = fn(text)
        return text
    return redact


def _process_age() -> float:
    """Seconds since this process started: the run's clock starts there (setup included).

    The kernel's start time (``/proc/self/stat``, clock ticks since boot) against the boot clock is
    exact to a tick; ``psutil``'s wall-clock ``create_time`` adds the boot time, which ``/proc/stat``
    rounds to whole seconds (a 12.2 s headline for an 11.4 s run)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        try:
            import psutil
            return max(0.0, time.time() - float(psutil.Process().create_time()))
        except Exception:  # noqa: BLE001 — a timing figure must never fail the run
            return 0.0


def _process_start() -> float:
    """The wall-clock time this process started (the summary's ``started``)."""
    return time.time() - _process_age()


#: third-party loggers whose warnings say nothing to a reader of a failed scenario (they retry on their own)
NOISY_LOGGERS = ("kafka", "httpx", "httpcore", "urllib3", "asyncio", "grpc", "aiohttp", "hpack", "filelock")


def prepare(context: Any) -> None:
    """Before anything else: every file of the run goes under the report root (``E2ET_REPORTS_DIR``);
    an earlier run's JUnit files are removed (CI must not read a stale failure); libraries are quiet."""
    config = context.config
    if getattr(config, "junit", False):
        directory = junit_dir(getattr(config, "junit_directory", None))
        config.junit_directory = str(directory)
        clear_junit(directory)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    _state(context)["summary"].started = _process_start()


def before_all(context: Any) -> None:
    """After the profile loaded: environment.properties, categories.json, history carry-over,
    old run folders pruned."""
    from support.http import Redactor

    st = _state(context)
    run = getattr(context, "run", None)
    try:
        prune_runs(current=getattr(run, "run_id", None))
    except OSError as e:
        log.warning("could not prune old run folders: %s", e)
    settings = getattr(context, "settings", None)
    st["redactors"].append(Redactor(settings.secrets() if settings is not None else ()))
    summary: Summary = st["summary"]
    summary.phases["setup"] = round(_process_age(), 3)
    profile = getattr(settings, "profile", None) or os.environ.get("E2ET_PROFILE", "local")
    props = environment_info.snapshot(settings, getattr(run, "run_id", None), profile,
                                      list(getattr(context, "packs", []) or []),
                                      getattr(context, "capabilities", None),
                                      getattr(context, "unavailable", None))
    summary.environment = {k: redactor(context)(str(v)) for k, v in props.items()}
    try:
        results = allure_results_dir(context.config)
        environment_info.write_environment(results, props, redactor(context))
        history.carry_into(results)
    except OSError as e:
        log.warning("could not write allure environment files: %s", e)


@contextlib.contextmanager
def before_feature_guard(context: Any, feature: Any) -> Iterator[None]:
    """Record (instead of raise) a before_feature error, so its scenarios report it as broken."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 — every error must reach the report
        feature.e2et_hook_error = (e, traceback.format_exc())
        log.error("before_feature of %r failed: %s", feature.name, redactor(context)(str(e)))


def feature_hook_error(feature: Any) -> tuple[BaseException, str] | None:
    return getattr(feature, "e2et_hook_error", None)


def before_scenario(context: Any, scenario: Any) -> None:
    """Evidence marks, the feature's hook error (raised here → broken), capability skips."""
    st = _state(context)
    st["marks"] = evidence.Marks(dict(getattr(context, "worlds", {})))
    st["scenario_started"] = time.monotonic()
    try:
        labels.apply(scenario)
    except Exception as e:  # noqa: BLE001 — labels are cosmetic; never fail a scenario for them
        log.debug("allure labels not applied: %s", e)
    err = feature_hook_error(scenario.feature)
    if err is not None:
        raise HookError(f"before_feature failed: {type(err[0]).__name__}: {err[0]}") from err[0]
    settings = getattr(context, "settings", None)
    pack = packs.pack_of_tags(scenario.effective_tags)
    if pack is None or getattr(scenario.status, "name", "") == "skipped":
        return
    unavailable = (getattr(context, "unavailable", None) or {}).get(pack.name)
    if unavailable:
        scenario.skip(reason=f"{pack.title} cannot run on this machine: {unavailable}")
        return
    caps = (getattr(context, "capabilities", None) or {}).get(pack.name)
    if caps is not None:
        try:
            section = settings.section(pack.name) if settings is not None else None
        except KeyError:
            section = None
        reason = capabilities.skip_reason(scenario.effective_tags, caps, getattr(settings, "profile", "?"),
                                          lambda c: pack.enable_hint(c, section))
        if reason:
            scenario.skip(reason=reason)


def _mark_broken(context: Any, scenario: Any, exc: BaseException, tb: Any, where: str, step: Any) -> None:
    """Put a hook's error on a step, where allure-behave and summary.json read a scenario's status from."""
    from behave.model_core import Status

    if step is None:
        return
    # the whole chain: a feature hook's original frames sit in the cause of the scenario's HookError
    lines = [redactor(context)(line) for line in traceback.format_exception(type(exc), exc, exc.__traceback__)]
    text = "".join(lines)
    err = HookError(f"{where} hook failed: {type(exc).__name__}: {redactor(context)(str(exc))}")
    err.__cause__ = exc
    step.exception = err
    step.exc_traceback = lines          # allure-behave joins a list as the trace (behave#616 workaround)
    step.error_message = redactor(context)(f"HOOK-ERROR in {where}:\n{text}")
    step.status = Status.error


def _mark_failed(context: Any, exc: AssertionError, step: Any) -> None:
    """A cleanup that proved the platform wrong (a DELETE that left its object): the scenario fails
    on its last step with that assertion — a product defect, not a harness error."""
    from behave.model_core import Status

    if step is None:
        return
    message = redactor(context)(str(exc))
    step.exception = exc
    step.exc_traceback = [message]
    step.error_message = f"Assertion Failed: {message}"
    step.status = Status.failed


def after_scenario(context: Any, scenario: Any, cleanup: Callable[[], None]) -> None:
    """Broken-if-hook-failed, evidence (on failure or E2ET_EVIDENCE=always), cleanup, summary row."""
    st = _state(context)
    steps = list(scenario.all_steps)
    if getattr(scenario, "hook_failed", False) and getattr(scenario, "exception", None) is not None and steps:
        _mark_broken(context, scenario, scenario.exception, getattr(scenario, "exc_traceback", None),
                     "before_scenario", steps[0])
    status = getattr(scenario.status, "name", str(scenario.status))
    skipped = status in ("skipped", "untested")
    made = 0
    if not skipped and (status != "passed" or os.environ.get("E2ET_EVIDENCE", "").lower() == "always"):
        made = _attach_evidence(context, st.get("marks"), scenario)
    if skipped and getattr(scenario, "skip_reason", None):
        _describe_skip(scenario)
    error: BaseException | None = None
    try:
        cleanup()
    except Exception as e:  # noqa: BLE001 — reported as broken, then re-raised for behave
        error = e
        if steps and status == "passed":
            if isinstance(e, AssertionError):
                _mark_failed(context, e, steps[-1])
            else:
                _mark_broken(context, scenario, e, None, "after_scenario", steps[-1])
            scenario.clear_status()          # recomputed from the step just marked
    st["summary"].add(outcome_of(scenario, redactor(context), made))
    started = st.pop("scenario_started", None)
    if started is not None:
        st["summary"].phases["scenarios"] = round(st["summary"].phases.get("scenarios", 0.0)
                                                  + time.monotonic() - started, 3)
    st["scenarios_ended"] = time.monotonic()
    if error is not None:
        raise error


def _describe_skip(scenario: Any) -> None:
    try:
        import allure
        desc = "\n".join(scenario.description or [])
        allure.dynamic.description(f"SKIPPED: {scenario.skip_reason}\n\n{desc}".strip())
    except Exception as e:  # noqa: BLE001
        log.debug("skip reason not added to allure: %s", e)


def _attach_evidence(context: Any, marks: Any, scenario: Any) -> int:
    """Each world's evidence plus the log tails of the sandboxes involved (the scenario's pack and
    every pack whose world the scenario touched)."""
    worlds = dict(getattr(context, "worlds", {}))
    settings = getattr(context, "settings", None)
    involved = set(worlds)
    own = packs.pack_of_tags(scenario.effective_tags)
    if own is not None:
        involved.add(own.name)
    logs: list[tuple[str, str]] = []
    for name in sorted(involved):
        try:
            sandbox = getattr(settings.section(name), "sandbox", None) if settings is not None else None
        except KeyError:
            sandbox = None
        if sandbox is not None and sandbox.log_file:
            logs.append((name, sandbox.log_file))
    try:
        return evidence.attach_all(worlds, marks, logs, redactor(context))
    except Exception as e:  # noqa: BLE001 — evidence never replaces the real failure
        log.warning("attaching evidence failed: %s", e)
    return 0


def _not_selected(context: Any) -> int:
    """Scenarios behave skips because the tags (or names) did not select them: counted, not listed."""
    runner = getattr(context, "_runner", None)
    total = sum(1 for f in getattr(runner, "features", []) or [] for _ in f.walk_scenarios())
    return max(0, total - len(_state(context)["summary"].outcomes))


def after_all(context: Any) -> list[str]:
    """After run cleanup: teardown timing, summary.json / summary.md; returns the verdict lines the
    console must end with (printed by environment.py after behave's own summary)."""
    st = _state(context)
    summary: Summary = st["summary"]
    ended = st.get("scenarios_ended")
    if ended is not None:
        summary.phases["teardown"] = round(time.monotonic() - ended, 3)
    summary.not_selected = _not_selected(context)
    try:
        _jpath, mpath = summary.write(summary_dir(), redactor(context))
    except OSError as e:
        log.warning("could not write the run summary: %s", e)
        return [f"e2et: could not write the run summary: {e}"]
    return verdict_lines(summary, mpath)


def verdict_lines(summary: Summary, md: Path) -> list[str]:
    c = summary.counts()
    verdict = "FAILED" if c["FAIL"] or c["BROKEN"] else "PASSED"
    skipped = f"{c['SKIP']} skipped" + (f" ({summary.not_selected} more not selected)" if summary.not_selected else "")
    html = reports_root() / "allure-report" / "index.html"
    return [f"e2et: {verdict} — {c['PASS']} passed, {c['FAIL']} failed, {c['BROKEN']} broken, {skipped} "
            f"in {summary.duration():.1f}s",
            f"e2et: summary      {md.resolve()}",
            f"e2et: HTML report  {html.resolve()}" + ("" if html.exists() else " (render it: e2et report)")]
