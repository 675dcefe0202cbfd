@coral @epic:coral @feature:coral-system @needs:mesh_hosts
Feature: System metrics and profiles flow to the colony (L2)
  Every agent samples its host's CPU, memory, disk and network at its collection interval; the
  colony polls them through the mesh into one-minute summaries. Continuous CPU profiling needs eBPF.

  @severity:critical @story:system-metrics
  Scenario: Every agent collects CPU, memory, disk and network metrics at its interval
    Then within 20 seconds every agent reports CPU utilisation in percent and memory usage in bytes
    And every agent reports disk and network metrics too
    And every agent's samples are one collection interval apart

  @severity:critical @story:system-metrics
  Scenario: The colony polls every agent's system metrics into its summaries
    Then within the poll interval plus 30 seconds the colony summarises every agent's CPU, memory and network
    And every agent's network summary lies within the values that agent reported itself

  @severity:normal @story:profiling @needs:ebpf @needs:cpu_app
  Scenario: Continuous CPU profiling yields symbolised stacks of a CPU-intensive app
    When the CPU-intensive test app is kept busy
    Then its agent holds CPU samples whose stacks name the app's hashing work
    And the colony's historical profile of the app has samples
