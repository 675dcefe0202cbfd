@salus @epic:salus @feature:agent-installs
Feature: Agent installs
  An agent install tells every matching envoy to download an agent release and keep it in its
  data directory, where the envoy runs it from.

  @severity:critical @story:install
  Scenario: An envoy with no matching install holds no agent
    Given an envoy attached in this run's private zone for a new resource
    Then the envoy's data directory holds no agent

  @severity:critical @story:install
  Scenario: An agent install lands in the envoy's data directory
    Given an envoy attached in this run's private zone for a new resource
    When the telegraf release is installed on that resource
    Then the agent binary appears at the release's exact path in the envoy's data directory
    And the agent's current link points at that release version

  @severity:minor @story:uninstall @known_issue:uninstall-ignored
  Scenario: Deleting an install removes the agent from an attached envoy
    Given an envoy attached in this run's private zone for a new resource
    And the telegraf release is installed on that resource
    When the agent install is deleted
    Then the agent binary is removed from the envoy's data directory
