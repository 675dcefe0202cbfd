"""The Tansu broker lifecycle: start, topics, stop without orphans, restart, clear errors."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psutil
import pytest
from kafka import KafkaConsumer, KafkaProducer

from sandbox.kafka import Broker, BrokerError

try:  # works whether or not tests/sandbox is a package
    from .kafka_support import poll, unique
except ImportError:
    from kafka_support import poll, unique  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def partitions(bootstrap: str, topic: str) -> set[int]:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        return c.partitions_for_topic(topic) or set()
    finally:
        c.close()


def test_topics_are_created_with_the_requested_partitions(broker: Broker) -> None:
    names = [unique("t"), unique("t")]
    broker.create_topics(names, 3)
    broker.create_topics(names, 3)           # idempotent
    assert all(partitions(broker.bootstrap, n) == {0, 1, 2} for n in names)
    assert broker.alive() and broker.bootstrap == f"127.0.0.1:{broker.port}"


def test_stop_leaves_no_process_and_is_idempotent(tmp_path: Path) -> None:
    b = Broker(log_path=tmp_path / "b.log")
    b.start()
    pid = b.pid
    assert pid and psutil.Process(pid).is_running()
    assert os.getpgid(pid) == pid, "broker runs in its own process group"
    b.stop()
    b.stop()
    assert not b.alive() and b.pid is None
    assert gone(pid)


def test_restart_keeps_the_port_and_loses_the_memory_log(tmp_path: Path) -> None:
    with Broker(log_path=tmp_path / "b.log") as b:
        port, first = b.port, b.pid
        b.create_topics(["before"], 3)
        b.restart()
        assert b.port == port and b.pid != first and b.alive() and gone(first)
        assert partitions(b.bootstrap, "before") == set()
        b.create_topics(["before"], 3)
        producer = KafkaProducer(bootstrap_servers=b.bootstrap)
        producer.send("before", b"x").get(5)
        producer.close()


def test_restart_from_a_short_lived_thread_survives_that_thread(tmp_path: Path) -> None:
    """PDEATHSIG follows the forking *thread*; the spawner thread keeps the broker alive."""
    with Broker(log_path=tmp_path / "b.log") as b:
        t = threading.Thread(target=b.restart)
        t.start()
        t.join(10)
        pid = b.pid
        assert pid is not None
        with pytest.raises(psutil.TimeoutExpired):
            psutil.Process(pid).wait(0.3)
        assert b.alive()


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", "/nonexistent")
    with pytest.raises(BrokerError, match=r"binary not found.*CALF_TANSU_BIN"):
        Broker().start()


def test_port_in_use_names_the_exit(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        b = Broker(port=s.getsockname()[1], log_path=tmp_path / "b.log")
        with pytest.raises(BrokerError, match=r"port .* is not free"):
            b.start(timeout=3)
        assert not b.alive()


def test_broker_dies_with_a_crashed_parent(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys
        sys.path.insert(0, sys.argv[1])
        from sandbox.kafka import Broker
        b = Broker()
        b.start()
        print(b.pid, flush=True)
        os._exit(3)   # crash: no stop(), no atexit
    """)
    out = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=20)
    assert out.returncode == 3, out.stderr
    pid = int(out.stdout.split()[0])
    poll(lambda: gone(pid), 5, f"broker {pid} to die with its parent")
