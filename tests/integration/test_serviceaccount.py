"""The default ServiceAccount appears in every namespace, and comes back when deleted."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import control_plane, get_or_none, wait_for  # noqa: E402

from pyk8s.controllers.serviceaccount import ServiceAccountsController


async def test_default_service_account_in_every_namespace(tmp_path):
    ctrl = {"serviceaccount": ServiceAccountsController}
    async with control_plane(tmp_path, ctrl) as (_cp, client):
        sas = client.resource("v1", "serviceaccounts")
        await client.create(client.resource("v1", "namespaces"), {"metadata": {"name": "team"}})
        for ns in ("default", "kube-system", "team"):

            async def present(ns=ns):
                return await get_or_none(client, sas, "default", ns)

            await wait_for(present, what=f"default service account in {ns}")
        await client.delete(sas, "default", "team")

        async def recreated():
            sa = await get_or_none(client, sas, "default", "team")
            return sa is not None and sa

        await wait_for(recreated, what="default service account recreated")
