"""What every stand-in (sandbox) needs, whatever system it plays — no system's names in here.

- :mod:`.faults`        fault switches: ``FaultSpec``, the thread-safe ``Faults`` registry;
- :mod:`.fault_control` the aiohttp route set of the fault control API (``GET/PUT/DELETE {base}faults``);
- :mod:`.http`          an aiohttp error middleware (errors rendered by the stand-in's own shape),
                        ``ServiceError`` and a strict JSON-object body reader;
- :mod:`.paging`        page/size query parameters and slicing (the envelope is the stand-in's);
- :mod:`.store`         a SQLite JSON-document store (state survives a restart on the same data dir);
- :mod:`.children`      children that die with the stand-in (``die_with_parent``, one spawner thread);
- :mod:`.kafka_bus`     a never-raising JSON producer; :mod:`.kafka_reader` a group-less, restart-proof
                        topic reader — both on kafka-python's public client API only.

Why a package of its own: the next stand-ins (an LLM gateway, a mesh discovery service) need the
same mechanisms; one copy keeps their fault control and error handling alike. aiohttp is the
only web framework imported, and only by the two HTTP modules.
"""
