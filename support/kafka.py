"""Group-less Kafka watching: start before the action, see only what came after, explain misses.

``start()`` records the end offset of EVERY partition of the topic and seeks there (assign +
seek, no consumer group: group joins are slow and not needed), so detection cost does not depend
on how much the topic already holds. ``wait_for()`` polls in 100 ms slices with a deadline and
matches parsed JSON against an ``Expectation`` (field path → PyHamcrest matcher), a bare
PyHamcrest matcher, or a predicate. On timeout the ``WaitTimeout`` lists the partitions and
offsets scanned, the record counts, and the nearest near-misses — only messages of the expected
tenant are ever printed; other tenants' records are just counted.

Tansu quirk: its ``end_offsets()`` can point at the first record of the last batch (+1), so a few
records older than ``start()`` may be re-read; with ``kafka.stale_record_guard`` set (the sandbox
profile sets 2 s) records stamped before ``start()`` minus that allowance are ignored. Real
brokers' end offsets are exact, so the guard is off by default there: it could only drop a
genuine event when the harness's clock runs ahead of the producers'.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from hamcrest import equal_to
from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

from .errors import InfrastructureError, WaitTimeout

log = logging.getLogger("e2et.kafka")
Normaliser = Callable[[dict[str, Any]], list[dict[str, Any]]]
POLL_SLICE_S = 0.1
NEAR_MISSES = 5
_MISSING = object()


def get_path(obj: Any, path: str) -> Any:
    """``labels.system_resource_id`` → obj["labels"]["system_resource_id"] (None when absent)."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def lookup(msg: dict[str, Any], path: str) -> Any:
    """A field of the normalised view, else of the original message (``raw``): so both
    ``resourceId`` and the era-specific ``labels.system_resource_id`` can be expected."""
    value = get_path(msg, path)
    if value is None and isinstance(msg.get("raw"), dict):
        value = get_path(msg["raw"], path)
    return value


def _describe(m: Matcher) -> str:
    d = StringDescription()
    m.describe_to(d)
    return str(d)


@dataclass
class Expectation:
    """What a wanted message looks like: field path → matcher (plain values mean ``equal_to``).

    Made of separate fields (not one opaque matcher) so a miss can be scored: the near-miss
    report ranks messages by how many expected fields they do match.
    """

    fields: dict[str, Matcher]
    description: str = ""

    @classmethod
    def of(cls, description: str = "", **fields: Any) -> "Expectation":
        """Keyword form; ``a__b`` stands for the path ``a.b``."""
        return cls({k.replace("__", "."): v if isinstance(v, Matcher) else equal_to(v) for k, v in fields.items()},
                   description)

    @property
    def tenant(self) -> str | None:
        """The expected tenant when given as a plain value (decides which messages may be printed)."""
        m = self.fields.get("tenantId")
        value = getattr(m, "object", _MISSING)  # IsEqual keeps its operand in .object
        return None if value is _MISSING or value is None else str(value)

    def score(self, msg: dict[str, Any]) -> int:
        return sum(1 for path, m in self.fields.items() if m.matches(lookup(msg, path)))

    def matches(self, msg: dict[str, Any]) -> bool:
        return self.score(msg) == len(self.fields)

    def mismatches(self, msg: dict[str, Any]) -> list[str]:
        return [f"{p}={lookup(msg, p)!r}" for p, m in self.fields.items() if not m.matches(lookup(msg, p))]

    def describe(self) -> str:
        inner = ", ".join(f"{p} {_describe(m)}" for p, m in self.fields.items())
        return f"{self.description} ({inner})" if self.description else inner


def expect(description: str = "", **fields: Any) -> Expectation:
    """``expect(tenantId="123", **{"labels.system_resource_id": "r1", "state": "CRITICAL"})``."""
    return Expectation({k: v if isinstance(v, Matcher) else equal_to(v) for k, v in fields.items()}, description)


class _Predicate:
    """Adapts a bare PyHamcrest matcher or a callable to the Expectation interface (score 0/1)."""

    def __init__(self, check: Matcher | Callable[[dict[str, Any]], bool], description: str, tenant: str | None):
        self.check, self.description, self.tenant = check, description, tenant
        self.fields = {"message": check}

    def matches(self, msg: dict[str, Any]) -> bool:
        return bool(self.check.matches(msg) if isinstance(self.check, Matcher) else self.check(msg))

    def score(self, msg: dict[str, Any]) -> int:
        return int(self.matches(msg))

    def mismatches(self, msg: dict[str, Any]) -> list[str]:
        return []

    def describe(self) -> str:
        what = _describe(self.check) if isinstance(self.check, Matcher) else getattr(self.check, "__name__", "predicate")
        return f"{self.description} ({what})" if self.description else what


