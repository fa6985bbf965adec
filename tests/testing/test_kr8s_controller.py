"""A tiny kr8s-based controller, tested against the fixture: it labels every new
ConfigMap with the team of its namespace (an async test, on the test's own loop)."""

from __future__ import annotations

import asyncio
import contextlib

from kr8s.asyncio.objects import ConfigMap, Namespace

from pyk8s.testing import await_for

TEAM_LABEL = "example.com/team"


async def label_configmaps(api) -> None:
    """The controller: watch ConfigMaps everywhere; copy the namespace's team label
    onto each one that lacks it."""
    async with contextlib.aclosing(api.watch("configmaps", namespace="all")) as events:
        async for event, cm in events:
            if event != "ADDED" or TEAM_LABEL in cm.labels:
                continue
            ns = await Namespace.get(cm.namespace, api=api)
            team = ns.labels.get(TEAM_LABEL, "none")
            await cm.patch({"metadata": {"labels": {TEAM_LABEL: team}}})


async def test_controller_labels_new_configmaps(kr8s_api):
    ns = await Namespace(
        {"metadata": {"name": "shop", "labels": {TEAM_LABEL: "checkout"}}}, api=kr8s_api
    )
    await ns.create()
    controller = asyncio.create_task(label_configmaps(kr8s_api))
    try:
        cm = await ConfigMap(
            {"metadata": {"name": "prices", "namespace": "shop"}, "data": {"eur": "1"}},
            api=kr8s_api,
        )
        await cm.create()

        async def labelled() -> bool:
            await cm.refresh()
            return cm.labels.get(TEAM_LABEL) == "checkout"

        await await_for(labelled)
        # Already labelled objects are left alone; others default to "none".
        other = await ConfigMap(
            {"metadata": {"name": "misc", "namespace": "default"}}, api=kr8s_api
        )
        await other.create()

        async def defaulted() -> bool:
            await other.refresh()
            return other.labels.get(TEAM_LABEL) == "none"

        await await_for(defaulted)
    finally:
        controller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await controller
