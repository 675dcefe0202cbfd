@sidecar @epic:sidecar @feature:autoscaling @severity:normal
Feature: Autoscaling policies agree with each other
  The explainer's autoscaling bounds are stated in several places; they must agree, and the
  cluster must offer the node pools the workloads ask for.

  @needs:helm @needs:argocd
  Scenario: The explainer's autoscaling bounds agree wherever they are stated
    When the system's chart is rendered with Helm
    Then the explainer's minimum and maximum replicas and backlog target agree across the values, the rendered scaled object and the ArgoCD values
    And the scaled object template takes its bounds and threshold from the values

  @needs:karpenter
  Scenario: The cluster offers a general pool and an accelerator pool
    Then Karpenter defines the CPU and GPU node pools with their node classes, and the GPU pool requires an accelerator
