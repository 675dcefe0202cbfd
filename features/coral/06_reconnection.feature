@coral @epic:coral @feature:coral-reconnection @needs:mesh_hosts @needs:faults
Feature: Agents reconnect after an outage
  When the colony goes away, agents notice, keep trying with backoff and come back with the same
  addresses once it returns. When discovery goes away, registered agents carry on, and a new agent
  waits and registers once discovery is back.

  @severity:blocker @story:colony-restart
  Scenario: Agents reconnect after the colony restarts and keep their addresses
    Given each agent's mesh address is noted
    When the colony is killed
    Then every agent sees that the colony is unreachable
    And discovery forgets the colony once its lease has run out
    When the colony is started again
    Then within the reconnection budget every agent registered again and is healthy with the same address
    And the colony has a peer for each agent's address
    And every agent reaches the colony through its tunnel

  @severity:critical @story:discovery-down @needs:spare_agent
  Scenario: A new agent waits while discovery is down and registers once it is back
    Given discovery is stopped
    When a new agent starts
    Then the agents that were already registered stay healthy
    And the new agent has no mesh address and is not listed by the colony
    When discovery is started again
    Then the new agent is healthy within the discovery budget
