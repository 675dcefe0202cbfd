"""KafkaBus: encoding, headers, keys and partitioning on a real broker; never raising when it is down."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sandbox.common.kafka_bus import KafkaBus, encode_value
from sandbox.kafka import Broker

try:  # works whether or not tests/sandbox is a package
    from .kafka_support import Collector, poll, unique
except ImportError:
    from kafka_support import Collector, poll, unique  # type: ignore[no-redef]


@pytest.fixture
def topic(broker: Broker) -> str:
    name = unique("bus")
    broker.create_topics([name], 6)
    return name


def test_encoding_is_compact_json_or_the_string_as_is() -> None:
    assert encode_value({"a": 1, "b": [1, 2]}) == b'{"a":1,"b":[1,2]}'
    assert encode_value('{"pre": "encoded"}') == b'{"pre": "encoded"}'


def test_records_carry_key_value_and_type_header(broker: Broker, topic: str) -> None:
    seen = Collector(broker.bootstrap, topic)
    bus = KafkaBus(broker.bootstrap)
    try:
        bus.publish(topic, "t:r", {"tenantId": "t"}, type_id="com.example.Evt")
        bus.publish(topic, None, '{"raw":true}')
        assert bus.flush()
        recs = seen.wait_for(lambda r: True, count=2)
        by_value = {json.dumps(r.value, sort_keys=True): r for r in recs}
        typed = by_value['{"tenantId": "t"}']
        assert typed.key == "t:r" and typed.headers == {"__TypeId__": "com.example.Evt"}
        plain = by_value['{"raw": true}']
        assert plain.key is None and plain.headers == {}
        assert bus.sent == 2 and bus.dropped == 0
    finally:
        bus.close()
        seen.close()


def test_keys_spread_over_partitions_and_stick_to_one(broker: Broker, topic: str) -> None:
    seen = Collector(broker.bootstrap, topic)
    bus = KafkaBus(broker.bootstrap)
    try:
        keys = [f"tenant-{i}" for i in range(24)]
        for k in keys + keys:
            bus.publish(topic, k, {"k": k})
        bus.flush()
        recs = seen.wait_for(lambda r: True, count=48)
        per_key: dict[str, set[int]] = {}
        for r in recs:
            per_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(p) == 1 for p in per_key.values()), per_key
        assert len({r.partition for r in recs}) >= 3, "records should not all land on one partition"
    finally:
        bus.close()
        seen.close()


def test_a_down_broker_drops_quietly_and_reconnect_recovers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sandbox.bus")
    with Broker(log_path=tmp_path / "b.log") as b:
        b.create_topics(["x"], 3)
        bus = KafkaBus(b.bootstrap)
        notified: list[bool] = []
        bus.on_reconnect(lambda: notified.append(True))
        try:
            bus.publish("x", "k", {"n": 0})
            assert bus.flush()
            b.stop()
            for n in range(5):
                bus.publish("x", "k", {"n": n})        # never raises
            poll(lambda: bus.dropped >= 5, 10, "five drops counted", lambda: bus.dropped)
            drop_lines = [r for r in caplog.records if "dropped" in r.getMessage()]
            assert len(drop_lines) == 1, "one log line per outage, not per record"
            b.start()
            b.create_topics(["x"], 3)
            bus.reconnect()
            assert notified == [True]
            seen = Collector(b.bootstrap, "x")
            bus.publish("x", "k", {"n": "back"})
            bus.flush()
            seen.wait_for(lambda r: r.value == {"n": "back"})
            seen.close()
        finally:
            bus.close()
            bus.close()


def test_a_bus_built_while_the_broker_is_down_does_not_raise(tmp_path: Path) -> None:
    b = Broker()                      # never started: nothing listens on its port
    bus = KafkaBus(b.bootstrap)
    bus.publish("x", "k", {"n": 1})
    assert bus.dropped == 1
    bus.close()
