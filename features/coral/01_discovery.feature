@coral @epic:coral @feature:coral-discovery @needs:mesh_hosts
Feature: Colonies are found through discovery
  The discovery service holds a lease for every colony. Agents find their colony there: its mesh
  id, public key, endpoints and mesh address. A lease lives while its colony renews it, and one
  mesh id belongs to one key.

  @severity:blocker @story:colony-registration
  Scenario: The colony is registered and found with its identity
    When the colony is looked up in discovery
    Then discovery knows the colony with its public key, its endpoints and its mesh address
    And the identity discovery gives is the one the colony reports itself

  @severity:critical @story:lease
  Scenario: The colony's lease is renewed while it lives
    When the colony is looked up twice, one registration period apart
    Then the colony renewed its lease in between

  @severity:critical @story:lease @needs:short_ttl
  Scenario: A lease expires when its colony stops renewing it
    Given a colony of this run registered in discovery with a key of its own
    When that colony stops renewing its lease
    Then discovery forgets that colony once its lease has run out

  @severity:normal @story:lookup
  Scenario: Looking up a mesh nobody registered is a clean not-found
    When a mesh that nobody registered is looked up
    Then discovery answers that the mesh was not found

  @severity:critical @story:split-brain
  Scenario: A second colony cannot take over a mesh id
    Given a colony of this run registered in discovery with a key of its own
    When another colony claims the same mesh id with a different key
    Then discovery refuses the claim because the mesh is already registered
    And the owner renews the mesh id with its own key
