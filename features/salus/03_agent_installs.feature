@salus @epic:salus @feature:agent-installs
Feature: Agent installs
  An agent install tells every envoy its label selector matches — and no other — to download an
  agent release and keep it in its data directory, where the envoy runs it from.

  @severity:critical @story:install
  Scenario: An agent install lands only in the data directory of the envoy it selects
    Given an envoy attached in this run's private zone for a new resource
    And a second envoy attached in this run's private zone for a resource the install will not select
    When the telegraf release is installed on the first envoy's resource
    Then the agent binary appears at the release's exact path in the first envoy's data directory
    And the agent's current link resolves to that release version
    And the second envoy's data directory holds no agent

  @severity:minor @story:uninstall @known_issue:uninstall-ignored
  Scenario: Deleting an install removes the agent from an attached envoy
    Given an envoy attached in this run's private zone for a new resource
    And the telegraf release is installed on that resource
    When the agent install is deleted
    Then the agent binary is removed from the envoy's data directory
