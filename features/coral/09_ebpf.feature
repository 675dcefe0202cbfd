@coral @epic:coral @feature:coral-ebpf @needs:mesh_hosts @needs:ebpf
Feature: eBPF data: RED metrics, on-demand profiles and uprobe traces (L0, L3)
  Beyla's eBPF probes give request rate, errors and latency for HTTP traffic without touching the
  app; on demand, the colony profiles a service at 99 Hz or traces functions of an SDK app with
  uprobes. The sandbox's stand-ins never invent these results: without real eBPF they skip.

  @severity:critical @story:beyla @needs:beyla @needs:cpu_app
  Scenario: Beyla records RED metrics of HTTP traffic to an app, in the agent and in the colony
    When the CPU-intensive test app is connected to its agent and serves 20 requests of this run
    Then its agent's eBPF metrics count at least those GET requests with status 200, with matching latency buckets
    And the colony holds eBPF metrics of the app

  @severity:normal @story:on-demand-profile @needs:cpu_app
  Scenario: An on-demand 99 Hz profile produces flame-graph data
    When the CPU-intensive test app is kept busy
    And the colony profiles the app for 10 seconds at 99 Hz
    Then the profile succeeded with samples that have frames and counts
    And the profile took at least its duration

  @severity:normal @story:uprobes @needs:sdk_app
  Scenario: Uprobe tracing records an SDK app's function calls and builds the call tree
    When the colony attaches a uprobe to the SDK app's ProcessPayment function
    And the SDK app is triggered 10 times
    Then every call was recorded on entry, and returns last at least 50 milliseconds
    And the debug results hold a call tree with invocations
    And the uprobe is detached
