"""The one label-selector matcher (sandbox/salus/labels.py), and the cases where the sandbox's two
former matchers disagreed: the domain's compared raw JSON values (``80`` never matched ``"80"``, a
``null`` value matched an absent label), the event engine's compared ``str(value)`` (``null``
matched the label ``"None"``, ``true`` matched ``"True"``). The real services hold both sides as
``Map<String, String>`` (RM's SQL match, EE's ``value != null && value.equals(...)``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.salus.event_engine import EventEngine
from sandbox.salus.labels import selector_matches

try:  # works whether or not tests/sandbox is a package
    from .api_rig import ApiRig, fresh_tenant, local_monitor, module_rig
    from .kafka_support import CapturingBus, FakeDomain, crit_when, make_ctx, task, umf, unique
except ImportError:
    from api_rig import ApiRig, fresh_tenant, local_monitor, module_rig  # type: ignore[no-redef]
    from kafka_support import CapturingBus, FakeDomain, crit_when, make_ctx, task, umf, unique  # type: ignore[no-redef]

rig = module_rig("labels")


@pytest.mark.parametrize("selector, labels, method, expected", [
    ({}, {"a": "1"}, "AND", True),                              # empty selects everything
    (None, {}, "OR", True),
    ({"env": "prod"}, {"env": "prod", "os": "linux"}, "AND", True),
    ({"env": "prod", "os": "windows"}, {"env": "prod", "os": "linux"}, "AND", False),
    ({"env": "prod", "os": "windows"}, {"env": "prod", "os": "linux"}, "OR", True),
    ({"env": "dev", "os": "windows"}, {"env": "prod", "os": "linux"}, "OR", False),
    ({"env": "prod"}, {"env": "prod"}, None, True),             # no method = AND
    ({"env": "prod"}, {"env": "prod"}, "or", True),
    ({"env": "prod"}, {"env": "Prod"}, "AND", False),           # exact, case-sensitive
    # where the two former matchers disagreed
    ({"port": 80}, {"port": "80"}, "AND", True),                # Jackson reads 80 as "80" (domain said no)
    ({"port": 1.5}, {"port": "1.5"}, "AND", True),
    ({"enabled": True}, {"enabled": "true"}, "AND", True),      # ... and true as "true" (engine said "True")
    ({"enabled": True}, {"enabled": "True"}, "AND", False),
    ({"env": None}, {}, "AND", False),                          # null never matches (domain: absent == None)
    ({"env": None}, {"env": "None"}, "AND", False),             # (engine: str(None) == "None")
    ({"env": None, "os": "linux"}, {"os": "linux"}, "OR", True),
    ({"env": {"a": 1}}, {"env": "{'a': 1}"}, "AND", False),     # no String holds an object
    ({"port": "80"}, {"port": 80}, "AND", True),                # a label stored as a number reads as text
])
def test_selector_semantics(selector: Any, labels: dict[str, Any], method: str | None, expected: bool) -> None:
    assert selector_matches(selector, labels, method) is expected


def _release(rig: ApiRig, version: str) -> dict[str, Any]:
    return rig.domain.releases.create({"type": "PACKAGES", "version": version, "url": "http://127.0.0.1:1/p.tgz",
                                       "exe": "./p", "labels": {"case": unique("labels")}})


def test_install_selector_with_a_null_value_selects_no_resource(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.resources.create(t, {"resourceId": "r1", "presenceMonitoringEnabled": True, "labels": {"os": "x"}})
    mark = rig.bus.mark()
    rig.domain.installs.create(t, {"agentReleaseId": _release(rig, "1.0.0")["id"], "labelSelector": {"env": None}})
    assert rig.domain.installs_for_resource(t, "r1") == []
    assert rig.bus.since(mark, "telemetry.installs.json") == [], "no resource is bound, so no install event"


def test_monitor_selector_with_a_number_binds_the_resource_labelled_with_its_text(rig: ApiRig) -> None:
    t = fresh_tenant()
    rig.domain.resources.create(t, {"resourceId": "r1", "presenceMonitoringEnabled": True, "labels": {"port": "80"}})
    rig.domain.resources.create(t, {"resourceId": "r2", "presenceMonitoringEnabled": True, "labels": {"port": "81"}})
    rig.domain.monitors.create(t, local_monitor(labelSelector={"port": 80}))
    assert [b["resourceId"] for b in rig.domain.bindings.listed(t)] == ["r1"]


@pytest.mark.parametrize("version_order", [["1.0.0-rc.2", "1.0.0-rc.10"], ["1.0.0-rc.10", "1.0.0-rc.2"]])
def test_highest_release_is_semver_highest(rig: ApiRig, version_order: list[str]) -> None:
    """ACM ``reconcileBinding`` picks the highest version: ``rc.10`` is above ``rc.2`` (semver
    compares pre-release fields numerically) and a release is above its pre-releases."""
    t = fresh_tenant()
    rig.domain.resources.create(t, {"resourceId": "r1", "presenceMonitoringEnabled": True, "labels": {}})
    for v in version_order:
        rig.domain.installs.create(t, {"agentReleaseId": _release(rig, v)["id"], "labelSelector": {}})
    (chosen,) = rig.domain.installs_for_resource(t, "r1")
    assert chosen["agentRelease"]["version"] == "1.0.0-rc.10"
    rig.domain.installs.create(t, {"agentReleaseId": _release(rig, "1.0.0")["id"], "labelSelector": {}})
    (chosen,) = rig.domain.installs_for_resource(t, "r1")
    assert chosen["agentRelease"]["version"] == "1.0.0"


@pytest.mark.parametrize("selector, evaluated", [({"port": 80}, 1), ({"port": None}, 0), ({"missing": None}, 0)])
def test_event_task_selectors_match_like_the_domain(tmp_path: Path, selector: dict[str, Any], evaluated: int) -> None:
    domain, bus = FakeDomain(), CapturingBus()
    engine = EventEngine(make_ctx(tmp_path, domain, bus), "unused:9")
    tenant = unique("t")
    domain.tasks.append(task(tenant, "net_response", [crit_when("result_code", ">", 0)], labelSelector=selector))
    engine.handle(umf(tenant, "r-1", "net_response", {"result_code": 1}, {"port": "80"}))
    assert engine.evaluated == evaluated
    assert len(bus.records) == evaluated
