"""Kafka producer of a stand-in: JSON values, a type-id header, never raises into callers.

A real service keeps serving HTTP while Kafka is down; so does a stand-in (a broker fault relies
on that): publishing failures are logged once per outage and counted, never thrown.
``reconnect()`` rebuilds the producer after the broker restarted and tells listeners (a reader
re-reads the fresh, empty log from its start). kafka-python's public API only.
"""
from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("sandbox.bus")
#: Spring's JsonSerializer names the payload class in this header; Spring consumers rely on it.
TYPE_HEADER = "__TypeId__"

#: How long a producer construction or a metadata wait may block a caller (HTTP handler, gRPC).
_BLOCK_MS = 500
#: A producer that could not be built is retried at most this often, off the caller's thread.
_RETRY_S = 2.0


def quiet_kafka_client_logs() -> None:
    """kafka-python logs every failed reconnect at ERROR; during a broker outage that buries the
    stand-in's log. The bus reports outages itself (one line each), so keep only kafka's criticals."""
    logging.getLogger("kafka.net").setLevel(logging.CRITICAL)
    logging.getLogger("kafka.conn").setLevel(logging.CRITICAL)
    logging.getLogger("kafka.cluster").setLevel(logging.ERROR)
    logging.getLogger("kafka.producer").setLevel(logging.ERROR)


def encode_value(value: dict[str, Any] | str) -> bytes:
    """Dict → compact JSON (what Spring's JsonSerializer sends); str → as is (pre-encoded JSON)."""
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":")).encode()


class KafkaBus:
    """A publish-and-forget producer on kafka-python's ``KafkaProducer`` (a stand-in's ``Bus``)."""

    def __init__(self, bootstrap: str, linger_ms: int = 2, type_header: str = TYPE_HEADER) -> None:
        self.bootstrap = bootstrap
        self.type_header = type_header
        self.linger_ms = linger_ms
        self.sent = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._producer: Any = None
        self._failing = False                      # inside an outage: drops are counted, not logged
        self._last_attempt = 0.0
        self._rebuilding = False
        self._listeners: list[Callable[[], None]] = []
        self._closed = False
        quiet_kafka_client_logs()
        self._connect()

    # ------------------------------------------------------------------ producer lifecycle
    def _connect(self) -> bool:
        from kafka import KafkaProducer
        self._last_attempt = time.monotonic()
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap, linger_ms=self.linger_ms, acks=1,
                max_block_ms=_BLOCK_MS, bootstrap_timeout_ms=1000, request_timeout_ms=1500,
                delivery_timeout_ms=1500 + self.linger_ms + 500, reconnect_backoff_max_ms=500,
                metadata_max_age_ms=5000, retries=2)
        except Exception as e:  # noqa: BLE001 — a missing broker is an outage to report, not a crash
            self._note_failure(f"Kafka producer for {self.bootstrap} unavailable ({e})")
            return False
        with self._lock:
            old, self._producer = self._producer, producer
        self._close_producer(old)
        return True

    def _ensure_producer_later(self) -> None:
        """Retry building a producer in the background so publishers are never blocked by it."""
        with self._lock:
            if self._closed or self._rebuilding or time.monotonic() - self._last_attempt < _RETRY_S:
                return
            self._rebuilding = True

        def rebuild() -> None:
            try:
                self._connect()
            finally:
                self._rebuilding = False
        threading.Thread(target=rebuild, name="bus-reconnect", daemon=True).start()

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """``listener()`` after every ``reconnect()`` (i.e. after the broker was restarted)."""
        self._listeners.append(listener)

    def reconnect(self) -> None:
        """Rebuild the producer (call after the broker restarted) and notify listeners."""
        if self._closed:
            return
        self._connect()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("reconnect listener failed")

    @staticmethod
    def _close_producer(producer: Any) -> None:
        if producer is not None:
            # a producer of a dead broker may fail to close in any way; it is dropped either way
            with contextlib.suppress(Exception):
                producer.close(timeout=0.5)

    # ------------------------------------------------------------------ publishing
    def publish(self, topic: str, key: str | None, value: dict[str, Any] | str,
                type_id: str | None = None) -> None:
        """Send one record asynchronously; failures end up in ``dropped`` and the log, never raised."""
        try:
            payload = encode_value(value)
        except (TypeError, ValueError) as e:
            self._drop(topic, f"value not JSON-serialisable: {e}")
            return
        headers = [(self.type_header, type_id.encode())] if type_id else None
        producer = self._producer
        if producer is None:
            self._drop(topic, "no producer")
            self._ensure_producer_later()
            return
        try:
            fut = producer.send(topic, key=key.encode() if key is not None else None,
                                value=payload, headers=headers)
        except Exception as e:  # noqa: BLE001 — publishing never raises into callers (module doc)
            self._drop(topic, e)
            return
        fut.add_callback(self._delivered)
        fut.add_errback(lambda e: self._drop(topic, e))

    def _delivered(self, _metadata: Any) -> None:
        with self._lock:
            self.sent += 1
            recovered, self._failing = self._failing, False
            dropped = self.dropped
        if recovered:
            log.info("Kafka %s reachable again (%d records dropped so far)", self.bootstrap, dropped)

    def _drop(self, topic: str, why: object) -> None:
        with self._lock:
            self.dropped += 1
            first = not self._failing
            self._failing = True
        if first:
            log.warning("Kafka %s: dropped a record for %s (%s); further drops are counted silently "
                        "until a send succeeds", self.bootstrap, topic, why)

    def _note_failure(self, message: str) -> None:
        with self._lock:
            first = not self._failing
            self._failing = True
        if first:
            log.warning("%s; records will be dropped until it is back", message)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait for buffered records; False (logged) when they could not all be delivered in time."""
        producer = self._producer
        if producer is None:
            return False
        try:
            producer.flush(timeout)
            return True
        except Exception as e:  # noqa: BLE001 — reported as False, like a flush that timed out
            log.warning("Kafka flush failed: %s", e)
            return False

    def close(self) -> None:
        """Flush briefly and close; idempotent."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        self._close_producer(producer)