def consumer_options(settings: Any) -> dict[str, Any]:
    """kafka-python options: no group, no commits, short fetch waits; TLS / SASL from the profile."""
    k = settings.kafka
    # Bounded bootstrap (kafka-python's default is 30 s): an unreachable broker must fail fast.
    http = getattr(settings, "http", None)
    bootstrap_ms = int(max(2.0, float(getattr(http, "timeout", 10.0))) * 1000)
    opts: dict[str, Any] = {"bootstrap_servers": k.brokers, "group_id": None, "enable_auto_commit": False,
                            "request_timeout_ms": 10000, "bootstrap_timeout_ms": bootstrap_ms,
                            "reconnect_backoff_max_ms": 1000, "fetch_max_wait_ms": 100,
                            "security_protocol": k.security_protocol}
    if k.security_protocol in ("SSL", "SASL_SSL"):
        opts.update(ssl_cafile=k.ssl_cafile, ssl_certfile=k.ssl_certfile, ssl_keyfile=k.ssl_keyfile)
    if k.security_protocol.startswith("SASL"):
        opts.update(sasl_mechanism=k.sasl_mechanism or "PLAIN", sasl_plain_username=k.sasl_username,
                    sasl_plain_password=k.sasl_password.get_secret_value() if k.sasl_password else None)
    return opts


@dataclass
class ScanStats:
    start_offsets: dict[int, int] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    records: int = 0
    too_old: int = 0
    not_json: int = 0
    other_tenants: int = 0


