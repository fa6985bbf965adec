"""Service environment variables as the kubelet sets them."""

from __future__ import annotations

from pyk8s.kubelet.serviceenv import service_env


def svc(ns: str, name: str, ip: str, ports: list[dict]) -> dict:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"clusterIP": ip, "ports": ports}}


KUBERNETES = svc("default", "kubernetes", "198.19.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}])
WEB = svc("shop", "web-front", "198.19.0.50", [
    {"name": "http", "port": 80, "protocol": "TCP"},
    {"name": "dns-udp", "port": 53, "protocol": "UDP"},
])  # fmt: skip
HEADLESS = svc("shop", "db", "None", [{"port": 5432}])
OTHER_NS = svc("other", "cache", "198.19.0.60", [{"port": 6379, "protocol": "TCP"}])


def pod(ns: str = "shop", links: bool | None = None) -> dict:
    spec = {} if links is None else {"enableServiceLinks": links}
    return {"metadata": {"namespace": ns, "name": "p"}, "spec": spec}


def test_kubernetes_service_in_every_pod() -> None:
    env = service_env(pod("elsewhere"), [KUBERNETES, WEB, OTHER_NS])
    assert env == {
        "KUBERNETES_SERVICE_HOST": "198.19.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://198.19.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://198.19.0.1:443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_ADDR": "198.19.0.1",
    }


def test_own_namespace_services_with_named_ports_and_udp() -> None:
    env = service_env(pod(), [KUBERNETES, WEB, HEADLESS, OTHER_NS])
    assert env["WEB_FRONT_SERVICE_HOST"] == "198.19.0.50"
    assert env["WEB_FRONT_SERVICE_PORT"] == "80"
    assert env["WEB_FRONT_SERVICE_PORT_DNS_UDP"] == "53"
    assert env["WEB_FRONT_PORT"] == "tcp://198.19.0.50:80"
    assert env["WEB_FRONT_PORT_53_UDP"] == "udp://198.19.0.50:53"
    assert env["WEB_FRONT_PORT_53_UDP_PROTO"] == "udp"
    assert not any(k.startswith("DB_") for k in env)  # headless: no cluster IP
    assert not any(k.startswith("CACHE_") for k in env)  # another namespace


def test_enable_service_links_false_keeps_only_kubernetes() -> None:
    env = service_env(pod(links=False), [KUBERNETES, WEB])
    assert "KUBERNETES_SERVICE_HOST" in env
    assert not any(k.startswith("WEB_FRONT") for k in env)
