@salus @epic:salus @feature:test-run-setup
Feature: Test run setup
  Before anything else is checked, the platform's identity, agent catalog and zones must be
  ready for this run, and the dedicated e2et tenant must hold only what e2et runs put there.

  @severity:blocker @story:identity @needs:admin
  Scenario: Identity issues tokens to the regular and the admin user
    When the regular user signs in with Identity
    And the admin user signs in with Identity
    Then both users hold a token that the platform accepts

  @severity:critical @story:agent-catalog
  Scenario: The agent catalog offers a telegraf release for this platform
    When the agent catalog is searched for the newest telegraf release for this platform
    Then that release names a download and the executable inside it

  @severity:critical @story:zones @needs:public_zone
  Scenario: A private zone is created for this run
    When a private zone with a name unique to this run is created
    Then the tenant's zones include that private zone
    And the tenant's zones include the public zone used for policy monitors

  @severity:critical @story:tenant-isolation
  Scenario: The tenant sees only its own envoy tokens
    Given an envoy token created for this run
    When the tenant's envoy tokens are listed
    Then every listed envoy token belongs to the tenant
    And the token created for this run is among them

  @severity:normal @story:housekeeping
  Scenario: Leftovers of an earlier, dead e2et run are removed from the dedicated tenant
    Given leftovers of an earlier e2et run that is no longer alive: resources, a zone, a monitor, an event task, an envoy token and an agent install
    And a resource and an envoy token that belong to this run
    When stale e2et objects are cleaned from the dedicated tenant
    Then none of the earlier run's leftovers remain
    And what belongs to this run is untouched
