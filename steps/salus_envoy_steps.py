"""Steps of envoy presence and agent installs: the envoy child process and its data directory."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, equal_to, has_entries, is_

from support.salus.world import world_of


@given("the platform's attach events and presence reports are being watched")
def watch_attach_and_presence(context):
    world = world_of(context)
    context.scenario_state["attach_watch"] = world.watch("attaches")
    context.scenario_state["metric_watch"] = world.watch("metrics")


@given("the platform's presence reports are being watched")
def watch_presence(context):
    context.scenario_state["metric_watch"] = world_of(context).watch("metrics")


@when("an envoy starts in the private zone for a new resource")
def start_envoy(context):
    context.scenario_state["envoy"] = world_of(context).fixtures.envoy(context.scenario_state["zone"])


@given("an envoy attached in this run's private zone for a new resource")
def attached_envoy(context):
    context.scenario_state["envoy"] = world_of(context).fixtures.attached_envoy()


@given("a second envoy attached in this run's private zone for a resource the install will not select")
def second_envoy(context):
    context.scenario_state["other_envoy"] = world_of(context).fixtures.attached_envoy()


@when("the envoy stops")
def envoy_stops(context):
    context.scenario_state["envoy"].stop()


@then("an attach event is published for exactly that resource and tenant")
def attach_event(context):
    world = world_of(context)
    envoy = context.scenario_state["envoy"]
    event = world.expect.attach_event(context.scenario_state["attach_watch"], envoy)
    assert_that(event, has_entries(resourceId=envoy.resource_id, tenantId=world.tenant_id))


@then("the presence monitor reports that resource as connected")
def presence_connected(context):
    world_of(context).expect.presence(context.scenario_state["metric_watch"],
                                      context.scenario_state["envoy"], connected=True)


@then("the presence monitor reports that resource as disconnected")
def presence_disconnected(context):
    world_of(context).expect.presence(context.scenario_state["metric_watch"],
                                      context.scenario_state["envoy"], connected=False)


@then("the agent history shows that envoy's connection as ended")
def history_closed(context):
    world_of(context).expect.detached(context.scenario_state["envoy"])


@then("the tenant's resources include it with the labels the envoy discovered")
def resource_labels(context):
    world = world_of(context)
    envoy = context.scenario_state["envoy"]
    resource = world.expect.discovered_resource(envoy.resource_id)
    labels = resource.get("labels", {})
    # what this machine's envoy discovers and was configured with, prefixed agent_ by the ambassador
    expected = {**envoy.expected_labels(), **{f"agent_{k}": v for k, v in envoy.labels.items()}}
    wrong = {k: labels.get(k) for k, v in expected.items() if labels.get(k) != v}
    assert_that(wrong, equal_to({}),
                f"resource {resource.get('resourceId')} does not carry the labels its envoy reported "
                f"(expected {expected}); has {labels}")
    assert_that(resource.get("presenceMonitoringEnabled"), is_(True))


@when("the telegraf release is installed on that resource")
@given("the telegraf release is installed on that resource")
@when("the telegraf release is installed on the first envoy's resource")
def install_release(context):
    world = world_of(context)
    context.scenario_state["install"] = world.fixtures.install(context.scenario_state["envoy"])


@then("the agent binary appears at the release's exact path in the envoy's data directory")
@then("the agent binary appears at the release's exact path in the first envoy's data directory")
def binary_at_path(context):
    world_of(context).fixtures.installed(context.scenario_state["envoy"])


@then("the agent's current link resolves to that release version")
def current_link(context):
    world = world_of(context)
    world.expect.current_link(context.scenario_state["envoy"], world.fixtures.telegraf_release())


@then("the second envoy's data directory holds no agent")
def other_holds_no_agent(context):
    world = world_of(context)
    world.expect.no_agent(context.scenario_state["other_envoy"], world.fixtures.install_settle_time())


@when("the agent install is deleted")
def delete_install(context):
    world_of(context).installs.delete(context.scenario_state["install"].id)


@then("the agent binary is removed from the envoy's data directory")
def binary_removed(context):
    world = world_of(context)
    world.expect.agent_binary_gone(context.scenario_state["envoy"], world.fixtures.telegraf_release())
