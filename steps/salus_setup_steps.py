"""Steps of the test-run setup feature: identity, agent catalog, zones, isolation, housekeeping."""
from __future__ import annotations

from behave import given, then, when
from hamcrest import assert_that, empty, equal_to, has_item, not_none

from support.salus.models import EnvoyToken
from support.salus.world import world_of


@when("the regular user signs in with Identity")
def sign_in_regular(context):
    context.scenario_state["regular_token"] = world_of(context).token("regular")


@when("the admin user signs in with Identity")
def sign_in_admin(context):
    context.scenario_state["admin_token"] = world_of(context).token("admin")


@then("both users hold a token that the platform accepts")
def both_tokens_accepted(context):
    world = world_of(context)
    for who in ("regular", "admin"):
        token = context.scenario_state[f"{who}_token"]
        assert_that(token, not_none(), f"{who} user got no token from Identity")
        world.assert_token_accepted(who)


@when("the agent catalog is searched for the newest telegraf release for this platform")
def search_release(context):
    context.scenario_state["release"] = world_of(context).fixtures.telegraf_release()


@then("that release names a download and the executable inside it")
def release_is_valid(context):
    release = context.scenario_state["release"]
    assert_that(release.url, not_none(), f"release {release.id} has no download url")
    assert_that(release.exe, not_none(), f"release {release.id} names no executable")
    assert_that(release.type, equal_to("TELEGRAF"))


@when("a private zone with a name unique to this run is created")
def create_private_zone(context):
    context.scenario_state["zone"] = world_of(context).fixtures.private_zone()


@given("a private zone for this run")
def given_private_zone(context):
    context.scenario_state["zone"] = world_of(context).fixtures.private_zone()


@then("the tenant's zones include that private zone")
def zones_include_private(context):
    names = world_of(context).zones.names()
    assert_that(names, has_item(context.scenario_state["zone"]),
                "the run's private zone is missing from the tenant's zone list")


@then("the tenant's zones include the public zone used for policy monitors")
def zones_include_public(context):
    world = world_of(context)
    assert_that(world.zones.names(), has_item(world.fixtures.public_zone()),
                "the public zone is missing from the tenant's zone list")


@given("an envoy token created for this run")
def envoy_token_for_run(context):
    context.scenario_state["envoy_token"] = world_of(context).fixtures.envoy_token()


@when("the tenant's envoy tokens are listed")
def list_envoy_tokens(context):
    context.scenario_state["tokens"] = [EnvoyToken.from_api(t) for t in world_of(context).tokens.list()]


@then("every listed envoy token belongs to the tenant")
def tokens_belong_to_tenant(context):
    tenant = world_of(context).tenant_id
    foreign = [t.id for t in context.scenario_state["tokens"] if t.tenant_id != tenant]
    assert_that(foreign, empty(), f"tenant isolation broken: tokens of other tenants listed for {tenant}")


@then("the token created for this run is among them")
def run_token_listed(context):
    ids = [t.id for t in context.scenario_state["tokens"]]
    assert_that(ids, has_item(context.scenario_state["envoy_token"].id))


@given("resources left behind by an earlier e2et run that is no longer alive")
def stale_leftovers(context):
    context.scenario_state["stale"] = world_of(context).fixtures.stale_resources(count=25)


@given("a resource that belongs to this run")
def own_resource(context):
    context.scenario_state["own"] = world_of(context).fixtures.resource()


@when("stale e2et objects are cleaned from the dedicated tenant")
def clean_stale(context):
    context.scenario_state["janitor"] = world_of(context).fixtures.clean_stale_objects()


@then("none of the earlier run's resources remain")
def stale_gone(context):
    remaining = world_of(context).resources.existing(context.scenario_state["stale"])
    assert_that(remaining, empty(), "the janitor left resources of a dead run behind")


@then("the resource that belongs to this run is untouched")
def own_untouched(context):
    own = context.scenario_state["own"]
    assert_that(world_of(context).resources.existing([own]), equal_to([own]),
                "the janitor removed a resource of a live run")
