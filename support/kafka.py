"""Group-less Kafka watching: start before the action, see only what came after, explain misses.

``start()`` records the end offset of EVERY partition of the topic and seeks there (assign +
seek, no consumer group: group joins are slow and not needed), so detection cost does not depend
on how much the topic already holds. ``wait_for()`` polls in 100 ms slices with a deadline and
matches parsed JSON against an ``Expectation`` (field path → PyHamcrest matcher), a bare
PyHamcrest matcher, or a predicate. On timeout the ``WaitTimeout`` lists the partitions and
offsets scanned, the record counts, and the nearest near-misses — only messages of the expected
tenant are ever printed; other tenants' records are just counted.

Tansu quirk: its ``end_offsets()`` can point at the first record of the last batch (+1), so a few
records older than ``start()`` may be re-read; with ``stale_record_guard`` set (a sandbox profile
sets 2 s) records stamped before ``start()`` minus that allowance are ignored. Real
brokers' end offsets are exact, so the guard is off by default there: it could only drop a
genuine event when the harness's clock runs ahead of the producers'.
"""
from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hamcrest.core.matcher import Matcher
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from .durations import Seconds
from .errors import InfrastructureError, WaitTimeout
from .matching import Expectation, Predicate, lookup
from .waiting import poll

log = logging.getLogger("e2et.kafka")
Normaliser = Callable[[dict[str, Any]], list[dict[str, Any]]]
POLL_SLICE_S = 0.1
NEAR_MISSES = 5


