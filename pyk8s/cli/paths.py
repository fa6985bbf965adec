"""Where pyk8s keeps its state by default."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    env = os.environ.get("PYK8S_DATA_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/pyk8s")
    return Path.home() / ".pyk8s"
