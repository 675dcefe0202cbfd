@salus @epic:salus @feature:envoy-presence
Feature: Envoy presence
  When an envoy starts on a server, the platform must notice it: the ambassador announces the
  attach, the presence monitor reports the server as connected, and the server appears as a
  resource labelled with what the envoy discovered. When the envoy stops, the platform must
  stop reporting it connected.

  @severity:blocker @story:attach
  Scenario: A new envoy attaches and is seen by the platform
    Given a private zone for this run
    And the platform's attach events and presence reports are being watched
    When an envoy starts in the private zone for a new resource
    Then an attach event is published for exactly that resource and tenant
    And the presence monitor reports that resource as connected
    And the tenant's resources include it with the labels the envoy discovered

  @severity:critical @story:disconnect
  Scenario: An envoy that stops is no longer reported connected
    Given an envoy attached in this run's private zone for a new resource
    And the platform's presence reports are being watched
    When the envoy stops
    Then the presence monitor reports that resource as disconnected
    And the agent history shows that envoy's connection as ended
