"""A pod's resolver configuration (the CRI DNSConfig its sandbox is created with), as
the kubelet derives it from dnsPolicy and dnsConfig (pkg/kubelet/network/dns).

- ClusterFirst: the cluster DNS as the only nameserver, search
  `<ns>.svc.<domain> svc.<domain> <domain>` then the host's searches, options
  `ndots:5`. A hostNetwork pod falls back to Default; so does any pod when the
  kubelet knows no cluster DNS address (with a MissingClusterDNS warning).
- ClusterFirstWithHostNet: ClusterFirst, even for a hostNetwork pod.
- Default: the host's resolv.conf (nameservers, last search line, last options line).
- None: nothing but the pod's dnsConfig.

Then spec.dnsConfig is merged in: nameservers and searches appended without
duplicates, options merged by name (the pod's value wins). Finally the limits:
3 nameservers; 32 search domains, none over 253 characters, 2048 characters in
all (cut from the end) — each overflow a DNSConfigForming warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32  # ExpandedDNSConfig, GA since 1.28
MAX_SEARCH_CHARS = 2048
MAX_SEARCH_PATH_LEN = 253  # a DNS-1123 subdomain; longer ones abort glibc's resolver
DEFAULT_OPTIONS = ("ndots:5",)

Obj = dict[str, Any]
Warning_ = tuple[str, str]  # (event reason, message)


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, searches, options) of a resolv.conf: nameservers accumulate, the
    last search and options lines win, a search domain's trailing dot is dropped."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return servers, searches, options


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _host_config(host_resolv: Path | None) -> dict[str, list[str]]:
    if host_resolv is None:
        # The kubelet's --resolv-conf="": the local resolver, no search (bind's default).
        return {"servers": ["127.0.0.1"], "searches": ["."], "options": []}
    servers, searches, options = parse_resolv_conf(host_resolv.read_text())
    return {"servers": servers, "searches": searches, "options": options}


def _policy(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        return "Default"
    if policy == "ClusterFirstWithHostNet":
        return "ClusterFirst"
    return policy


def merge_options(existing: list[str], extra: list[Obj]) -> list[str]:
    """Options by name, the pod's dnsConfig overriding; order of first appearance."""
    merged: dict[str, str] = {}
    for op in existing:
        name, _, value = op.partition(":")
        merged[name] = value
    for op in extra:
        merged[op.get("name") or ""] = op.get("value") or ""
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def fit_searches(searches: list[str], warnings: list[Warning_]) -> list[str]:
    exceeded = len(searches) > MAX_SEARCH_PATHS
    kept = [s for s in searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_SEARCH_PATH_LEN]
    exceeded |= len(kept) < len(searches[:MAX_SEARCH_PATHS])
    while kept and len(" ".join(kept)) > MAX_SEARCH_CHARS:
        kept.pop()
        exceeded = True
    if exceeded:
        warnings.append(
            (
                "DNSConfigForming",
                "Search Line limits were exceeded, some search paths have been omitted, "
                f"the applied search line is: {' '.join(kept)}",
            )
        )
    return kept


def fit_nameservers(servers: list[str], warnings: list[Warning_]) -> list[str]:
    if len(servers) <= MAX_NAMESERVERS:
        return servers
    kept = servers[:MAX_NAMESERVERS]
    warnings.append(
        (
            "DNSConfigForming",
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            f"the applied nameserver line is: {' '.join(kept)}",
        )
    )
    return kept


def pod_dns_config(
    pod: Obj,
    *,
    cluster_dns_ip: str,
    cluster_domain: str,
    host_resolv: Path | None = Path("/etc/resolv.conf"),
    warnings: list[Warning_] | None = None,
) -> dict[str, list[str]] | None:
    """The CRI DNSConfig ({"servers", "searches", "options"}) for `pod`; None when all
    three are empty (nothing to write). `host_resolv` None is the kubelet's
    --resolv-conf="". Reading the host file may raise OSError (the kubelet fails the
    sandbox then). Warnings the kubelet would record as events are appended to
    `warnings` as (reason, message)."""
    warnings = warnings if warnings is not None else []
    spec = pod.get("spec") or {}
    policy = _policy(pod)
    if policy == "ClusterFirst" and not cluster_dns_ip:
        warnings.append(
            (
                "MissingClusterDNS",
                "kubelet does not have ClusterDNS IP configured and cannot create Pod using "
                '"ClusterFirst" policy. Falling back to "Default" policy.',
            )
        )
        policy = "Default"
    if policy == "None":
        config: dict[str, list[str]] = {"servers": [], "searches": [], "options": []}
    else:
        config = _host_config(host_resolv)
    if policy == "ClusterFirst":
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        cluster = [f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
        config = {
            "servers": [cluster_dns_ip],
            "searches": _dedup((cluster if cluster_domain else []) + config["searches"]),
            "options": list(DEFAULT_OPTIONS),
        }
    extra = spec.get("dnsConfig")
    if extra:
        config["servers"] = _dedup(config["servers"] + list(extra.get("nameservers") or []))
        config["searches"] = _dedup(config["searches"] + list(extra.get("searches") or []))
        config["options"] = merge_options(config["options"], list(extra.get("options") or []))
    config["servers"] = fit_nameservers(config["servers"], warnings)
    config["searches"] = fit_searches(config["searches"], warnings)
    if not any(config.values()):
        return None
    return config
