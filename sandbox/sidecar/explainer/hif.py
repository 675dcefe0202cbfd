"""A deterministic HIF v1 graph from a completion (contract §4): the same text always gives the
same graph, so a suite can rely on its shape, and pruning keeps the semantic rules (references,
weights in [min_edge_weight, 1], caps, no unreferenced node)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

TOKEN = re.compile(r"\w+|[^\w\s]")
SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _w(*parts: Any) -> float:
    """A weight in (0, 1], deterministic."""
    return round(0.02 + (_h(*parts) % 9800) / 10000, 4)


def model_hash(model: str) -> str:
    return hashlib.sha256(model.encode()).hexdigest()[:12]


def build(prompt: str, answer: str, *, granularity: str, featureset: str, model: str, method: str,
          min_edge_weight: float = 0.01, max_nodes: int = 5000, max_incidences: int = 20000,
          supernode_min_group: int = 3, capture_layers: tuple[int, ...] = (6, 12, 18)) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {}
    incidences: list[dict[str, Any]] = []
    mhash = model_hash(model)
    provenance = {"capture_layers": list(capture_layers), "sae_version": featureset, "model_hash": mhash}
    for i, tok in enumerate(TOKEN.findall(prompt)[:32]):
        nodes[f"in_{i}"] = {"id": f"in_{i}", "type": "input_token", "label": tok, "position": i}
    if granularity == "token":
        units = [(t, f"tok-{i}..{i}") for i, t in enumerate(TOKEN.findall(answer)[:48])]
    else:
        units = [(s.strip(), f"sent-{i + 1}") for i, s in enumerate(SENTENCE.findall(answer)) if s.strip()][:24]
    inputs = [n for n in nodes if n.startswith("in_")]
    for u, (text, window) in enumerate(units):
        out_id = f"out_{u}"
        nodes[out_id] = {"id": out_id, "type": "output_token", "label": text[:80], "position": u}
        feats = []
        for k in range(3):
            layer = capture_layers[_h(text, k) % len(capture_layers)]
            fid = f"feat_L{layer}_{_h(text, k, 'f') % 4096}"
            nodes.setdefault(fid, {"id": fid, "type": "sae_feature", "label": f"feature {fid[5:]}", "layer": layer,
                                   "activation_strength": round((_h(fid) % 1000) / 1000, 3)})
            feats.append(fid)
        incidences.append({"id": f"e{len(incidences)}", "node_ids": [*feats, out_id], "weight": _w(text, "out"),
                           "metadata": {"type": "causal_circuit", "method": method, "window": window,
                                        "provenance": provenance}})
        if inputs:
            src = inputs[_h(text, "in") % len(inputs)]
            incidences.append({"id": f"e{len(incidences)}", "node_ids": [src, feats[0]], "weight": _w(text, src),
                               "metadata": {"type": "causal_circuit", "method": method, "window": window}})
    by_layer: dict[int, list[str]] = {}
    for n in nodes.values():
        if n["type"] == "sae_feature":
            by_layer.setdefault(n["layer"], []).append(n["id"])
    for layer, members in sorted(by_layer.items()):
        if len(members) >= supernode_min_group:
            sid = f"super_layer-{layer}"
            nodes[sid] = {"id": sid, "type": "circuit_supernode", "label": f"L{layer} (cluster)",
                          "attributes": {"member_count": len(members), "members": sorted(members)}}
            incidences.append({"id": f"e{len(incidences)}", "node_ids": [sid, *sorted(members)[:8]],
                               "weight": _w(sid), "metadata": {"type": "supernode", "method": method}})
    return prune({"network-type": "directed", "nodes": list(nodes.values()), "incidences": incidences,
                  "meta": {"version": "hif-1", "model_name": model, "model_hash": mhash, "sae_dictionary": featureset,
                           "granularity": granularity,
                           "created_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
                           .isoformat().replace("+00:00", "Z"),
                           "limits": {"min_edge_weight": min_edge_weight, "max_nodes": max_nodes,
                                      "max_incidences": max_incidences}}})


def prune(graph: dict[str, Any]) -> dict[str, Any]:
    """Drop weak incidences, cap both lists, then drop incidences to capped-away nodes and every
    node no incidence references (contract §4 "After pruning")."""
    limits = graph["meta"]["limits"]
    keep = [i for i in graph["incidences"] if limits["min_edge_weight"] <= i["weight"] <= 1]
    keep.sort(key=lambda i: -i["weight"])
    keep = keep[: limits["max_incidences"]]
    nodes = graph["nodes"][: limits["max_nodes"]]
    ids = {n["id"] for n in nodes}
    keep = [i for i in keep if all(n in ids for n in i["node_ids"])]
    used = {n for i in keep for n in i["node_ids"]}
    graph["nodes"] = [n for n in nodes if n["id"] in used]
    graph["incidences"] = keep
    return graph


def v2(chat_id: str, graph: dict[str, Any], provider: str, model: str) -> dict[str, Any]:
    """The chat-id route's ExplanationResponse (v2 Hypergraph) for the same explanation."""
    nodes = [{"id": n["id"], "type": "OUTPUT" if n["type"] == "output_token" else "CONCEPT",
              "text": str(n.get("label") or n["id"])} for n in graph["nodes"]]
    edges = [{"id": i["id"], "source_nodes": i["node_ids"][:-1], "target_node": i["node_ids"][-1],
              "weight": i["weight"], "interaction_type": "SYNERGY"} for i in graph["incidences"]]
    return {"id": chat_id, "status": "completed", "provider": provider, "model": model,
            "created_at": graph["meta"]["created_at"], "hypergraph": {"nodes": nodes, "hyperedges": edges}}
