@coral @epic:coral @feature:coral-otlp @needs:mesh_hosts @needs:otel_app
Feature: OpenTelemetry traces reach the colony through the mesh (L1)
  A test app next to an agent exports its traces to that agent. The agent keeps them; the colony
  polls them through the tunnel and folds them into one-minute summaries. No data within the
  budget is a failure, never a pass.

  Background:
    Given the OpenTelemetry test app has served this run's traffic of user lookups, product lookups and checkouts

  @severity:blocker @story:ingestion
  Scenario: The app's agent holds this run's spans with their attributes
    Then the app's agent holds a server span with trace and span ids for every request of this run
    And every user lookup has a database query child span on a postgresql database
    And every product lookup has a cache lookup child span for the products key

  @severity:critical @story:errors
  Scenario: Failed checkouts are visible as the contract says they can be observed
    Then some checkouts of this run failed with 500
    And exactly the failed checkouts carry http status 500 and the error attribute on their server span

  @severity:critical @story:correlation
  Scenario: A checkout trace is correlated across its steps
    Then every checkout of this run is one trace with one root and one to five step spans
    And every successful checkout ran all five steps

  @severity:blocker @story:aggregation @needs:sample_rate_1
  Scenario: The colony's one-minute summaries match the traffic
    Then the colony's one-minute summaries of the app count every server span the agent holds, bucket by bucket
    And their P50, P95 and P99 are the agent's span durations at the contract's percentile rule
    And the summaries are attributed to the app's agent
