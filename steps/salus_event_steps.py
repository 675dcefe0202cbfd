"""Steps of the failure-events feature: event tasks, monitors on closed ports, events on Kafka."""
from __future__ import annotations

from behave import given, then, when

from support.salus.world import world_of

#: Business words in the Gherkin → telegraf measurement (metric group) of the check.
CHECKS = {"TCP": "net_response", "HTTP": "http_response"}


@given("an envoy of the tenant attached in another zone, which must not run the check")
def decoy_poller(context):
    context.scenario_state["decoy"] = world_of(context).fixtures.decoy_poller()


@given("an envoy running the telegraf agent in this run's private zone")
def monitoring_envoy(context):
    context.scenario_state["envoy"] = world_of(context).fixtures.monitoring_envoy()


@given("an event task that raises CRITICAL for failed {check} checks of this run's resource")
def event_task(context, check):
    context.scenario_state["task"] = world_of(context).fixtures.event_task(CHECKS[check])


@given("the platform's events are being watched")
def watch_events(context):
    world = world_of(context)
    context.scenario_state["event_watch"] = world.watch("events")
    # the check results behind the events: which poller ran them, in which zone
    context.scenario_state["metric_watch"] = world.watch("metrics")


@when("a TCP monitor in the private zone checks a port proven closed")
@given("a TCP monitor in the private zone checks a port proven closed")
def tcp_monitor(context):
    context.scenario_state["monitor"] = world_of(context).fixtures.tcp_monitor_on_closed_port()


@when("an account-type HTTP policy monitor in the public zone checks an address proven closed")
def policy_monitor(context):
    context.scenario_state["monitor"] = world_of(context).fixtures.http_policy_monitor_on_closed_port()


@then("a {state} {check} check event is published for this run's resource and tenant")
@then("an {state} {check} check event is published for this run's resource and tenant")
def event_published(context, state, check):
    task = context.scenario_state.get("task") or {}
    state_ = context.scenario_state
    state_["event"] = world_of(context).expect.event(state_["event_watch"], CHECKS[check], state, state_["monitor"],
                                                     task_id=task.get("id"), results=state_.get("metric_watch"))


@then("an {state} {check} check event follows for this run's resource and tenant")
def event_follows(context, state, check):
    """A recovery: the state after the CRITICAL one the scenario saw."""
    task = context.scenario_state.get("task") or {}
    state_ = context.scenario_state
    world_of(context).expect.event(state_["event_watch"], CHECKS[check], state, state_["monitor"],
                                   task_id=task.get("id"), previous="CRITICAL", results=state_.get("metric_watch"))


@then("the check was run by the {kind} zone's poller")
def checked_by_poller(context, kind):
    world = world_of(context)
    monitor = context.scenario_state["monitor"]
    assert monitor.public_zone == (kind == "public"), f"the monitor is not in a {kind} zone"
    pollers = set() if monitor.public_zone else world.expect.envoy_ids(world.fixtures.monitoring_envoy())
    world.expect.checked_by(context.scenario_state["metric_watch"], monitor, pollers,
                            own=world.expect.envoy_ids(*world.envoys), event=context.scenario_state.get("event"))


@when("the TCP target starts accepting connections")
@when("the HTTP target starts answering")
def open_target(context):
    world_of(context).fixtures.open_target(context.scenario_state["monitor"])
