"""SQLite-backed JSON document store: a stand-in's state survives a restart with the same data dir.

One table of (kind, id, tenant, body), listed in creation order (stable paging); the stand-in's
domain layer owns every rule. A single lock keeps it safe for an HTTP loop, RPC workers and
engine threads at once; WAL without fsync because a sandbox's data is worth a restart, not a
crash-proof disk write per request.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Store:
    """JSON documents by (kind, id), each optionally owned by a tenant."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS docs (kind TEXT, id TEXT, tenant TEXT, seq INTEGER,"
                         " body TEXT, PRIMARY KEY (kind, id))")
        self._lock = threading.RLock()
        self._seq = (self._db.execute("SELECT MAX(seq) FROM docs").fetchone()[0] or 0)

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def put(self, kind: str, id_: str, tenant: str | None, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT seq FROM docs WHERE kind=? AND id=?", (kind, id_)).fetchone()
            if row:
                seq = row[0]
            else:
                self._seq += 1
                seq = self._seq
            self._db.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?)",
                             (kind, id_, tenant or "", seq, json.dumps(body)))
        return body

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM docs WHERE kind=? AND id=?", (kind, id_)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, kind: str, id_: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM docs WHERE kind=? AND id=?", (kind, id_))
        return cur.rowcount > 0

    def list(self, kind: str, tenant: str | None = None,
             where: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Items in creation order (stable paging), optionally of one tenant and filtered."""
        with self._lock:
            if tenant is None:
                rows = self._db.execute("SELECT body FROM docs WHERE kind=? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._db.execute("SELECT body FROM docs WHERE kind=? AND tenant=? ORDER BY seq",
                                        (kind, tenant)).fetchall()
        items = [json.loads(r[0]) for r in rows]
        return [i for i in items if where(i)] if where else items

    def close(self) -> None:
        with self._lock:
            self._db.close()
