@coral @epic:coral @feature:coral-heartbeat @needs:mesh_hosts
Feature: Agents prove they are alive
  Agents send heartbeats through their tunnels. The colony's last-seen for each agent advances at
  the heartbeat interval; an agent that goes quiet turns degraded, then unhealthy.

  @severity:blocker @story:heartbeat
  Scenario: Last-seen advances at the heartbeat interval
    Then every agent's last-seen advances within two heartbeat intervals
    And every agent stays healthy

  @severity:normal @story:heartbeat @needs:underlay
  Scenario: A heartbeat from an agent the colony does not know is refused
    When an agent the colony never registered sends a heartbeat
    Then the colony refuses the heartbeat

  @severity:critical @story:health @needs:faults
  Scenario: An agent that stops turns degraded, then unhealthy
    When the second agent stops
    Then the colony reports the second agent degraded once the healthy threshold has passed
    And the colony reports the second agent unhealthy once the degraded threshold has passed
