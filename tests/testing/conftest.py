"""Until pyk8s is installed with its `pytest11` entry point, these tests load the
plugin's fixtures themselves (importing them into this conftest). Once the entry
point is there, the plugin is already active and nothing is imported here
(registering the same module twice would be an error)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

PLUGIN_INSTALLED = any(ep.value == "pyk8s.testing.plugin" for ep in entry_points(group="pytest11"))

if not PLUGIN_INSTALLED:
    from pyk8s.testing.plugin import (  # noqa: F401
        k8s_client,
        k8s_cluster,
        k8s_session_cluster,
        kr8s_api,
        kubeconfig,
        kubeconfig_env,
        lightkube_async_client,
        lightkube_client,
    )
    from pyk8s.testing.plugin import pytest_configure as _plugin_configure


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "many_clusters: one of the 50 tiny tests, each with a cluster of its own"
    )
    if not PLUGIN_INSTALLED:
        _plugin_configure(config)
