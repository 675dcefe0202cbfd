@sidecar @epic:sidecar @feature:slo @severity:critical
Feature: Explanation latency objectives under load
  Measured from the chat's answer to the first status that shows the trace ended, the 95th
  percentile stays within the objective of its granularity.

  Background:
    Given the chat upstream answers explained chats

  Scenario: Explanations meet their latency objectives under load
    Given the load of this run has completed explanations
    Then the sentence explanations' 95th percentile latency is within the sentence objective
    And the token explanations' 95th percentile latency is within the token objective
