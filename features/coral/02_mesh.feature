@coral @epic:coral @feature:coral-mesh @needs:mesh_hosts
Feature: Agents join the colony's WireGuard mesh
  The colony is the hub of a WireGuard mesh and holds the first address of the mesh subnet.
  Every agent's tunnel to it comes up and carries traffic both ways.

  @severity:blocker @story:mesh-address
  Scenario: The colony holds the first address of the mesh subnet
    Then the colony's mesh address is the first address of the mesh subnet

  @severity:blocker @story:tunnel
  Scenario: Every agent's tunnel comes up and carries traffic to the colony
    Then every agent's tunnel to the colony is up
    And every agent reaches the colony through its tunnel

  @severity:critical @story:tunnel
  Scenario: The colony calls an agent over the mesh
    When a service of this run is connected on the first agent
    Then the colony lists that service for the first agent, learnt from the agent over the mesh

  @severity:normal @story:tunnel @needs:netns
  Scenario: Packets cross every tunnel in both directions
    Then a ping crosses every agent's tunnel in both directions
    And WireGuard on every agent reports a recent handshake with the colony and received bytes