class EventWatcher:
    """Watches one topic from the moment ``start()`` is called.

    ``tenant_id`` set: records of other tenants are dropped at once (only counted). Unset: all
    records are kept, and the timeout report still prints only the expected tenant's messages.
    """

    def __init__(self, settings: Any, topic: str, tenant_id: str | None = None, normalise: Normaliser | None = None,
                 keep: int = 2000) -> None:
        self.settings = settings
        self.topic = topic
        self.tenant_id = str(tenant_id) if tenant_id is not None else None
        self.normalise = normalise or (lambda m: [m])
        self.keep = keep
        self.seen: list[dict[str, Any]] = []      # kept (normalised) messages, oldest first
        self.stats = ScanStats()
        self._consumer: Any = None
        self._start_ms = 0
        guard = getattr(getattr(settings, "kafka", None), "stale_record_guard", None)
        self._guard_ms = int(guard * 1000) if guard is not None else None

    # -------------------------------------------------------------- constructors per topic kind
    @classmethod
    def for_events(cls, settings: Any, tenant_id: str | None = None) -> "EventWatcher":
        """The profile's event topic, normalised from its era (``events.format``) to one view."""
        return cls(settings, settings.events.topic, tenant_id, normalise_event(settings.events.format))

    @classmethod
    def for_attaches(cls, settings: Any, tenant_id: str | None = None) -> "EventWatcher":
        return cls(settings, settings.topics.attaches, tenant_id)

    # -------------------------------------------------------------- lifecycle
    def _brokers(self) -> str:
        return ",".join(self.settings.kafka.brokers)

    def start(self) -> "EventWatcher":
        """Pin every partition's current end: call BEFORE the action whose outcome is awaited."""
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError
        try:
            self._consumer = KafkaConsumer(**consumer_options(self.settings))
            parts = self._consumer.partitions_for_topic(self.topic)
            if not parts:
                self.close()
                raise InfrastructureError(f"Kafka topic {self.topic} not found on {self._brokers()}: check the "
                                          "profile's topic names (events.topic / topics.*)")
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            ends = self._consumer.end_offsets(tps)
            self._consumer.assign(tps)
            for tp in tps:
                self._consumer.seek(tp, ends[tp])
        except KafkaError as e:
            self.close()
            raise InfrastructureError(f"Kafka broker {self._brokers()} unreachable ({type(e).__name__}): check "
                                      "kafka.brokers / is the broker up") from None
        self.stats = ScanStats(start_offsets={tp.partition: ends[tp] for tp in tps},
                               positions={tp.partition: ends[tp] for tp in tps})
        self.seen.clear()
        self._start_ms = int(time.time() * 1000)
        return self

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:  # noqa: BLE001 — closing must never fail a cleanup
                pass
            self._consumer = None

    def __enter__(self) -> "EventWatcher":
        return self.start() if self._consumer is None else self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -------------------------------------------------------------- reading
    def _poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        from kafka.errors import KafkaError
        fresh: list[dict[str, Any]] = []
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms)
        except KafkaError as e:
            raise InfrastructureError(f"Kafka broker {self._brokers()} unreachable while watching {self.topic} "
                                      f"({type(e).__name__}): check kafka.brokers / is the broker up") from None
        for tp, records in batches.items():
            for rec in records:
                self.stats.records += 1
                self.stats.positions[tp.partition] = rec.offset + 1
                if self._guard_ms is not None and rec.timestamp is not None \
                        and 0 < rec.timestamp < self._start_ms - self._guard_ms:
                    self.stats.too_old += 1
                    continue
                try:
                    raw = json.loads(rec.value)
                except (ValueError, TypeError):
                    self.stats.not_json += 1
                    continue
                if not isinstance(raw, dict):
                    self.stats.not_json += 1
                    continue
                for msg in self.normalise(raw):
                    if self.tenant_id is not None and str(msg.get("tenantId")) != self.tenant_id:
                        self.stats.other_tenants += 1
                        continue
                    fresh.append(msg)
        self.seen.extend(fresh)
        del self.seen[:-self.keep]
        return fresh

    def wait_for(self, matcher: Expectation | Matcher | Callable[[dict[str, Any]], bool],
                 timeout: float | None = None, describe: str = "") -> dict[str, Any]:
        """First message (seen since ``start()``) matching; ``WaitTimeout`` explains a miss.

        ``timeout`` defaults to the profile's ``events.timeout``.
        """
        if self._consumer is None:
            raise RuntimeError("watcher not started: call start() before the action")
        exp: Any = matcher if isinstance(matcher, Expectation) else _Predicate(matcher, describe, self.tenant_id)
        if describe and isinstance(exp, Expectation) and not exp.description:
            exp = Expectation(exp.fields, describe)
        timeout = float(self.settings.events.timeout if timeout is None else timeout)
        for msg in self.seen:
            if exp.matches(msg):
                return msg
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for msg in self._poll(max(1, int(min(remaining, POLL_SLICE_S) * 1000))):
                if exp.matches(msg):
                    log.info("matched on %s: %s", self.topic, exp.describe())
                    return msg
        raise WaitTimeout(self.explain(exp, timeout))

    def wait_for_event(self, tenant_id: str | None = None, resource_id: str | None = None, state: str | None = None,
                       monitor_id: str | None = None, task_id: str | None = None, metric_group: str | None = None,
                       timeout: float | None = None) -> dict[str, Any]:
        """Convenience over the normalised event view; only the given fields are required."""
        fields = {k: v for k, v in (("tenantId", tenant_id or self.tenant_id), ("resourceId", resource_id),
                                    ("state", state), ("monitorId", monitor_id), ("taskId", task_id),
                                    ("metricGroup", metric_group)) if v is not None}
        return self.wait_for(expect(f"{state or ''} event".strip(), **fields), timeout)

    # -------------------------------------------------------------- reporting
    def explain(self, exp: Any, timeout: float) -> str:
        """The timeout report: window scanned, counts, and near-misses of the expected tenant only."""
        s = self.stats
        tenant = getattr(exp, "tenant", None) or self.tenant_id
        if tenant is None:
            shown, hidden = [], len(self.seen)
        else:
            shown = [m for m in self.seen if str(m.get("tenantId")) == tenant]
            hidden = len(self.seen) - len(shown)
        parts = ", ".join(f"p{p}: {s.start_offsets.get(p)}→{s.positions.get(p)}" for p in sorted(s.start_offsets))
        lines = [f"no message on {self.topic} matched within {timeout:g}s: expected {exp.describe()}",
                 f"scanned partitions [{parts}]: {s.records} records, {len(shown)} of tenant {tenant or '?'}, "
                 f"{s.other_tenants + hidden} of other tenants (not shown), {s.too_old} older than the watch, "
                 f"{s.not_json} not JSON"]
        near = sorted(shown, key=exp.score, reverse=True)[:NEAR_MISSES]
        if near:
            lines.append("nearest near-misses (matched fields / total; what differed):")
            for m in near:
                view = {k: v for k, v in m.items() if k != "raw"}
                lines.append(f"  {exp.score(m)}/{len(exp.fields)} {'; '.join(exp.mismatches(m))} "
                             f"{json.dumps(view, sort_keys=True, default=str)[:400]}")
        elif tenant is None:
            lines.append("no tenant was expected, so no message is shown")
        else:
            lines.append(f"no message of tenant {tenant} was seen at all")
        down = self._unreachable_brokers()
        if down:
            lines.append(f"Kafka broker {', '.join(down)} unreachable at the end of the wait: the broker went "
                         "down (check the broker, then kafka.brokers)")
        return "\n".join(lines)

    def _unreachable_brokers(self) -> list[str]:
        """Brokers refusing a TCP connection now: a dead broker explains an empty wait."""
        import socket
        down = []
        for b in self.settings.kafka.brokers:
            host, _, port = b.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
            except OSError:
                down.append(b)
        return down

    def window(self) -> dict[str, Any]:
        """The scan window, for evidence attachments."""
        s = self.stats
        return {"topic": self.topic, "start_offsets": s.start_offsets, "positions": s.positions,
                "records": s.records, "kept": len(self.seen), "other_tenants": s.other_tenants,
                "too_old": s.too_old, "not_json": s.not_json}


