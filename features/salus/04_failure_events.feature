@salus @epic:salus @feature:failure-events
Feature: Failure events
  Monitors run by envoys feed the event engine; an event task turns a failing check into a
  CRITICAL event and a passing one back into OK.

  @severity:blocker @story:tcp-monitor
  Scenario: A TCP monitor on a closed port raises a critical event
    Given an envoy running the telegraf agent in this run's private zone
    And an event task that raises CRITICAL for failed TCP checks of this run's resource
    And the platform's events are being watched
    When a TCP monitor in the private zone checks a port proven closed
    Then a CRITICAL TCP check event is published for this run's resource and tenant

  @severity:critical @story:policy-monitor @needs:admin @needs:public_zone
  Scenario: An account-type HTTP policy monitor in a public zone raises a critical event
    Given an envoy running the telegraf agent in this run's private zone
    And an event task that raises CRITICAL for failed HTTP checks of this run's resource
    And the platform's events are being watched
    When an account-type HTTP policy monitor in the public zone checks an address proven closed
    Then a CRITICAL HTTP check event is published for this run's resource and tenant

  @severity:critical @story:recovery
  Scenario: A TCP target that starts accepting connections recovers to OK
    Given an envoy running the telegraf agent in this run's private zone
    And an event task that raises CRITICAL for failed TCP checks of this run's resource
    And the platform's events are being watched
    And a TCP monitor in the private zone checks a port proven closed
    And a CRITICAL TCP check event has been published for this run's resource
    When the TCP target starts accepting connections
    Then an OK TCP check event is published for this run's resource and tenant
