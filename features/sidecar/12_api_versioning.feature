@sidecar @epic:sidecar @feature:api-versioning @severity:normal
Feature: API versioning and change management
  The public API lives under /v1, the change rules are written down, and graphs declare the
  frozen HIF version at runtime.

  @needs:openapi
  Scenario: Every API path is versioned under /v1
    Then the API description lists the seven specified paths, all under /v1 and none under /v2

  @needs:change_doc
  Scenario: The change-management document states the required rules
    Then the change-management document requires ADRs, a release freeze, deprecation windows and /v1 stability

  Scenario: Completed graphs declare the frozen hif-1 version at runtime
    Given the chat upstream answers explained chats
    And a completed trace of tenant A
    Then its graph declares the version hif-1
