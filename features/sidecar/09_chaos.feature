@sidecar @epic:sidecar @feature:chaos-recovery @severity:critical @needs:chaos
Feature: Recovery from injected failures
  With attribution failing on purpose, new traces fail with the specified error and are counted
  as failed; once the chaos is switched off, new traces complete again.

  Background:
    Given the chat upstream answers explained chats

  Scenario: Failing attribution fails new traces, and traces recover when chaos is off
    Given the chaos control is cleared and a baseline trace completes
    When the chaos control fails every attribution
    Then a new trace fails with the attribution chaos error
    And the explainer counts that failed job
    When the chaos control is cleared
    Then a new trace completes again
