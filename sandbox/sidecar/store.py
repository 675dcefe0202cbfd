"""The JSON StatusStore (contract §5): one file mapping trace_id → item, shared by the gateway and
the explainer processes.

Why a lock file: both processes read-modify-write the same file; the atomic rename keeps readers
safe, and an ``flock`` around each update keeps two writers from losing each other's change.
Rules kept here (not in the callers) so no writer can break them: a trace's tenant never changes
(the attempt is logged to stderr as the contract says) and a terminal state never changes again.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

TERMINAL = frozenset({"complete", "failed", "canceled", "expired", "shed"})


class StatusStore:
    def __init__(self, path: Path, ttl_days: float = 7.0, keep_tenant: bool = True) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.ttl = ttl_days * 86400
        self._cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
        self._mutex = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self._write({})

    # ---------------------------------------------------------------- reading
    def all(self) -> dict[str, Any]:
        """The whole store, re-parsed only when the file changed (readers poll it often)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._mutex:
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return self._cache[1] if self._cache else {}
        with self._mutex:
            self._cache = (stamp, data)
        return data

    def get(self, trace_id: str) -> dict[str, Any] | None:
        item = self.all().get(trace_id)
        return dict(item) if item is not None else None

    # ---------------------------------------------------------------- writing
    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    data = json.loads(self.path.read_text() or "{}")
                except (OSError, ValueError):
                    data = {}
                yield data
                self._write(data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, self.path)

    def create(self, trace_id: str, tenant_id: str, granularity: str, featureset: str,
               keep_tenant: bool = True) -> tuple[dict[str, Any], bool]:
        """The gateway's initial ``queued`` item; returns (item, created). An existing item is kept
        (its tenant is immutable; an owner's re-submit does not restart a trace)."""
        now = time.time()
        with self._locked() as data:
            old = data.get(trace_id)
            if old is not None:
                if old.get("tenant_id") != tenant_id:
                    _violation(trace_id, old.get("tenant_id"), tenant_id)
                    if not keep_tenant:                 # the tenant-overwrite fault
                        old["tenant_id"] = tenant_id
                return dict(old), False
            item = {"trace_id": trace_id, "tenant_id": tenant_id, "state": "queued", "progress": 0,
                    "stage": "queued", "granularity": granularity, "featureset": featureset,
                    "created_at": now, "updated_at": now, "expires_at": now + self.ttl,
                    "s3_key": None, "error": None}
            data[trace_id] = item
            return dict(item), True

    def update(self, trace_id: str, force: bool = False, **fields: Any) -> dict[str, Any] | None:
        """Apply ``fields`` unless the item is terminal (then it is returned unchanged); ``force``
        is only for the cancel-terminal fault. ``tenant_id`` is never taken from a write."""
        with self._locked() as data:
            item = data.get(trace_id)
            if item is None:
                return None
            if item.get("state") in TERMINAL and not force:
                return dict(item)
            new_tenant = fields.pop("tenant_id", None)
            if new_tenant is not None and new_tenant != item.get("tenant_id"):
                _violation(trace_id, item.get("tenant_id"), new_tenant)
            item.update(fields)
            item["updated_at"] = time.time()
            return dict(item)


def _violation(trace_id: str, old: Any, new: Any) -> None:
    line = {"ts": time.time(), "event": "status.tenant_immutable_violation", "trace_id": trace_id,
            "old": old, "new": new}
    print(json.dumps(line), file=sys.stderr, flush=True)


def public_status(item: dict[str, Any]) -> dict[str, Any]:
    """TraceStatus (contract §2.4) from a store item: no tenant, no internal timestamps."""
    keys = ("trace_id", "state", "progress", "stage", "updated_at", "s3_key", "error", "granularity",
            "featureset", "bp_level", "bp_actions", "granularity_downgraded")
    return {k: item[k] for k in keys if k in item}
