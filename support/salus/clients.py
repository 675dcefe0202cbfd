"""Compatibility re-exports: the clients now live one module per API family."""
from __future__ import annotations

from .catalog import Catalog, best_release, platform_labels, semver_key
from .faults import FaultControl
from .history import History
from .identity import Identity
from .installs import Installs
from .monitors import Monitors
from .policies import Policies
from .resources import Resources
from .tasks import Tasks, failure_task, task_body
from .tokens import EnvoyTokens
from .zones import Zones

__all__ = ["Catalog", "EnvoyTokens", "FaultControl", "History", "Identity", "Installs", "Monitors", "Policies",
           "Resources", "Tasks", "Zones", "best_release", "failure_task", "platform_labels", "semver_key",
           "task_body"]
