"""What this kernel allows for eBPF, probed for real (``python -m sandbox.coral.kernel`` prints JSON).

Run inside a sandbox host (as root, in its namespaces) by the supervisor; the result goes into the
profile and the docs: whether ``bpf()`` loads a program, whether ``perf_event_open`` gives a 19 Hz
CPU-clock sampler, BTF and uprobe support. It proves what *could* run — Coral's eBPF collectors
themselves are not installable here, and the stand-ins never invent their results.
"""
from __future__ import annotations

import ctypes
import json
import os
import platform
import struct
from pathlib import Path

SYS_BPF, SYS_PERF_EVENT_OPEN = 321, 298          # x86_64
BPF_PROG_LOAD, BPF_PROG_TYPE_SOCKET_FILTER = 5, 1


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def probe_bpf() -> str:
    """Load the smallest valid program (r0 = 0; exit): 'ok' or the errno name."""
    libc = _libc()
    insns = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    prog = ctypes.create_string_buffer(insns)
    lic = ctypes.create_string_buffer(b"GPL")
    attr = struct.pack("<IIQQIIQ", BPF_PROG_TYPE_SOCKET_FILTER, 2, ctypes.addressof(prog), ctypes.addressof(lic),
                       0, 0, 0)
    buf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(SYS_BPF, BPF_PROG_LOAD, buf, 128)
    if fd < 0:
        return os.strerror(ctypes.get_errno())
    os.close(fd)
    return "ok"


def probe_perf() -> str:
    """A software CPU-clock sampler at 19 Hz on CPU 0 (what a continuous profiler opens)."""
    libc = _libc()
    size = 128
    # type=PERF_TYPE_SOFTWARE(1), size, config=PERF_COUNT_SW_CPU_CLOCK(0), sample_freq=19, flags: freq bit (1<<10)
    attr = struct.pack("<IIQQQQQ", 1, size, 0, 19, 0, 0, 1 << 10).ljust(size, b"\0")
    buf = ctypes.create_string_buffer(attr, size)
    fd = libc.syscall(SYS_PERF_EVENT_OPEN, buf, -1, 0, -1, 0)
    if fd < 0:
        return os.strerror(ctypes.get_errno())
    os.close(fd)
    return "ok"


def probe() -> dict[str, object]:
    paranoid = Path("/proc/sys/kernel/perf_event_paranoid")
    return {"kernel": platform.release(), "root": os.geteuid() == 0, "bpf_prog_load": probe_bpf(),
            "perf_event_open_19hz": probe_perf(), "btf": Path("/sys/kernel/btf/vmlinux").exists(),
            "uprobes": Path("/sys/bus/event_source/devices/uprobe").exists(),
            "perf_event_paranoid": int(paranoid.read_text()) if paranoid.exists() else None}


if __name__ == "__main__":
    print(json.dumps(probe()))
