"""Steps of envoy presence and agent installs: the envoy child process and its data directory."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, has_entries, is_

from support.salus.world import world_of


@given("the platform's attach events and presence reports are being watched")
def watch_attach_and_presence(context):
    world = world_of(context)
    context.scenario_state["attach_watch"] = world.watch("attaches")
    context.scenario_state["metric_watch"] = world.watch("metrics")


@when("an envoy starts in the private zone for a new resource")
def start_envoy(context):
    context.scenario_state["envoy"] = world_of(context).fixtures.envoy(context.scenario_state["zone"])


@given("an envoy attached in this run's private zone for a new resource")
def attached_envoy(context):
    world = world_of(context)
    envoy = world.fixtures.envoy(world.fixtures.private_zone())
    world.expect.attached(envoy)
    context.scenario_state["envoy"] = envoy


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


@then("the tenant's resources include it with the labels the envoy discovered")
def resource_labels(context):
    world = world_of(context)
    resource = world.expect.discovered_resource(context.scenario_state["envoy"].resource_id)
    labels = resource.get("labels", {})
    missing = [k for k in ("agent_discovered_os", "agent_discovered_arch", "agent_discovered_hostname")
               if not labels.get(k)]
    assert_that(missing, empty(),
                f"resource {resource.get('resourceId')} lacks discovered labels; has {sorted(labels)}")
    assert_that(resource.get("presenceMonitoringEnabled"), is_(True))


@then("the envoy's data directory holds no agent")
def no_agent(context):
    agents = context.scenario_state["envoy"].installed_agents()
    assert_that(agents, empty(), "a fresh envoy holds agents although no install matches it")


@when("the telegraf release is installed on that resource")
@given("the telegraf release is installed on that resource")
def install_release(context):
    world = world_of(context)
    context.scenario_state["install"] = world.fixtures.install(context.scenario_state["envoy"])


@then("the agent binary appears at the release's exact path in the envoy's data directory")
def binary_at_path(context):
    world = world_of(context)
    world.expect.agent_binary(context.scenario_state["envoy"], world.fixtures.telegraf_release())


@then("the agent's current link points at that release version")
def current_link(context):
    world = world_of(context)
    release = world.fixtures.telegraf_release()
    target = world.expect.current_link_target(context.scenario_state["envoy"], release.type)
    assert_that(target, equal_to(release.version),
                f"CURRENT link of {release.type} points at {target!r}, not the installed release")


@when("the agent install is deleted")
def delete_install(context):
    world_of(context).installs.delete(context.scenario_state["install"].id)


@then("the agent binary is removed from the envoy's data directory")
def binary_removed(context):
    world = world_of(context)
    world.expect.agent_binary_gone(context.scenario_state["envoy"], world.fixtures.telegraf_release())
