"""``python -m support.guardian --parent PID -- CMD …``: run CMD and stop it when PID is gone.

Why: a runner killed by SIGKILL (or a broken pipe, or an OOM kill) runs no teardown, and a
sandbox started in its own session would outlive it — holding ports, processes and temp dirs
nobody owns. The launcher starts every sandbox under this guardian: it forwards SIGTERM/SIGINT,
mirrors the child's exit code, and when the parent process disappears (PID gone, or reused by a
process with another start time) it stops the child's whole tree itself.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading

import psutil

from .processes import stop_tree

CHECK_EVERY = 0.5


def _started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="support.guardian")
    p.add_argument("--parent", type=int, required=True, help="stop the command when this process is gone")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("support.guardian: no command given (… -- CMD ARGS)", file=sys.stderr)
        return 2
    born = _started(args.parent)
    child = subprocess.Popen(cmd)
    stop = threading.Event()

    def forward(signum: int, _frame: object) -> None:
        stop.set()
        if child.poll() is None:
            child.send_signal(signum)
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, forward)
    while child.poll() is None:
        if born is None or _started(args.parent) != born:
            print(f"support.guardian: parent {args.parent} is gone: stopping {cmd[2] if len(cmd) > 2 else cmd[0]}",
                  file=sys.stderr, flush=True)
            stop_tree(child, grace=5.0, group=False)
            break
        if stop.wait(CHECK_EVERY):
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                stop_tree(child, grace=1.0, group=False)
            break
    rc = child.wait()
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    sys.exit(main())
