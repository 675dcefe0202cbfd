@coral @epic:coral @feature:coral-ip-allocation @needs:mesh_hosts
Feature: The colony hands out mesh addresses
  The colony gives each agent its own address, one after another in the order they first
  registered, and an agent gets the same address back whenever it returns.

  @severity:blocker @story:allocation @needs:three_agents
  Scenario: Agents get unique, sequential addresses
    Then every agent has its own mesh address inside the mesh subnet
    And the addresses follow one another in the order the agents joined
    And the colony has a peer for each agent's address

  @severity:critical @story:allocation @needs:underlay
  Scenario: A new agent gets the next free address
    When a new agent of this run registers directly with the colony
    Then it is given the address after the highest one in use

  @severity:critical @story:stable-address @needs:faults
  Scenario: An agent gets the same address back after it reconnects
    Given each agent's mesh address is noted
    When the first agent is restarted
    Then the first agent is healthy again with the same address
