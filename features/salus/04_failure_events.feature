@salus @epic:salus @feature:failure-events
Feature: Failure events
  Monitors run by the poller of their zone — no other envoy of the tenant — feed the event engine;
  an event task turns the first failing check into a CRITICAL event and, once the target is
  healthy again, the check back into OK.

  @severity:blocker @story:tcp-monitor
  Scenario: A TCP check raises CRITICAL while its port is closed and recovers to OK once it accepts connections
    Given an envoy of the tenant attached in another zone, which must not run the check
    And an envoy running the telegraf agent in this run's private zone
    And an event task that raises CRITICAL for failed TCP checks of this run's resource
    And the platform's events are being watched
    When a TCP monitor in the private zone checks a port proven closed
    Then a CRITICAL TCP check event is published for this run's resource and tenant
    And the check was run by the private zone's poller
    When the TCP target starts accepting connections
    Then an OK TCP check event follows for this run's resource and tenant

  @severity:critical @story:policy-monitor @needs:admin @needs:public_zone
  Scenario: An account-type HTTP policy monitor in a public zone raises CRITICAL and recovers to OK once its address answers
    Given an envoy of the tenant attached in another zone, which must not run the check
    And an envoy running the telegraf agent in this run's private zone
    And an event task that raises CRITICAL for failed HTTP checks of this run's resource
    And the platform's events are being watched
    When an account-type HTTP policy monitor in the public zone checks an address proven closed
    Then a CRITICAL HTTP check event is published for this run's resource and tenant
    And the check was run by the public zone's poller
    When the HTTP target starts answering
    Then an OK HTTP check event follows for this run's resource and tenant
