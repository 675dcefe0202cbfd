"""Run-scoped names and the cleanup stack."""
from __future__ import annotations

import threading
import time

import pytest

from support.errors import ConfigError
from support.run import RESOURCE_RE, ZONE_RE, CleanupStack, RunContext, new_run_id, parse_run_id, run_id_time


def test_run_id_shape_order_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = new_run_id(1_700_000_000), new_run_id(1_800_000_000)
    assert len(a) == 10 and a.isalnum() and a == a.lower() and a < b
    assert abs(run_id_time(a).timestamp() - 1_700_000_000) < 1
    monkeypatch.setenv("E2ET_RUN_ID", "abcdef1234")
    assert RunContext().run_id == "abcdef1234"
    assert RunContext("zzzzzz0000").run_id == "zzzzzz0000"
    with pytest.raises(ConfigError, match="E2ET_RUN_ID"):
        RunContext("Bad-Id")


def test_names_match_salus_regexes_are_unique_and_parse_back() -> None:
    run = RunContext()
    zones = {run.names.private_zone() for _ in range(200)}
    rids = {run.names.resource_id() for _ in range(200)}
    names = {run.names.name("Policy HTTP") for _ in range(200)}
    assert len(zones) == len(rids) == len(names) == 200
    assert all(ZONE_RE.match(z) for z in zones) and all(RESOURCE_RE.match(r) for r in rids)
    for n in (*list(zones)[:3], *list(rids)[:3], *list(names)[:3]):
        assert parse_run_id(n) == run.run_id
    assert parse_run_id("private_zone_123") is None and parse_run_id("") is None
    stamp = run.stamp()
    assert stamp["e2et-run-id"] == run.run_id and stamp["e2et-created"].endswith("Z")


def test_temp_dirs_live_under_one_root_removed_once() -> None:
    run = RunContext()
    d1, d2 = run.names.temp_dir("envoy"), run.temp_dir("envoy")
    assert d1 != d2 and d1.parent == d2.parent == run.temp_root() and d1.is_dir()
    run.remove_temp()
    run.remove_temp()
    assert not d1.exists() and not d1.parent.exists()


def test_cleanup_runs_in_reverse_and_reports_failures_but_continues() -> None:
    order: list[str] = []
    stack = CleanupStack()
    stack.push("first", lambda: order.append("first"))
    stack.push("broken", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    stack.push("last", lambda: order.append("last"))
    failures = stack.run()
    assert order == ["last", "first"]
    assert [str(f) for f in failures] == ["broken: RuntimeError: boom"]
    assert stack.run() == [] and len(stack) == 0          # idempotent
    assert order == ["last", "first"]


def test_cleanup_action_is_bounded_by_timeout() -> None:
    release = threading.Event()
    done: list[str] = []
    stack = CleanupStack(timeout=0.2)
    stack.push("after", lambda: done.append("after"))
    stack.push("hangs", lambda: release.wait(10))
    t0 = time.monotonic()
    failures = stack.run()
    release.set()
    assert time.monotonic() - t0 < 2
    assert len(failures) == 1 and failures[0].name == "hangs" and "0.2s" in failures[0].error
    assert done == ["after"]


def test_cleanup_reentrant_from_an_action() -> None:
    """A signal-handler path may call run() while run() is active on the same thread."""
    stack = CleanupStack()
    seen: list[str] = []
    stack.push("a", lambda: seen.append("a"))
    stack.push("b", lambda: (seen.append("b"), stack.push("late", lambda: seen.append("late"))))
    stack.run()
    assert seen == ["b", "late", "a"]
