@sidecar @epic:sidecar @feature:deploy-artifacts @severity:normal @needs:helm
Feature: The system's deploy artifacts
  The chart renders with Helm into the objects the system needs, and the GitOps application
  deploys that very chart.

  Scenario: The chart renders with Helm and holds the specified kinds of objects
    When the system's chart is rendered with Helm
    Then it holds deployments, services, disruption budgets, network policies and a scaled object
    And the chart's objects carry the specified names and labels

  @needs:argocd
  Scenario: The ArgoCD application deploys that chart
    Then the ArgoCD application of the system points at the chart's path and syncs automatically
