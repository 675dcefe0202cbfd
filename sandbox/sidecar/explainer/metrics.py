"""The explainer's Prometheus families (contract §6) on a registry of its own."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, disable_created_metrics, Counter, Gauge, Histogram

STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# the contract's exposition has no *_created samples (a histogram is only _bucket, _sum, _count)
disable_created_metrics()


class ExplainerMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.jobs = Counter("explainer_jobs", "finished jobs", ["state", "granularity", "featureset"], registry=r)
        self.stage = Histogram("explainer_stage_duration_seconds", "stage time", ["stage"], buckets=STAGE_BUCKETS,
                               registry=r)
        self.queue_lag = Histogram("explainer_queue_lag_seconds", "envelope created_at to job start",
                                   buckets=STAGE_BUCKETS, registry=r)
        self.nodes = Gauge("hif_nodes_count", "nodes of the last graph", registry=r)
        self.incidences = Gauge("hif_incidences_count", "incidences of the last graph", registry=r)
        self.prune_ratio = Gauge("hif_prune_ratio", "share of incidences pruned", registry=r)
        self.supernodes = Gauge("hif_supernode_count", "supernodes of the last graph", registry=r)
        self.sae_requests = Counter("sae_decode_requests", "SAE decodes", ["device", "layer"], registry=r)
        self.sae_latency = Histogram("sae_decode_latency_seconds", "SAE decode time", ["device", "layer"],
                                     buckets=STAGE_BUCKETS, registry=r)
        self.attr_method = Counter("attribution_method", "attribution runs", ["method", "granularity"], registry=r)
        self.attr_latency = Histogram("attribution_latency_seconds", "attribution time", ["method", "granularity"],
                                      buckets=STAGE_BUCKETS, registry=r)
        self.bp_level = Gauge("backpressure_level", "0 normal, 1 soft, 2 hard", ["tenant", "granularity"], registry=r)
        self.bp_actions = Counter("backpressure_actions", "ladder actions", ["action"], registry=r)
        self.backlog = Gauge("backlog_seconds", "age of the oldest waiting job", ["granularity"], registry=r)
        self.hg_backlog = Gauge("hypergraph_backlog_seconds", "backlog the KEDA trigger scales on", registry=r)
        self.queue_global = Gauge("queue_len_global", "jobs waiting", registry=r)
        self.queue_tenant = Gauge("queue_len_tenant", "jobs waiting per tenant", ["tenant"], registry=r)
