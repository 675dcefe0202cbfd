@salus @epic:salus @feature:monitor-binding
Feature: Monitor binding
  A monitor that selects resources by their labels is bound to exactly the resources whose labels
  all match, in each zone it names — never to a resource that matches only in part.

  @severity:critical @story:label-selector
  Scenario: A monitor selecting by labels is bound only to the resources it selects
    Given a private zone for this run
    And a resource labelled as this run's target
    And a decoy resource that shares all but one of the target's labels, with a monitor of its own
    When a TCP monitor in the private zone selects resources by the target's labels
    Then the platform binds the monitor to the target resource only, in the private zone
