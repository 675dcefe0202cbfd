"""A group-less reader of one Kafka topic that survives broker restarts and new partitions.

Why group-less: joining a consumer group takes ~20 s on Tansu (the sandboxes' broker); assign +
seek is immediate. Why the floors and checks: a memory-storage broker that restarts loses its log,
often too quickly for any request to fail, and a consumer left at its old offsets would then wait
there forever. kafka-python's public API only (``KafkaConsumer`` for records and offsets,
``KafkaAdminClient.describe_topics`` for partitions and the topic id).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

log = logging.getLogger("sandbox.kafka_reader")


def _now_ms() -> int:
    return int(time.time() * 1000)


class TopicReader:
    """Reads record values of one topic from the moment it connected on.

    - starts at the end of every partition; records stamped before a partition's *floor* are
      skipped (Tansu's ``end_offsets`` may point before the true end, so old records reappear);
    - every ``check_every`` seconds describes the topic and asks for end offsets: a failure marks
      an outage; a new topic id (the topic was re-created: memory storage restarted) or an end
      offset that went *down* means the log was lost. Either way all partitions are re-read from 0
      with a floor, so nothing is read twice and records of the fresh log are not missed;
    - ``rewind()`` does the same on request (call it after the broker was restarted).
    """

    def __init__(self, bootstrap: str, topic: str, check_every: float = 0.5) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.check_every = check_every
        self.ready = threading.Event()
        self.skipped_old = 0
        self._consumer: Any = None
        self._admin: Any = None
        self._floors: dict[int, int] = {}
        self._last_ends: dict[int, int] = {}
        self._topic_id: Any = None
        self._next_check = 0.0
        self._outage_ms: int | None = None
        self._rewind_ms: int | None = None
        self._lock = threading.Lock()

    @property
    def outage_since_ms(self) -> int | None:
        """Epoch ms of the first failed check of the current outage; None while the broker answers."""
        return self._outage_ms

    def rewind(self) -> None:
        """The broker was (probably) restarted: check at once. The check re-reads the log from 0 when
        the topic was re-created; without topic ids it re-reads what was stamped after this call."""
        with self._lock:
            self._rewind_ms = _now_ms()

    # ------------------------------------------------------------------ connection
    def _connect(self) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer
        start_ms = _now_ms()
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                 auto_offset_reset="earliest", request_timeout_ms=3000,
                                 bootstrap_timeout_ms=2000, reconnect_backoff_max_ms=300,
                                 fetch_max_wait_ms=50, metadata_max_age_ms=500)
        admin = None
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000,
                                     bootstrap_timeout_ms=2000)
            self._consumer, self._admin = consumer, admin
            parts, topic_id = self._describe(f"topic {self.topic} has no partitions (yet)")
            self._assign(parts, floor_ms=start_ms, at_end=True, topic_id=topic_id)
        except BaseException:
            self._consumer = self._admin = None
            consumer.close()
            if admin is not None:
                admin.close()
            raise
        self._next_check = time.monotonic() + self.check_every
        self.ready.set()

    def _describe(self, missing: str) -> tuple[set[int], Any]:
        """Partitions and topic id (None when the broker's metadata has none) from fresh metadata."""
        found = [t for t in self._admin.describe_topics([self.topic]) if t.get("name") == self.topic]
        parts = {p["partition_index"] for p in (found[0].get("partitions") or [])} if found else set()
        if not found or found[0].get("error_code") or not parts:
            raise RuntimeError(missing)
        return parts, found[0].get("topic_id")

    def _assign(self, parts: set[int], floor_ms: int, at_end: bool, topic_id: Any) -> None:
        from kafka import TopicPartition
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        known = set(self._floors)
        ends = self._consumer.end_offsets(tps, timeout_ms=3000)
        self._consumer.assign(tps)
        for tp in tps:
            if tp.partition in known:
                continue                       # keep the position of partitions already read
            self._consumer.seek(tp, ends[tp] if at_end else 0)
            self._floors[tp.partition] = floor_ms
        self._last_ends = {tp.partition: ends[tp] for tp in tps}
        self._topic_id = topic_id

    def close(self) -> None:
        consumer, admin, self._consumer, self._admin = self._consumer, self._admin, None, None
        self._floors.clear()
        self._last_ends.clear()
        for client in (consumer, admin):
            if client is not None:
                # a client of a dead broker may fail to close in any way; it is dropped either way
                with contextlib.suppress(Exception):
                    client.close()

    # ------------------------------------------------------------------ reading
    def poll(self, timeout_ms: int = 100) -> list[bytes]:
        """Fresh record values; raises on connection problems (the caller closes and retries)."""
        if self._consumer is None:
            self._connect()
        self._maybe_check()
        out: list[bytes] = []
        for tp, records in self._consumer.poll(timeout_ms=timeout_ms).items():
            floor = self._floors.get(tp.partition, 0)
            for rec in records:
                if rec.timestamp is not None and 0 < rec.timestamp < floor:
                    self.skipped_old += 1
                    continue
                out.append(rec.value)
        return out

    def _maybe_check(self) -> None:
        with self._lock:
            requested, self._rewind_ms = self._rewind_ms, None
        if requested is None and time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self.check_every
        from kafka import TopicPartition
        check_started = _now_ms()
        try:
            parts, topic_id = self._describe(f"topic {self.topic} vanished")
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            ends = self._consumer.end_offsets(tps, timeout_ms=1000)
        except Exception as e:  # noqa: BLE001 — any failure of the check is an outage (reported once)
            if self._outage_ms is None:
                log.warning("%s unreachable (%s); will re-read it if the broker lost it", self.topic, e)
                self._outage_ms = check_started
            if requested is not None:
                with self._lock:
                    self._rewind_ms = self._rewind_ms or requested
            return
        outage, self._outage_ms = self._outage_ms, None
        if topic_id is not None and self._topic_id is not None:
            if topic_id != self._topic_id:
                self._rewind_all(parts, 0, "the topic was re-created (broker restarted)", topic_id)
                return
        elif outage is not None or requested is not None:
            # No topic ids from this broker: cannot tell a restart from a hiccup; re-read what is
            # stamped after the trouble began (older records were read already).
            self._rewind_all(parts, min(x for x in (outage, requested) if x is not None),
                             "broker reachable again", topic_id)
            return
        shrunk = [tp.partition for tp in tps if ends[tp] < self._last_ends.get(tp.partition, 0)]
        if shrunk:
            self._rewind_all(parts, check_started - int(self.check_every * 1000) - 1000,
                             f"end offsets of partitions {shrunk} went down (broker lost its log)", topic_id)
            return
        if parts != set(self._floors):
            log.info("%s now has %d partitions", self.topic, len(parts))
            self._assign(parts, floor_ms=check_started - int(self.check_every * 1000), at_end=False,
                         topic_id=topic_id)
            return
        self._last_ends = {tp.partition: ends[tp] for tp in tps}

    def _rewind_all(self, parts: set[int], floor_ms: int, why: str, topic_id: Any) -> None:
        log.info("re-reading %s from the start of every partition: %s", self.topic, why)
        self._floors.clear()
        self._assign(parts, floor_ms=floor_ms, at_end=False, topic_id=topic_id)
