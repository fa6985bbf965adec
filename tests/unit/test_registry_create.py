"""The generic registry's create: a generated name that is taken is generated again
(upstream's RetryGenerateName), a given name that is taken is 409 AlreadyExists."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pyk8s.apiserver import registry as registry_mod
from pyk8s.apiserver.registry import Context
from pyk8s.apiserver.server import APIServer, open_store
from pyk8s.machinery import errors

CM = ("", "v1", "configmaps")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[APIServer]:
    srv = APIServer(open_store(tmp_path, durable=False), tokens=["t"])
    await srv.open()
    try:
        yield srv
    finally:
        await srv.stop()


def scripted_names(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> Iterator[str]:
    """generate_name answers from `names` (the prefix plus each)."""
    it = iter(names)
    monkeypatch.setattr(registry_mod, "generate_name", lambda prefix: prefix + next(it))
    return it


def cm(name: str = "", generate: str = "") -> dict:
    md = {"name": name} if name else {"generateName": generate}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md}


async def test_taken_generated_name_is_generated_again(
    server: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = server.table.get(*CM)
    await server.registry.create(res, "default", cm("web-aaaaa"), Context())
    await server.registry.create(res, "default", cm("web-bbbbb"), Context())
    # fill_for_create draws the first name; the registry draws the others.
    monkeypatch.setattr("pyk8s.machinery.meta.random_suffix", lambda *a: "aaaaa")
    scripted_names(monkeypatch, ["bbbbb", "ccccc"])
    made = await server.registry.create(res, "default", cm(generate="web-"), Context())
    assert made["metadata"]["name"] == "web-ccccc"
    assert made["metadata"]["resourceVersion"]


async def test_generated_names_give_up_after_the_retries(
    server: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = server.table.get(*CM)
    await server.registry.create(res, "default", cm("web-aaaaa"), Context())
    monkeypatch.setattr("pyk8s.machinery.meta.random_suffix", lambda *a: "aaaaa")
    scripted_names(monkeypatch, ["aaaaa"] * registry_mod.GENERATE_NAME_RETRIES)
    with pytest.raises(errors.StatusError) as err:
        await server.registry.create(res, "default", cm(generate="web-"), Context())
    assert err.value.code == 409
    assert err.value.reason == "AlreadyExists"


async def test_a_given_name_that_is_taken_is_not_replaced(server: APIServer) -> None:
    res = server.table.get(*CM)
    await server.registry.create(res, "default", cm("web"), Context())
    with pytest.raises(errors.StatusError) as err:
        await server.registry.create(res, "default", cm("web"), Context())
    assert err.value.code == 409
