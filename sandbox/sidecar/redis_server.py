"""The real Redis behind the work queue: Debian's ``redis-server`` on a free loopback port, no
persistence, its own process group, and it dies with the sandbox (``PR_SET_PDEATHSIG``)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import redis

from support.net import free_port
from support.processes import stop_tree
from support.waiting import poll

from .children import child_setup

MARKER = "sidecar-redis"


class RedisServerError(RuntimeError):
    pass


class RedisServer:
    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / MARKER
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerError("redis-server not found: run `bash scripts/setup.sh` "
                                   "(it installs Debian's redis-server)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
               "--dir", str(self.dir), "--daemonize", "no", "--protected-mode", "yes", "--set-proc-title", "no",
               "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_setup())
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RedisServerError(f"redis-server exited with {self.proc.returncode}: see {self.dir}/redis.log")
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False
        try:
            poll(up, timeout, f"redis-server on 127.0.0.1:{self.port} answering PING")
        finally:
            client.close()

    def stop(self) -> None:
        stop_tree(self.proc, grace=3)
