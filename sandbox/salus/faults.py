"""The Salus sandbox's fault switches: what each one breaks, to prove a spec can fail.

The mechanism (registry, control API) is :mod:`sandbox.common.faults`; this module is only the
catalogue. Every component asks ``faults.active(NAME)`` at the point where it would do the real thing.
"""
from __future__ import annotations

from sandbox.common.faults import Faults as _Faults
from sandbox.common.faults import FaultSpec, UnknownFault, catalog_of

__all__ = ["CATALOG", "FaultSpec", "Faults", "UnknownFault"]

ATTACH_EVENTS_DROPPED = "attach-events-dropped"
PRESENCE_ZERO = "presence-zero"
INSTALLS_WITHHELD = "installs-withheld"
INSTALL_WRONG_PATH = "install-wrong-path"
EVENTS_DROP_CRITICAL = "events-drop-critical"
EVENTS_OK_INSTEAD = "events-ok-instead"
ROUTE_500 = "route-500"
TENANT_LEAK = "tenant-leak"
SLOW_RESPONSES = "slow-responses"
BROKER_STOPPED = "broker-stopped"
WRONG_POLLER = "wrong-poller"
HTTP_URL_IGNORED = "http-url-ignored"
SELECTOR_OVERBINDS = "selector-overbinds"
PRESENCE_STUCK = "presence-stuck-connected"
INSTALLS_UNSELECTED = "installs-unselected"
DELETES_IGNORED = "deletes-ignored"
EVENTS_WRONG_TENANT = "events-wrong-tenant"

CATALOG: dict[str, FaultSpec] = catalog_of(
    FaultSpec(ATTACH_EVENTS_DROPPED, "ambassador does not publish AttachEvent to Kafka"),
    FaultSpec(PRESENCE_ZERO, "presence monitor reports connected=0 for every resource"),
    FaultSpec(INSTALLS_WITHHELD, "ambassador never sends install instructions"),
    FaultSpec(INSTALL_WRONG_PATH, "install instruction names a wrong version, so the agent lands at a wrong path"),
    FaultSpec(EVENTS_DROP_CRITICAL, "event engine drops CRITICAL notifications"),
    FaultSpec(EVENTS_OK_INSTEAD, "event engine reports OK where it should report CRITICAL"),
    FaultSpec(ROUTE_500, "one public API route family answers 500 (param: family, e.g. 'zones')", "zones"),
    FaultSpec(TENANT_LEAK, "public list routes leak another tenant's items"),
    FaultSpec(SLOW_RESPONSES, "every HTTP response is delayed (param: seconds)", 15.0),
    FaultSpec(BROKER_STOPPED, "the Kafka broker is stopped, after param seconds if given (switching off restarts it)"),
    FaultSpec(WRONG_POLLER, "remote monitors are bound to a poller outside their zone (MM picks the wrong envoy: "
                            "one of another zone that has telegraf)"),
    FaultSpec(HTTP_URL_IGNORED, "http monitors are rendered without their URL (telegraf probes its default "
                                "http://localhost instead)"),
    FaultSpec(SELECTOR_OVERBINDS, "monitor label selectors bind every resource sharing any one selected label "
                                  "(AND treated as OR)"),
    FaultSpec(PRESENCE_STUCK, "the presence monitor keeps reporting a resource connected after its envoy left"),
    FaultSpec(INSTALLS_UNSELECTED, "agent installs reach every envoy of the tenant, whatever their label selector"),
    FaultSpec(DELETES_IGNORED, "DELETE answers 204 but keeps the object (param: route family, e.g. 'resources')",
              "resources"),
    FaultSpec(EVENTS_WRONG_TENANT, "event engine publishes events under another tenant's id"),
)


class Faults(_Faults):
    """The registry over the Salus catalogue."""

    def __init__(self) -> None:
        super().__init__(CATALOG)
