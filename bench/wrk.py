"""The `wrk` load generator (C, epoll, OpenSSL): POSTs of fresh pods or GETs of one,
over keep-alive TLS connections, for a fixed duration. A Lua script builds each
request (a unique pod name per POST) and prints the summary as one JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.loadgen import Kind, LoadResult, Target, pods_path

# Globals `tid` are set per thread by setup(); `init` receives the arguments after `--`.
_LUA = r"""
local threads = {}
local counter = 0
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  kind, path, token, prefix = args[1], args[2], args[3], args[4]
  headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
  if kind == "create" then headers["Content-Type"] = "application/json" end
end
function request()
  if kind ~= "create" then return wrk.format("GET", path, headers) end
  counter = counter + 1
  local name = prefix .. "-" .. tid .. "-" .. counter
  local body = '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"' .. name ..
    '","creationTimestamp":null,"labels":{"run":"' .. name .. '"}},"spec":{"containers":' ..
    '[{"name":"' .. name .. '","image":"nginx","resources":{}}],"restartPolicy":"Always",' ..
    '"dnsPolicy":"ClusterFirst"},"status":{}}'
  return wrk.format("POST", path, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    target: Target,
    kind: Kind,
    seconds: float,
    concurrency: int,
    *,
    threads: int = 2,
    namespace: str = "default",
    get_name: str = "",
    prefix: str = "wrk",
) -> LoadResult:
    """`concurrency` connections over `threads` threads for `seconds` seconds."""
    path = pods_path(namespace)
    path = path + "?fieldManager=kubectl-run" if kind == "create" else f"{path}/{get_name}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA)
        script = f.name
    try:
        args = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s"]
        args += ["--timeout", "10s", "-s", script, target.url, "--", kind, path]
        args += [target.token, prefix]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        Path(script).unlink(missing_ok=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    s = json.loads(line.split(" ", 1)[1])
    errors = s["status_errors"] + s["socket_errors"]
    return LoadResult(
        generator="wrk",
        kind=kind,
        concurrency=concurrency,
        requests=s["requests"] - s["status_errors"],
        errors=errors,
        seconds=s["duration_us"] / 1e6,
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        first_error=f"{errors} errors" if errors else "",
    )
