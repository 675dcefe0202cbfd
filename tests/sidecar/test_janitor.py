"""The janitor cancels what a dead e2et run left running on the deployment, and nothing else."""
from __future__ import annotations

import datetime as dt
import time

import httpx
import yaml

from support.packs import get
from support.run import RunContext, new_run_id
from support.sidecar.settings import SidecarSettings


def test_janitor_cancels_running_traces_of_dead_runs_only(sidecar, faults):
    faults.on("slow-stage", 30)                       # keep the traces running while the janitor looks
    s = SidecarSettings.model_validate(yaml.safe_load(sidecar.profile_path.read_text())["sidecar"])
    dead = new_run_id(time.time() - 7200)
    alive = RunContext()
    auth = {"Authorization": f"Bearer {s.token('write')}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "janitor"}], "stream": False}
    ids = {"dead": f"trc_e2et_{dead}_sentence_abc123", "mine": f"trc_e2et_{alive.run_id}_sentence_abc123",
           "foreign": "trc_someone_elses_trace"}
    with httpx.Client(base_url=s.base_url, timeout=10) as c:
        for tid in ids.values():
            h = {**auth, "x-explain-mode": "hypergraph", "x-trace-id": tid}
            assert c.post("/v1/chat/completions", json=body, headers=h).status_code == 200
        pack = get("sidecar")
        assert pack.janitor(s, alive, dt.timedelta(hours=1), set(), dry_run=True) == {"traces_canceled": 1}
        assert pack.janitor(s, alive, dt.timedelta(hours=1), set(), dry_run=False) == {"traces_canceled": 1}
        states = {k: c.get(f"/v1/traces/{t}/status", headers=auth).json()["state"] for k, t in ids.items()}
        for tid in ids.values():
            c.delete(f"/v1/traces/{tid}", headers=auth)
    assert states["dead"] == "canceled"
    assert states["mine"] != "canceled" and states["foreign"] != "canceled", states
