@sidecar @epic:sidecar @feature:tenant-isolation @severity:blocker @needs:tenants
Feature: Tenant isolation and an immutable owner
  A trace belongs to the tenant that created it: another tenant can neither see it nor act on it,
  and the owner recorded in the status store never changes.

  Background:
    Given the gateway enforces access control
    And the chat upstream answers explained chats

  Scenario: Another tenant can neither see nor touch a trace
    Given a completed trace of tenant A
    When tenant B reads its status, graph and stream, registers a webhook on it and cancels it
    Then each of tenant B's attempts is refused as forbidden or not found
    And tenant A's trace is unchanged

  @needs:tenant_b_write @needs:status_store
  Scenario: The status store keeps the owner when another tenant reuses the trace id
    Given a completed trace of tenant A
    When tenant B asks for an explained chat with the same trace id
    Then the status store still names tenant A as the owner of that trace, with its lifecycle fields
    And tenant A still reads its trace unchanged
