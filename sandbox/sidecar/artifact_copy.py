"""The sandbox serves its deploy artifacts from a copy in its data dir, so artifact faults can break
one file on purpose (and switching the fault off restores the pristine copy)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from . import faults as F

SOURCE = Path(__file__).resolve().parent / "artifacts"
CHART = "manifests/helm/hypergraph"
ARGOCD = "manifests/argocd/argocd-apps.yaml"
KARPENTER = "manifests/karpenter/karpenter-provisioners.yaml"
OPENAPI = "api/openapi/hypergraph-api.yaml"
CHANGE_DOC = "docs/change-management.md"
ANALYZER = "tools/analysis/attach_rate_analyzer.py"


class ArtifactCopy:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "artifacts"
        self.applied: set[str] | None = None

    def path(self, rel: str) -> Path:
        return self.root / rel

    def apply(self, active: set[str]) -> None:
        """Pristine copy, then the active artifact faults (idempotent, cheap: a few small files)."""
        if active == self.applied:
            return
        if self.root.exists():
            shutil.rmtree(self.root)
        shutil.copytree(SOURCE, self.root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "results"))
        if F.PATH_OUTSIDE_V1 in active:
            spec = yaml.safe_load(self.path(OPENAPI).read_text())
            spec["paths"]["/v2/traces/{trace_id}/status"] = {"get": {"responses": {"200": {"description": "v2"}}}}
            self.path(OPENAPI).write_text(yaml.safe_dump(spec, sort_keys=False))
        if F.CHART_MISSING_KIND in active:
            self.path(f"{CHART}/templates/poddisruptionbudgets.yaml").unlink()
        if F.KEDA_DRIFT in active:
            self._sub(ARGOCD, r"maxReplicaCount: 16", "maxReplicaCount: 12")
        if F.REPLICA_BOUNDS_TOO_SMALL in active:
            for rel in (f"{CHART}/values.yaml", ARGOCD):
                self._sub(rel, r"minReplicaCount: 2", "minReplicaCount: 1")
                self._sub(rel, r"maxReplicaCount: 16", "maxReplicaCount: 2")
        self.applied = set(active)

    def _sub(self, rel: str, pattern: str, repl: str) -> None:
        p = self.path(rel)
        p.write_text(re.sub(pattern, repl, p.read_text()))

    def profile_keys(self) -> dict[str, str]:
        return {"helm_chart": str(self.path(CHART)), "argocd_manifest": str(self.path(ARGOCD)),
                "keda_template": str(self.path(f"{CHART}/templates/keda-scalers.yaml")),
                "karpenter_file": str(self.path(KARPENTER)), "openapi_file": str(self.path(OPENAPI)),
                "change_management_doc": str(self.path(CHANGE_DOC)), "analyzer": str(self.path(ANALYZER))}
