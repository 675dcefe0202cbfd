"""The explainer worker process of the stand-in (contract §1, §2.5, §4, §6–§8)."""
