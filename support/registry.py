"""The systems e2et carries: one line per pack (the module holding its ``PACK`` declaration)."""

PACK_MODULES: tuple[str, ...] = (
    "support.salus.pack",
    "support.sidecar.pack",
    "support.coral.pack",
)
