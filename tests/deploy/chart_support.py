"""Render charts/e2et offline with real Helm (helm-python-sdk embeds Helm v4 as a library).

Why a library and not the ``helm`` binary: no registry or GitHub release is reachable from CI,
but PyPI is, and the wheel carries the same Go template engine and ``required``/``fail`` semantics.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "e2et"
ENVIRONMENTS = ("dev", "staging", "prod")


def env_values(env: str) -> dict[str, Any]:
    """The values file of one environment, as a fresh dict the test may mutate."""
    return copy.deepcopy(yaml.safe_load((CHART_DIR / f"values-{env}.yaml").read_text()))


def render(values: dict[str, Any], name: str = "e2et-test", namespace: str = "salus") -> dict[str, str]:
    """Template path → rendered text (like ``helm template``); raises HelmRenderError on ``fail``."""
    import helm_python as helm

    with helm.Chart.load(str(CHART_DIR)) as chart:
        return chart.render(values, name=name, namespace=namespace, is_install=True)


def documents(values: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """Every non-empty Kubernetes object the chart renders for these values."""
    docs: list[dict[str, Any]] = []
    for text in render(values, **kw).values():
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec inside a Job or a CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def job_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]


def set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
