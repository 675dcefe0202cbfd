@sidecar @epic:sidecar @feature:access-control @severity:critical @needs:tenants
Feature: Access control, the scope matrix and per-tenant rate limits
  Every route of the trace API admits only callers whose token carries the scope the route needs.
  A refused request changes nothing, is counted and lands in the audit log. A tenant that calls
  too fast is slowed down without slowing anybody else.

  Background:
    Given the gateway enforces access control

  Scenario: Callers without a valid token are refused on every protected route
    When every protected route is called without a token, with a non-bearer credential and with an unknown token
    Then every call without a token is refused as unauthorized with a bearer challenge
    And every call with a non-bearer credential is refused as unauthorized
    And every call with an unknown token is refused as forbidden
    And the health check stays open to everyone

  Scenario: Each token kind reaches exactly the routes its scopes allow
    Given a completed trace of tenant A
    When every route is called on that trace and on an unknown trace with each configured token kind
    Then every answer is the one the scope matrix specifies

  Scenario: A refused request creates nothing and is counted and audited
    When the read-only caller asks for an explained chat with a trace id of its own
    Then the chat is refused for the missing write scope
    And no trace with that id exists afterwards
    And the refusal is counted once for the read-only caller's tenant
    And the audit log records the refusal for that tenant with the missing-scope reason

  Scenario: A tenant that reads too fast is slowed down and the other tenant is not
    When tenant A reads trace status faster than its read limit allows
    Then some of those reads are refused as rate limited with a retry hint of at least one second
    And the rejections are counted for tenant A's read bucket
    And tenant B can still read at the same moment
