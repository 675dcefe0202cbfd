@sidecar @epic:sidecar @feature:backpressure @severity:critical
Feature: Backpressure under load keeps chats fast and explanations coming
  Under a load above the write limit the gateway sheds chats with a retry hint, and the
  explanations of the chats it accepted still arrive. When the explanation lane is overloaded,
  it degrades or sheds explanations, never the chat itself.

  Background:
    Given the chat upstream answers explained chats

  Scenario: Under load excess chats are shed and the accepted ones still get graphs
    When the load runs with the profile's duration, concurrency and attach rate
    Then the load summary is attached to the report
    And the chats beyond tenant A's write limit were shed with a retry hint and counted
    And the explainer's backpressure signals during the load are recorded
    And at least one sampled attached trace serves a valid HIF v1 graph

  @needs:chaos @needs:backpressure_signals
  Scenario: An explanation-lane spike degrades explanations, not chats
    When the chaos control raises a soft backpressure spike
    And tenant A asks for an explained chat at token granularity
    Then the chat is answered at once
    And the trace completes with its backpressure level and degrade actions recorded
    When the chaos control raises a hard backpressure spike
    And tenant A asks for an explained chat at token granularity
    Then the chat is answered at once
    And the trace is shed by backpressure and the explainer counts the drop
