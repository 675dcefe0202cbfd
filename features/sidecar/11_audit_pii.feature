@sidecar @epic:sidecar @feature:audit-pii @severity:critical @needs:audit_log
Feature: An audit log without personal data or credentials
  Every security-relevant action lands in the audit log with the right tenant; personal data in
  prompts is masked there, and no credential is ever written.

  Background:
    Given the chat upstream answers explained chats

  Scenario: Personal data in a prompt reaches the audit log only masked
    When tenant A asks for an explained chat whose prompt holds an e-mail address, a phone number and a long number
    Then the audit snippet of that chat holds only their masks, within 64 characters
    And scrubbing that snippet again changes nothing

  @needs:tenants
  Scenario: The audit log records every action and never a credential
    When tenant A chats, cancels the trace and registers a webhook on it, the read-only caller is refused and tenant A reads too fast
    Then the audit log records each of those actions for the right tenant
    And no audit line holds an authorization field or any token
    And every new audit line is a JSON object
