"""A curated set of sandbox mutations: small code changes a real platform regression could look
like, in the sandbox modules whose behaviour the @salus specs observe.

Fault switches prove that each scenario *can* fail; mutations ask the harder question — would a
plausible bug we did not think of make the suite red? Each one is applied to a scratch copy of
the tree (``mutation_runner``), the real specs run against a sandbox started from that copy, and a
mutation is *killed* when the run fails. ``survives`` names the mutations the suite is known not to
kill, with the reason; every other one must be killed.
"""
from __future__ import annotations

from dataclasses import dataclass

AMB = "sandbox/salus/ambassador.py"
PRES = "sandbox/salus/presence.py"
ENGINE = "sandbox/salus/event_engine.py"
EXPR = "sandbox/salus/expressions.py"
UMF = "sandbox/salus/umf.py"
LABELS = "sandbox/salus/labels.py"
FORMATS = "sandbox/salus/event_formats.py"
BIND = "sandbox/salus/domain/bindings.py"
ATTACH = "sandbox/salus/domain/attachments.py"
CATALOG = "sandbox/salus/domain/catalog.py"
TOKENS = "sandbox/salus/domain/tokens.py"
ZONES = "sandbox/salus/domain/zones.py"
API = "sandbox/salus/http/public_api.py"
AGENTS = "sandbox/salus/envoy/agents.py"
ENVOY = "sandbox/salus/envoy/connection.py"
TELEGRAF = "sandbox/salus/agent/telegraf.py"


@dataclass(frozen=True)
class Mutation:
    id: str
    path: str
    old: str
    new: str
    why: str
    survives: str = ""      # why the suite cannot see it (known survivor), else it must be killed


