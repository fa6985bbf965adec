"""A small kopf operator, run by tests/testing/test_kopf_operator.py through
kopf.testing.KopfRunner against the k8s_cluster fixture.

- Greeting (a custom resource, greetings.example.com/v1): writes a ConfigMap
  with the greeting's message, owned by the Greeting (so it is garbage-collected
  with it), and reports status.
- ConfigMaps labelled example.com/echo=yes: copies their data into
  "<name>-echo" (built-in resources work without any CRD).
"""

from __future__ import annotations

import kopf
import kubernetes


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_) -> None:
    settings.posting.enabled = True
    settings.watching.server_timeout = 60


def _core() -> kubernetes.client.CoreV1Api:
    kubernetes.config.load_kube_config()
    return kubernetes.client.CoreV1Api()


@kopf.on.create("example.com", "v1", "greetings")
def greet(spec, name, namespace, body, **_) -> dict:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-greeting"},
        "data": {"message": f"Hello, {spec.get('name', 'world')}!"},
    }
    kopf.adopt(cm, owner=body)
    _core().create_namespaced_config_map(namespace, cm)
    return {"configmap": cm["metadata"]["name"]}


@kopf.on.create("configmaps", labels={"example.com/echo": "yes"})
def echo(name, namespace, body, **_) -> None:
    reply = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-echo"},
        "data": dict(body.get("data") or {}),
    }
    _core().create_namespaced_config_map(namespace, reply)
