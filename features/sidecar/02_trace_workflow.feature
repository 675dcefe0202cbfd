@sidecar @epic:sidecar @feature:trace-workflow @severity:blocker
Feature: Asynchronous explanation of a chat, from request to graph
  A chat asked with the explain mode is answered at once and explained afterwards: its trace
  moves through its stages to completion, serves a valid HIF v1 graph, reports progress on its
  stream, tells a registered webhook when it ends, and can be canceled while it runs.

  Background:
    Given the chat upstream answers explained chats

  Scenario Outline: An explained chat at <granularity> granularity yields a valid HIF v1 graph
    When tenant A asks for an explained chat at <granularity> granularity with its own trace id
    Then the answer names that trace and says it is queued or running
    And the trace completes within the explanation timeout with full progress
    And the trace status echoes the <granularity> granularity and the feature set
    And the graph of the trace is valid HIF v1 at <granularity> granularity
    And the stored artifact of the trace holds the same graph

    Examples:
      | granularity |
      | sentence    |
      | token       |

  Scenario: The trace stream shows progress, then completion
    When tenant A asks for an explained chat at token granularity and follows its stream
    Then the stream shows status updates with rising progress, then the completion event naming the trace

  Scenario: A registered webhook hears that the trace completed
    When tenant A asks for an explained chat at token granularity and registers a webhook receiver of this run
    Then the registration is accepted with an id naming the trace
    And the receiver is told that the trace completed

  Scenario: A running trace can be canceled once, and a finished one not at all
    When tenant A asks for an explained chat at token granularity and cancels it at once
    Then the cancel is accepted and the trace is canceled
    And a second cancel of that trace is refused as a conflict
    And the trace stays canceled and never serves a graph
    And canceling a completed trace is refused as a conflict