class KafkaSettings(BaseModel):
    """How to reach a Kafka-protocol cluster: brokers, TLS, SASL (any pack that watches topics)."""

    model_config = ConfigDict(extra="ignore")
    brokers: list[str]
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    cert_dir: str | None = None
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    #: Ignore records stamped this long before the watch started. Off for real brokers, whose
    #: ``end_offsets()`` are exact (a guard there only adds clock-skew risk between hosts); the
    #: sandbox profile turns it on for Tansu, whose end offsets can re-deliver a batch.
    stale_record_guard: Seconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _infer(cls, data: Any) -> Any:
        """No protocol key but TLS files given (the Go tool's ``cert.file``…) means TLS; relative
        file names are relative to ``cert_dir``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        base = data.get("cert_dir")
        for k in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            if base and data.get(k) and not os.path.isabs(str(data[k])):
                data[k] = os.path.join(str(base), str(data[k]))
        if not data.get("security_protocol"):
            data["security_protocol"] = "SSL" if (data.get("ssl_cafile") or data.get("ssl_certfile")) else "PLAINTEXT"
        else:
            data["security_protocol"] = str(data["security_protocol"]).upper()
        return data

    @field_validator("brokers", mode="before")
    @classmethod
    def _brokers(cls, v: Any) -> list[str]:
        items = v.split(",") if isinstance(v, str) else list(v or [])
        items = [str(b).strip() for b in items if str(b).strip()]
        for b in items:
            if not re.match(r"^[^:\s]+:\d+$", b):
                raise ValueError(f"broker {b!r} is not host:port")
        if not items:
            raise ValueError("at least one broker host:port is needed")
        return items

    @model_validator(mode="after")
    def _sasl(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_username and a password "
                             "(E2ET_KAFKA__SASL_PASSWORD)")
        return self

    def capabilities(self) -> set[str]:
        caps = set()
        if self.security_protocol in ("SSL", "SASL_SSL"):
            caps.add("kafka_tls")
        if self.security_protocol.startswith("SASL"):
            caps.add("kafka_sasl")
        return caps


def consumer_options(kafka: KafkaSettings, connect_timeout: float = 10.0) -> dict[str, Any]:
    """kafka-python options: no group, no commits, short fetch waits; TLS / SASL from the settings.

    Bounded bootstrap (kafka-python's default is 30 s): an unreachable broker must fail fast.
    """
    k = kafka
    opts: dict[str, Any] = {"bootstrap_servers": k.brokers, "group_id": None, "enable_auto_commit": False,
                            "request_timeout_ms": 10000, "bootstrap_timeout_ms": int(max(2.0, connect_timeout) * 1000),
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


class TopicWatcher:
    """Watches one topic from the moment ``start()`` is called.

    ``tenant_id`` set: records of other tenants are dropped at once (only counted). Unset: all
    records are kept, and the timeout report still prints only the expected tenant's messages.
    ``normalise`` turns one raw JSON record into the view(s) expectations match on (a pack's
    message formats); ``timeout`` is the default wait.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, tenant_id: str | None = None,
                 normalise: Normaliser | None = None, timeout: float = 60.0, connect_timeout: float = 10.0,
                 keep: int = 2000) -> None:
        self.kafka = kafka
        self.default_timeout = timeout
        self.connect_timeout = connect_timeout
        self.topic = topic
        self.tenant_id = str(tenant_id) if tenant_id is not None else None
        self.normalise = normalise or (lambda m: [m])
        self.keep = keep
        self.seen: list[dict[str, Any]] = []      # kept (normalised) messages, oldest first
        #: other tenants' messages, kept only to *count* wrong-tenant matches on timeout; never shown
        self._others: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.stats = ScanStats()
        self._consumer: Any = None
        self._start_ms = 0
        guard = kafka.stale_record_guard
        self._guard_ms = int(guard * 1000) if guard is not None else None

    # -------------------------------------------------------------- lifecycle
    def _brokers(self) -> str:
        return ",".join(self.kafka.brokers)

    def start(self) -> TopicWatcher:
        """Pin every partition's current end: call BEFORE the action whose outcome is awaited."""
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError
        try:
            self._consumer = KafkaConsumer(**consumer_options(self.kafka, self.connect_timeout))
            parts = self._consumer.partitions_for_topic(self.topic)
            if not parts:
                self.close()
                raise InfrastructureError(f"Kafka topic {self.topic} not found on {self._brokers()}: check the "
                                          "profile's topic names")
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
        self._others.clear()
        self._start_ms = int(time.time() * 1000)
        return self

    def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):     # closing must never fail a cleanup
                self._consumer.close()
            self._consumer = None

    def __enter__(self) -> TopicWatcher:
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
                        self._others.append(msg)
                        continue
                    fresh.append(msg)
        self.seen.extend(fresh)
        del self.seen[:-self.keep]
        return fresh

    def wait_for(self, matcher: Expectation | Matcher | Callable[[dict[str, Any]], bool],
                 timeout: float | None = None, describe: str = "") -> dict[str, Any]:
        """First message (seen since ``start()``) matching; ``WaitTimeout`` explains a miss.

        ``timeout`` defaults to the watcher's ``timeout``.
        """
        if self._consumer is None:
            raise RuntimeError("watcher not started: call start() before the action")
        exp: Any = matcher if isinstance(matcher, Expectation) else Predicate(matcher, describe, self.tenant_id)
        if describe and isinstance(exp, Expectation) and not exp.description:
            exp = Expectation(exp.fields, describe)
        timeout = float(self.default_timeout if timeout is None else timeout)
        for msg in self.seen:
            if exp.matches(msg):
                return msg
        def next_match() -> dict[str, Any] | None:
            # the consumer's own poll blocks up to one slice: the deadline poll needs no pause of its own
            for msg in self._poll(int(POLL_SLICE_S * 1000)):
                if exp.matches(msg):
                    log.info("matched on %s: %s", self.topic, exp.describe())
                    return msg
            return None
        try:
            return poll(next_match, timeout, f"{exp.describe()} on {self.topic}", interval=0)
        except WaitTimeout:
            raise WaitTimeout(self.explain(exp, timeout)) from None

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
        lines = [f"no message on {self.topic} matched within {timeout:g}s: expected {exp.describe()}"]
        wrong = self._wrong_tenant(exp, tenant)
        if wrong:
            lines.append(f"WRONG TENANT: {wrong} record(s) of other tenants match every other expected field — the "
                         f"platform published it under another tenant than {tenant} (their content is not shown)")
        lines += [f"scanned partitions [{parts}]: {s.records} records, {len(shown)} of tenant {tenant or '?'}, "
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

    def _wrong_tenant(self, exp: Any, tenant: str | None) -> int:
        """How many records of other tenants match every expected field but the tenant (counts only)."""
        if tenant is None or not isinstance(exp, Expectation) or "tenantId" not in exp.fields:
            return 0
        fields = exp.fields
        rest = {p: m for p, m in fields.items() if p != "tenantId"}
        if not rest:
            return 0
        pool = list(self._others) + [m for m in self.seen if str(m.get("tenantId")) != tenant]
        return sum(1 for m in pool if all(matcher.matches(lookup(m, p)) for p, matcher in rest.items()))

    def _unreachable_brokers(self) -> list[str]:
        """Brokers refusing a TCP connection now: a dead broker explains an empty wait."""
        import socket
        down = []
        for b in self.kafka.brokers:
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
