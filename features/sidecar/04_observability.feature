@sidecar @epic:sidecar @feature:observability @severity:normal
Feature: Metrics that operators can trust
  The gateway and the explainer export the specified metric families; counters move by exactly
  the traffic that happened, and no label ever carries a trace id, so the series stay bounded.

  Background:
    Given the gateway exports metrics

  Scenario: The gateway exports the specified metric families
    Given a completed trace of tenant A
    Then the gateway's metrics hold every specified family, with request duration as a histogram

  @needs:tenant_a
  Scenario: Counters move by exactly this scenario's traffic
    Given a completed trace of tenant A
    When tenant A reads the status of that trace 3 times and its graph 2 times
    Then tenant A's status-read counter rose by exactly 3 and its graph-read counter by exactly 2
    And the request counter of the templated status path rose by exactly 3 for tenant A

  Scenario: No metric label carries a trace id and the series stay bounded
    When tenant A completes 5 explained chats and reads each status
    Then no metric label of the gateway or the explainer carries a trace id
    And the gateway's series grew by fewer than the 5 new traces

  @needs:explainer_metrics
  Scenario: The explainer exports its job and stage metrics
    Given a completed trace of tenant A
    Then the explainer's metrics count the completed job and time each stage
