"""Steps of the failure-events feature: event tasks, monitors on closed ports, events on Kafka."""
from __future__ import annotations

from behave import given, then, when

from support.salus.world import world_of

#: Business words in the Gherkin → telegraf measurement (metric group) of the check.
CHECKS = {"TCP": "net_response", "HTTP": "http_response"}


@given("an envoy running the telegraf agent in this run's private zone")
def monitoring_envoy(context):
    context.scenario_state["envoy"] = world_of(context).fixtures.monitoring_envoy()


@given("an event task that raises CRITICAL for failed {check} checks of this run's resource")
def event_task(context, check):
    world_of(context).fixtures.event_task(CHECKS[check])


@given("the platform's events are being watched")
def watch_events(context):
    context.scenario_state["event_watch"] = world_of(context).watch("events")


@when("a TCP monitor in the private zone checks a port proven closed")
@given("a TCP monitor in the private zone checks a port proven closed")
def tcp_monitor(context):
    context.scenario_state["monitor"] = world_of(context).fixtures.tcp_monitor_on_closed_port()


@when("an account-type HTTP policy monitor in the public zone checks an address proven closed")
def policy_monitor(context):
    context.scenario_state["monitor"] = world_of(context).fixtures.http_policy_monitor_on_closed_port()


@then("a {state} {check} check event is published for this run's resource and tenant")
@then("an {state} {check} check event is published for this run's resource and tenant")
@given("a {state} {check} check event has been published for this run's resource")
def event_published(context, state, check):
    world_of(context).expect.event(context.scenario_state["event_watch"], CHECKS[check], state,
                                   context.scenario_state["monitor"])


@when("the TCP target starts accepting connections")
def open_target(context):
    world_of(context).fixtures.open_target(context.scenario_state["monitor"])
