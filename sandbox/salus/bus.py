"""Kafka producer of the sandbox: JSON values, Spring ``__TypeId__`` header, never raises into callers.

A real service keeps serving HTTP while Kafka is down; so does the sandbox (the broker fault
relies on that): publishing failures are logged and counted, not thrown.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

log = logging.getLogger("sandbox.bus")


class KafkaBus:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.dropped = 0
        self._lock = threading.Lock()
        self._producer = None
        self._connect()

    def _connect(self) -> None:
        from kafka import KafkaProducer
        try:
            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=2, acks=1,
                                           max_block_ms=1500, request_timeout_ms=3000,
                                           reconnect_backoff_max_ms=500)
        except Exception as e:
            log.warning("Kafka producer unavailable (%s); records will be dropped", e)
            self._producer = None

    def reconnect(self) -> None:
        with self._lock:
            old, self._producer = self._producer, None
        if old is not None:
            try:
                old.close(timeout=1)
            except Exception:
                pass
        self._connect()

    def publish(self, topic: str, key: str | None, value: dict[str, Any] | str,
                type_id: str | None = None) -> None:
        payload = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        headers = [("__TypeId__", type_id.encode())] if type_id else None
        producer = self._producer
        if producer is None:
            self._drop(topic, "no producer")
            return
        try:
            fut = producer.send(topic, key=key.encode() if key is not None else None,
                                value=payload.encode(), headers=headers)
            fut.add_errback(lambda e: self._drop(topic, e))
        except Exception as e:
            self._drop(topic, e)

    def _drop(self, topic: str, why: object) -> None:
        self.dropped += 1
        log.warning("dropped a record for %s: %s", topic, why)

    def flush(self, timeout: float = 5.0) -> None:
        if self._producer is not None:
            try:
                self._producer.flush(timeout)
            except Exception as e:
                log.warning("flush failed: %s", e)

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except Exception:
                pass
            self._producer = None
