@coral @epic:coral @feature:coral-registration @needs:mesh_hosts @needs:underlay
Feature: Agents register with the colony
  A registration names the colony, carries the agent's WireGuard key and, in the plan era, the
  colony's secret. An accepted one gets an address and exactly one new peer; a rejected one says
  why and changes nothing.

  @severity:blocker @story:register
  Scenario: A registration is accepted with an address and adds exactly that peer
    Given the colony's peers are noted
    When a new agent of this run registers directly with the colony
    Then the registration is accepted with an address inside the mesh subnet
    And the colony has exactly one more peer, for that address
    And the answer lists the colony's other peers but not the new agent itself

  @severity:critical @story:rejected
  Scenario: A registration for another colony is rejected and adds no peer
    Given the colony's peers are noted
    When a new agent of this run registers naming another colony
    Then the registration is rejected because of the wrong colony
    And the colony's peers are unchanged and the agent is not listed

  @severity:critical @story:rejected @needs:secret_auth
  Scenario: A registration with a wrong secret is rejected and adds no peer
    Given the colony's peers are noted
    When a new agent of this run registers with a wrong secret
    Then the registration is rejected because of the invalid secret
    And the colony's peers are unchanged and the agent is not listed

  @severity:normal @story:rejected
  Scenario: A registration without a WireGuard key is rejected
    Given the colony's peers are noted
    When a new agent of this run registers without a WireGuard key
    Then the registration is rejected because the WireGuard key is missing
    And the colony's peers are unchanged and the agent is not listed
