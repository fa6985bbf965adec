"""Container lifecycle hooks on containerd (preStop), as the kubelet runs them:
exec through CRI ExecSync, httpGet to the pod IP, sleep."""

from __future__ import annotations

import asyncio
from typing import Any

from pyk8s.kubelet import probes

Obj = dict[str, Any]


async def run_hook(runtime: Any, cid: str, hook: Obj, info: Any, sandbox: Any) -> None:
    if "exec" in hook:
        command = list((hook["exec"] or {}).get("command") or [])
        await runtime.cri.exec_sync(cid, command, 0)
    elif "httpGet" in hook:
        get = hook["httpGet"] or {}
        host = get.get("host") or (sandbox.ip if sandbox is not None else "") or runtime.host_ip
        port = probes.resolve_port(get.get("port"), info.spec)
        url = probes.format_url(
            (get.get("scheme") or "HTTP").lower(), host, port, get.get("path") or "/"
        )
        headers = [(h.get("name", ""), h.get("value", "")) for h in get.get("httpHeaders") or []]
        await probes.http_probe(url, headers, timeout=3600)
    elif "sleep" in hook:
        await asyncio.sleep(float((hook["sleep"] or {}).get("seconds") or 0))
