@sidecar @epic:sidecar @feature:capacity @severity:minor @needs:analyzer
Feature: Capacity against the attach rate
  The system's attach-rate analyzer reads this run's status store and audit log; its replica
  recommendation for the run's concurrency must fit the chart's autoscaling bounds.

  Background:
    Given the chat upstream answers explained chats

  Scenario: The analyzer's recommendation fits the chart's replica bounds
    Given tenant A has explained chats in the status store
    When the system's attach-rate analyzer runs on the status store and the audit log
    Then its recommendation for the run's concurrency fits the chart's replica bounds
