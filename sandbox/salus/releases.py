"""Builds the agent release tarballs the sandbox serves: ``./telegraf/telegraf`` is the stand-in.

Decoy entries make the envoy's "extract exactly the `exe` entry" rule observable.
"""
from __future__ import annotations

import io
import sys
import tarfile
import time
from pathlib import Path

AGENT_SOURCE = Path(__file__).with_name("agent") / "telegraf.py"


def build_telegraf_release(dest_dir: Path, version: str, platform: str) -> Path:
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"telegraf-{version}-{platform}.tar.gz"
    if path.exists():
        return path
    script = f"#!{sys.executable}\n" + AGENT_SOURCE.read_text()
    entries = [("./telegraf/", None, 0o755), ("./telegraf/telegraf", script.encode(), 0o755),
               ("./telegraf/telegraf.conf", b"# sample config, not used by the envoy\n", 0o644),
               ("./README", f"telegraf {version} ({platform}) - e2et sandbox stand-in\n".encode(), 0o644)]
    tmp = path.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = int(time.time())
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)
    return path
