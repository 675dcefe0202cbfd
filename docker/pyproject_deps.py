"""Print the project's runtime dependencies from pyproject.toml as a requirements file.

Why: the Dockerfile installs them in a layer of their own, before the source is copied, so an
edit to the code does not re-download every wheel.
"""
from __future__ import annotations

import sys
import tomllib

with open(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml", "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
print("\n".join(deps))
