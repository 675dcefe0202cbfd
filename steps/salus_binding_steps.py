"""Steps of the monitor-binding feature: a label-selected monitor next to a decoy resource."""
from __future__ import annotations

from behave import given, then, when

from support.salus.world import world_of


@given("a resource labelled as this run's target")
def target_resource(context):
    fixtures = world_of(context).fixtures
    labels = fixtures.binding_labels("target")
    context.scenario_state["target_labels"] = labels
    context.scenario_state["target"] = fixtures.resource(labels=labels)


@given("a decoy resource that shares all but one of the target's labels, with a monitor of its own")
def decoy_resource(context):
    """The decoy's own monitor gives the tenant a binding that must not show up among the target's."""
    fixtures = world_of(context).fixtures
    labels = fixtures.binding_labels("decoy")
    context.scenario_state["decoy"] = fixtures.resource(labels=labels)
    fixtures.label_selected_monitor(context.scenario_state["zone"], labels)


@when("a TCP monitor in the private zone selects resources by the target's labels")
def selected_monitor(context):
    state = context.scenario_state
    state["monitor"] = world_of(context).fixtures.label_selected_monitor(state["zone"], state["target_labels"])


@then("the platform binds the monitor to the target resource only, in the private zone")
def bound_to_target_only(context):
    state = context.scenario_state
    world_of(context).expect.bound_only(state["monitor"]["id"], {(state["target"], state["zone"])})
