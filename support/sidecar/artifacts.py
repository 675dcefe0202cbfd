"""The system's deploy and governance artifacts, read statically (contract §9): the chart rendered
with real Helm (helm-python-sdk, the same engine the project's own chart tests use; a ``helm``
binary on PATH also works), ArgoCD, KEDA, Karpenter, OpenAPI and the change-management document."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

KINDS = ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ScaledObject")
RELEASE = "hypergraph"


class HelmAbsent(Exception):
    """Neither helm-python-sdk nor a helm binary is available (a skip: "helm absent")."""


def helm_engine() -> str | None:
    try:
        import helm_python  # noqa: F401
        return "helm-python-sdk"
    except ImportError:
        return "helm" if shutil.which("helm") else None


def render_chart(chart: Path, namespace: str = "hypergraph", values: dict[str, Any] | None = None) -> str:
    """``helm template hypergraph <chart>``: the rendered manifests as one YAML stream.

    A template error raises (a FAIL: the chart does not render); no engine raises HelmAbsent."""
    engine = helm_engine()
    if engine == "helm-python-sdk":
        import helm_python as helm
        with helm.Chart.load(str(chart)) as c:
            out = c.render(values or {}, name=RELEASE, namespace=namespace, is_install=True)
        return "\n---\n".join(out[k] for k in sorted(out))
    if engine == "helm":
        proc = subprocess.run(["helm", "template", RELEASE, str(chart), "--namespace", namespace],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode:
            raise RuntimeError(f"helm template failed: {proc.stderr.strip()[:500]}")
        return proc.stdout
    raise HelmAbsent("helm absent: install the test extras (helm-python-sdk) or put a helm binary on PATH")


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def kind_lines(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"(?m)^kind: (\S+)\s*$", text)}


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(Path(path).read_text())


def load_all(path: Path) -> list[dict[str, Any]]:
    return documents(Path(path).read_text())


def chart_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Names and labels the contract lists for the rendered chart."""
    full = f"{RELEASE}-hypergraph"
    want = {("Deployment", f"{full}-gateway"): "gateway", ("Service", f"{full}-gateway"): "gateway",
            ("Deployment", f"{full}-explainer"): "explainer", ("Service", f"{full}-explainer"): "explainer",
            ("Deployment", f"{full}-interceptor"): "interceptor",
            ("PodDisruptionBudget", f"{full}-gateway"): None, ("PodDisruptionBudget", f"{full}-explainer"): None,
            ("NetworkPolicy", f"{full}-default-allow-ns"): None, ("NetworkPolicy", f"{full}-monitoring"): None,
            ("ScaledObject", f"{full}-explainer"): None, ("ConfigMap", f"{full}-env"): None}
    have = {(d["kind"], d.get("metadata", {}).get("name")): d for d in docs}
    out = []
    for (kind, name), component in want.items():
        d = have.get((kind, name))
        if d is None:
            out.append(f"no {kind} {name}")
            continue
        labels = d.get("metadata", {}).get("labels") or {}
        if component and (labels.get("app.kubernetes.io/name") != "hypergraph"
                          or labels.get("app.kubernetes.io/component") != component):
            out.append(f"{kind} {name} lacks labels app.kubernetes.io/name=hypergraph, component={component}")
        if kind == "PodDisruptionBudget" and d.get("spec", {}).get("minAvailable") != 1:
            out.append(f"{kind} {name} minAvailable is {d.get('spec', {}).get('minAvailable')}, not 1")
        if kind == "Service" and component == "gateway":
            ports = d.get("spec", {}).get("ports") or [{}]
            if ports[0].get("port") != 8080 or ports[0].get("name") != "http":
                out.append(f"Service {name} does not expose port 8080 named http")
    return out


def argocd_app(path: Path) -> dict[str, Any] | None:
    for d in load_all(path):
        if d.get("kind") == "Application" and d.get("metadata", {}).get("name") == "hypergraph":
            return d
    return None


def keda_triplet(node: Any) -> tuple[Any, Any, Any]:
    keda = ((node or {}).get("explainer") or {}).get("keda") or {}
    return keda.get("minReplicaCount"), keda.get("maxReplicaCount"), keda.get("backlogSecondsTarget")


def keda_sources(chart: Path, rendered: list[dict[str, Any]] | None, argocd: Path | None) -> dict[str, tuple]:
    """(min, max, backlog target) from each place that states them."""
    out: dict[str, tuple] = {"values.yaml": keda_triplet(load_yaml(chart / "values.yaml"))}
    if rendered is not None:
        objs = by_kind(rendered, "ScaledObject")
        if objs:
            spec = objs[0].get("spec", {})
            threshold = (spec.get("triggers") or [{}])[0].get("metadata", {}).get("threshold")
            out["rendered ScaledObject"] = (spec.get("minReplicaCount"), spec.get("maxReplicaCount"),
                                            float(threshold) if threshold is not None else None)
    if argocd is not None:
        app = argocd_app(argocd)
        inline = ((app or {}).get("spec", {}).get("source", {}).get("helm", {}) or {}).get("values")
        out["ArgoCD values"] = keda_triplet(yaml.safe_load(inline) if isinstance(inline, str) else inline)
    return {k: (v[0], v[1], float(v[2]) if v[2] is not None else None) for k, v in out.items()}


def keda_template_problems(template: Path) -> list[str]:
    text = Path(template).read_text()
    needs = [r"minReplicaCount:\s*\{\{\s*\.Values\.explainer\.keda\.minReplicaCount\s*\}\}",
             r"maxReplicaCount:\s*\{\{\s*\.Values\.explainer\.keda\.maxReplicaCount\s*\}\}",
             r"threshold:", r"\.Values\.explainer\.keda\.backlogSecondsTarget"]
    return [f"KEDA template lacks {n!r}" for n in needs if not re.search(n, text)]


def karpenter_problems(path: Path) -> list[str]:
    docs = load_all(path)
    out = []
    pools = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "NodePool"}
    classes = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "EC2NodeClass"}
    for name in ("hypergraph-cpu", "hypergraph-gpu"):
        pool = pools.get(name)
        if pool is None:
            out.append(f"no NodePool {name}")
        elif not pool.get("spec", {}).get("template", {}).get("spec", {}).get("requirements"):
            out.append(f"NodePool {name} has no requirements")
        if name not in classes:
            out.append(f"no EC2NodeClass {name}")
        elif not classes[name].get("spec", {}).get("role"):
            out.append(f"EC2NodeClass {name} has no role")
    gpu = pools.get("hypergraph-gpu")
    if gpu is not None:
        reqs = gpu["spec"]["template"]["spec"].get("requirements") or []
        if not any(r.get("key") == "k8s.amazonaws.com/accelerator" and r.get("operator") == "Exists" for r in reqs):
            out.append("NodePool hypergraph-gpu does not require an accelerator (k8s.amazonaws.com/accelerator Exists)")
    return out


def openapi_paths(path: Path) -> list[str]:
    spec = load_yaml(path) or {}
    return list((spec.get("paths") or {}).keys())


def change_doc_missing(path: Path) -> list[str]:
    """The plan's check on lower-cased text: adr; freeze; deprecation|sunset|90; /v1|api v1."""
    text = Path(path).read_text(errors="replace").lower()
    rules = {"ADR": ("adr",), "freeze": ("freeze",),
             "deprecation (or sunset / 90 days)": ("deprecation", "sunset", "90"),
             "/v1 stability": ("/v1", "api v1")}
    return [name for name, words in rules.items() if not any(w in text for w in words)]