#: The earlier name, kept for callers written against it.
TopicWatcher = EventWatcher


class MetricWatcher(EventWatcher):
    """``telemetry.metrics.json`` UMF, flattened to one record per metric (see ``normalise_umf``)."""

    def __init__(self, settings: Any, tenant_id: str | None = None, topic: str | None = None) -> None:
        super().__init__(settings, topic or settings.topics.metrics, tenant_id, normalise_umf)

    def wait_for_metric(self, resource_id: str, group: str, name: str, value: Any = None,
                        timeout: float | None = None, tenant_id: str | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"resourceId": resource_id, "group": group, "name": name}
        if tenant_id or self.tenant_id:
            fields["tenantId"] = tenant_id or self.tenant_id
        if value is not None:
            fields["value"] = str(value)
        return self.wait_for(expect(f"{group}.{name} metric", **fields), timeout)


# ----------------------------------------------------------------------------- normalisers
def normalise_event(fmt: str) -> Normaliser:
    """One view of the three event eras (contract §6.4): tenantId, resourceId, monitorId, taskId,
    metricGroup, state, previousState, id — plus ``raw``, so steps match on one shape."""
    def notification(m: dict[str, Any]) -> list[dict[str, Any]]:
        labels = m.get("labels") or {}
        return [{"tenantId": m.get("tenantId"), "resourceId": labels.get("system_resource_id"),
                 "monitorId": labels.get("system_monitor_id"), "taskId": m.get("taskId"),
                 "metricGroup": m.get("metricGroup"), "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"), "raw": m}]

    def state_change(m: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"tenantId": m.get("tenantId"), "resourceId": m.get("resourceId"), "monitorId": m.get("monitorId"),
                 "taskId": m.get("taskId"), "metricGroup": m.get("metricGroup"), "state": m.get("state"),
                 "previousState": m.get("previousState"), "id": m.get("id"), "raw": m}]

    def kapacitor(m: dict[str, Any]) -> list[dict[str, Any]]:
        series = ((m.get("data") or {}).get("series") or [{}])[0]
        tags = series.get("tags") or {}
        task = str(m.get("details") or "").removeprefix("task=")
        # kapacitorTaskId = <tenant>-<measurement>-<uuid>; tenant ids never contain "-"
        tenant = tags.get("tenantId") or (task.split("-", 1)[0] if task else None)
        return [{"tenantId": tenant, "resourceId": tags.get("system_resource_id"),
                 "monitorId": tags.get("system_monitor_id"), "taskId": task or None,
                 "metricGroup": series.get("name"), "state": m.get("level"), "previousState": m.get("previousLevel"),
                 "id": m.get("id"), "raw": m}]

    try:
        return {"notification": notification, "state-change": state_change, "kapacitor": kapacitor}[fmt]
    except KeyError:
        raise ValueError(f"unknown event format {fmt!r} (notification, state-change, kapacitor)") from None


def normalise_umf(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per UMF metric: tenantId, resourceId, monitorId, envoyId, group, name, int/float/
    string, value (as string, whichever was set), labels (deviceMetadata), metadata (metric tags)."""
    system = m.get("systemMetadata") or {}
    device = str(m.get("device") or "")
    tenant = str(m.get("tenantId") or "")
    # device is "tenant:resource" and tenant ids may hold a colon themselves ("hybrid:123")
    resource = system.get("resource_id") or (device[len(tenant) + 1:] if tenant and device.startswith(tenant + ":")
                                             else device.split(":", 1)[1] if ":" in device else None)
    out = []
    for metric in m.get("metrics") or []:
        value = next((metric[k] for k in ("int", "float", "string", "bool") if k in metric), None)
        out.append({"tenantId": m.get("tenantId"), "resourceId": resource, "envoyId": system.get("envoy_id"),
                    "monitorId": system.get("monitor_id"), "zone": system.get("monitoring_zone_id"),
                    "group": metric.get("group"), "name": metric.get("name"), "int": metric.get("int"),
                    "float": metric.get("float"), "string": metric.get("string"), "value": str(value),
                    "labels": m.get("deviceMetadata") or {}, "metadata": metric.get("metadata") or {}})
    return out
