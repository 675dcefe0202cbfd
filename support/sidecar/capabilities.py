"""What a profile lets the @sidecar specs exercise (``@needs:<capability>``), and what to set to
enable each one — the skip reason names the setting."""
from __future__ import annotations

from .artifacts import helm_engine
from .settings import SidecarSettings

HOW_TO_ENABLE = {
    "tenants": "the read-only tenant-B token and both tenants (E2ET_SIDECAR__AUTH_TOKEN_READ, sidecar.tenant_a, "
               "sidecar.tenant_b) — RBAC checks need them",
    "tenant_a": "tenant A's id (sidecar.tenant_a): per-tenant counters are judged by it",
    "tenant_b_write": "a tenant-B token with traces:write (E2ET_SIDECAR__AUTH_TOKEN_B_WRITE) for the "
                      "immutability probe",
    "status_store": "the StatusStore JSON path (sidecar.status_json) — StatusStore path unavailable",
    "audit_log": "the audit log path (sidecar.audit_log) — audit log unavailable",
    "chaos": "the chaos control file the explainer reads (sidecar.chaos_control)",
    "backpressure_signals": "sidecar.backpressure.require_signals: true, for a deployment that runs the "
                            "backpressure controller (the contract only records its signals otherwise)",
    "helm": "the chart (sidecar.helm_chart) and Helm (helm-python-sdk from the test extras, or a helm binary) — "
            "helm absent",
    "argocd": "the ArgoCD manifest (sidecar.argocd_manifest) and the chart (sidecar.helm_chart)",
    "karpenter": "the Karpenter file (sidecar.karpenter_file)",
    "analyzer": "the attach-rate analyzer (sidecar.analyzer), the status store (sidecar.status_json) and the "
                "chart (sidecar.helm_chart)",
    "openapi": "the OpenAPI file (sidecar.openapi_file)",
    "change_doc": "the change-management document (sidecar.change_management_doc)",
    "explainer_metrics": "the explainer's metrics URL (sidecar.metrics_explainer)",
    "faults": "the sandbox fault control (profile local)",
}


def capabilities(s: SidecarSettings) -> set[str]:
    caps: set[str] = set()
    if s.tenant_a:
        caps.add("tenant_a")
    if s.token("read") and s.tenant_a and s.tenant_b:
        caps.add("tenants")
        if s.token("b_write"):
            caps.add("tenant_b_write")
    for cap, value in (("status_store", s.status_json), ("audit_log", s.audit_log), ("chaos", s.chaos_control),
                       ("karpenter", s.karpenter_file), ("openapi", s.openapi_file),
                       ("change_doc", s.change_management_doc), ("explainer_metrics", s.metrics_explainer)):
        if value:
            caps.add(cap)
    if s.backpressure.require_signals:
        caps.add("backpressure_signals")
    if s.helm_chart and helm_engine():
        caps.add("helm")
    if s.helm_chart and s.argocd_manifest:
        caps.add("argocd")
    if s.analyzer and s.status_json and s.helm_chart:
        caps.add("analyzer")
    if s.sandbox and s.sandbox.control_url:
        caps.add("faults")
    return caps