MUTATIONS: list[Mutation] = [
    # --- ambassador: attach, metrics, configuration -------------------------------------------
    Mutation("attach-event-tenant", AMB, '"tenantId": tenant, "envoyAddress"',
             '"tenantId": envoy.resource_id, "envoyAddress"', "AttachEvent names the resource as tenant"),
    Mutation("attach-event-resource", AMB, '{"resourceId": envoy.resource_id, "labels": envoy.labels, "envoyId"',
             '{"resourceId": envoy_id, "labels": envoy.labels, "envoyId"',
             "AttachEvent names the envoy id as resource"),
    Mutation("labels-unprefixed", AMB, 'labels={f"agent_{k}": v for k, v in request.labels.items()}',
             "labels=dict(request.labels)", "envoy labels stored without the agent_ namespace"),
    Mutation("remote-metric-own-resource", AMB, 'system.setdefault("resource_id", envoy.resource_id)',
             'system["resource_id"] = envoy.resource_id',
             "remote check results attributed to the poller's resource, not the monitored one"),
    Mutation("remote-metric-poller-tenant", AMB, 'tenant = tags.pop("target_tenant", None) or envoy.tenant_id',
             'tags.pop("target_tenant", None)\n        tenant = envoy.tenant_id',
             "remote check results attributed to the poller's tenant, not the monitor owner"),
    Mutation("metric-envoy-id-missing", AMB, '        system["envoy_id"] = envoy.envoy_id\n', "",
             "metrics no longer say which envoy posted them"),
    Mutation("configure-monitor-id", AMB, 'labels = {"monitor_id": b["monitorId"],',
             'labels = {"monitor_id": b["resourceId"],',
             "configure ops label results with the resource id as monitor id"),
    Mutation("detach-forgotten", AMB, "            if session.detached:\n                return",
             "            if True:\n                return", "a closed stream is never detached"),
    Mutation("remove-ops-never-sent", AMB, "for op_id in [o for o in session.ops_sent if o not in wanted]:",
             "for op_id in []:", "deleted monitors are never removed from the envoy",
             survives="the run only deletes monitors in cleanups, and nothing checks afterwards that a deleted "
                      "monitor's checks stop (that needs a wait for an absence in every event scenario)"),
    # --- presence monitor ---------------------------------------------------------------------------
    Mutation("presence-always-connected", PRES, "connected=envoy_id is not None and not zero", "connected=not zero",
             "every expected resource reported connected"),
    Mutation("presence-wrong-resource", PRES, '"resource_id": rid, "monitor_type": "presence"',
             '"resource_id": tenant, "monitor_type": "presence"', "presence reports name the tenant as resource"),
    # --- event engine, expressions, UMF, formats -----------------------------------------------------
    Mutation("consecutive-off-by-one", ENGINE, "if zs.count >= consecutive:", "if zs.count > consecutive:",
             "a state needs one more consecutive result than the task asks for"),
    Mutation("quorum-unreachable", ENGINE, "tally.get(s, 0) >= quorum", "tally.get(s, 0) > quorum",
             "zone quorum can never be reached"),
    Mutation("previous-state-lost", ENGINE, "previous, self.state = self.state, new", "previous = self.state = new",
             "events name their own state as the previous one"),
    Mutation("initial-ok-announced", ENGINE, 'if previous is None and new == "OK":', "if False:",
             "the initial null → OK transition is announced",
             survives="every event scenario starts failing, so no initial OK can occur; announcing one is "
                      "harmless noise no scenario is shaped to see"),
    Mutation("not-equal-is-equal", EXPR, '"!=": lambda: a != b', '"!=": lambda: a == b',
             "the != comparator evaluates as =="),
    Mutation("system-labels-unprefixed", UMF, 'labels.update({f"system_{k}": str(v)',
             'labels.update({f"{k}": str(v)', "system metadata reaches tasks without the system_ prefix"),
    Mutation("notification-labels-empty", FORMATS, '"labels": dict(g.labels)}', '"labels": {}}',
             "event notifications lose the labels of the triggering metric"),
    Mutation("notification-task-id", FORMATS, '"taskId": str(task["id"]),\n            "state"',
             '"taskId": str(task["name"]),\n            "state"', "events name the task by its name, not its id"),
    Mutation("notification-previous-null", FORMATS, '"previousState": previous, "observations"',
             '"previousState": None, "observations"', "events never carry the previous state"),
    # --- label selectors ----------------------------------------------------------------------------
    Mutation("selector-keys-only", LABELS, "hits.append(want is not None and label_text(labels.get(key)) == want)",
             "hits.append(key in labels)", "a selector matches any resource that has its keys"),
    Mutation("selector-and-is-or", LABELS, 'return any(hits) if (method or "AND").upper() == "OR" else all(hits)',
             "return any(hits)", "AND selectors match on any one label"),
    Mutation("empty-selector-matches-nothing", LABELS, "    if not selector:\n        return True",
             "    if not selector:\n        return False", "an empty selector selects nothing instead of everything"),
    # --- monitor management: binding, rendering ------------------------------------------------------
    Mutation("poller-any-zone", BIND,
             "candidates = [e for e in self.registry.all() if e.zone == zone and e.tenant_id == owner]",
             "candidates = [e for e in self.registry.all() if e.tenant_id == owner]",
             "the poller is any attached envoy of the zone's owner, in whatever zone"),
    Mutation("poller-other-tenant", BIND,
             "candidates = [e for e in self.registry.all() if e.zone == zone and e.tenant_id == owner]",
             "candidates = [e for e in self.registry.all() if e.zone == zone]",
             "a zone's poller may be another tenant's envoy",
             survives="no other tenant attaches an envoy to this run's private zone (zone names are per tenant "
                      "and run-unique), so the looser rule picks the same poller"),
    Mutation("net-port-off-by-one", BIND, "\"address\": f\"{rest.pop('host')}:{int(rest.pop('port'))}\"",
             "\"address\": f\"{rest.pop('host')}:{int(rest.pop('port')) + 1}\"",
             "TCP checks probe the port after the configured one"),
    Mutation("monitor-interval-ignored", AGENTS,
             "            lines.append(f'  interval = \"{int(op[\"interval\"])}s\"')\n",
             "", "the envoy renders inputs without their interval (telegraf's 60 s default applies)"),
    Mutation("bound-monitors-filter-ignored", API,
             'd.bindings.listed(ten, r.query.get("resourceId"), r.query.get("monitorId"))',
             "d.bindings.listed(ten)", "bound-monitors ignores its resourceId/monitorId filters"),
    # --- resources, attachments, installs, tokens, zones ------------------------------------------
    Mutation("attach-labels-not-stored", ATTACH, '            r["labels"].update(envoy.labels)\n', "",
             "an attach stores none of the envoy's labels on its resource"),
    Mutation("detach-history-open", ATTACH, '            h["disconnectedAt"] = now_iso()\n', "",
             "agent history never records a disconnect"),
    Mutation("install-lowest-version-wins", CATALOG,
             'if cur is None or version_key(rel["version"]) > version_key(cur["agentRelease"]["version"]):',
             'if cur is None or version_key(rel["version"]) < version_key(cur["agentRelease"]["version"]):',
             "of several matching installs the lowest version wins",
             survives="no scenario has two releases installed on one resource (an upgrade would need a second, "
                      "older valid release for this platform in every real catalogue)"),
    Mutation("tokens-of-every-tenant", TOKENS, 'return self.store.list("envoy_token", tenant)',
             'return self.store.list("envoy_token")', "envoy-token lists include other tenants' tokens"),
    Mutation("public-zones-unlisted", ZONES,
             'zones = self.store.list("zone", PUBLIC) + self.store.list("zone", tenant)',
             'zones = self.store.list("zone", tenant)', "a tenant's zone list omits the public zones"),
    # --- the envoy stand-in and telegraf -------------------------------------------------------------
    Mutation("current-link-dangling", AGENTS, "tmp_link.symlink_to(version)",
             'tmp_link.symlink_to(version + ".tmp")', "CURRENT points at a version directory that does not exist"),
    Mutation("current-link-absolute", AGENTS, "tmp_link.symlink_to(version)", "tmp_link.symlink_to(version_dir)",
             "CURRENT is an absolute link (the layout says relative)"),
    Mutation("config-tags-dropped", AGENTS, '        if op.get("extraLabels"):\n            lines.append',
             '        if False:\n            lines.append',
             "the envoy drops the monitor labels from telegraf's config"),
    Mutation("reload-not-signalled", AGENTS, "                    self.proc.send_signal(signal.SIGHUP)\n",
             "                    pass\n", "a running telegraf is never told to reload"),
    Mutation("hostname-misreported", ENVOY, '"discovered_hostname": socket.gethostname()',
             '"discovered_hostname": "localhost"', "the envoy reports a wrong hostname"),
    Mutation("telegraf-never-flushes", TELEGRAF, "            if not early and stop.wait(",
             "            if True or stop.wait(",
             "telegraf writes nothing on its flush schedule (only when it stops or reloads)"),
    Mutation("telegraf-tags-dropped", TELEGRAF, '"tags": {**tags, **extra}', '"tags": tags',
             "telegraf drops an input's tags"),
]
