"""The gateway process of the stand-in: chat proxy + trace API (contract §2, §3, §6, §10)."""
