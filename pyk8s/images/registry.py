"""A small read-only container registry serving image archives, for tests and
air-gapped clusters.

`LocalRegistry` speaks the pull side of the OCI distribution API (v1.0), the
part containerd's resolver and fetcher use:

    GET       /v2/                               200 {}   (API version check)
    HEAD/GET  /v2/<name>/manifests/<tag|digest>  the manifest or index, as stored
    HEAD/GET  /v2/<name>/blobs/<digest>          a blob (single byte ranges too)
    GET       /v2/<name>/tags/list               {"name": ..., "tags": [...]}
    GET       /v2/_catalog                       {"repositories": [...]}

Anything else under /v2 that is not GET or HEAD (pushes, deletes) answers 405
UNSUPPORTED; errors carry the spec's JSON body
`{"errors": [{"code": "MANIFEST_UNKNOWN", "message": ..., "detail": ...}]}`.
With `auth=(user, password)` every /v2 request needs HTTP basic credentials,
else 401 with `WWW-Authenticate: Basic realm="pyk8s"` (containerd then
retries with the credentials it was given, e.g. a pod's imagePullSecrets
passed through CRI's AuthConfig).

Content comes from image archives (see `pyk8s.images.tarstore`), read in place.

Which image a request names: images are kept under their full references,
(host, path, tag) such as ("docker.io", "library/nginx", "1.16.0"). When the
registry stands in for another registry (a containerd mirror), containerd
asks `/v2/library/nginx/manifests/1.16.0?ns=docker.io`: with `ns`, only that
host's repository answers. Without `ns` (a client addressing this registry by
its own name, or an older containerd), the repository under the request's own
host (`127.0.0.1:PORT/...`) answers first; failing that, the same path under
any host answers when that is unambiguous: when every host holding that path
and tag agrees on the digest. Blobs are content-addressed and served from any
archive once the repository is known.

`write_mirror_config` writes containerd's hosts.toml files that send every
pull for the given registries here and nowhere else.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from pyk8s.images.tarstore import ArchiveStore, Repository, is_digest

log = logging.getLogger("pyk8s.images")

API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"
REALM = "pyk8s"
# The registries pods name most often; `pyk8s images serve --hosts-dir` and the
# agent mirror these (plus the registry's own address).
DEFAULT_MIRRORED_HOSTS = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io")
_NAME = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_ROUTE = re.compile(r"^(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_DOCKER_HUB_ALIASES = {"index.docker.io": "docker.io", "registry-1.docker.io": "docker.io"}


class RegistryError(Exception):
    """An error answered in the distribution spec's JSON format."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def response(self) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        resp = web.json_response({"errors": [error]}, status=self.status)
        resp.headers[API_VERSION_HEADER] = API_VERSION
        return resp


@dataclass(frozen=True)
class SeenRequest:
    """One request the registry answered (for tests proving a pull came here)."""

    method: str
    path: str  # with the query string
    status: int


class LocalRegistry:
    """A read-only OCI registry over image archives, listening on `host`:`port`.

    Use `await start()` / `await stop()` inside an event loop, or `with
    LocalRegistry(...) as reg:` / `run_in_thread()` from synchronous code
    (the server then runs on its own thread and loop).
    """

    def __init__(
        self,
        archives: list[Path] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.auth = auth
        self.store = ArchiveStore()
        self.requests: deque[SeenRequest] = deque(maxlen=10_000)
        self._runner: web.AppRunner | None = None
        self._thread: RegistryThread | None = None
        for archive in archives or []:
            self.add_archive(archive)

    # -- content ---------------------------------------------------------------

    def add_archive(self, path: Path, name: str | None = None) -> list[str]:
        """Serve the images of an OCI or docker archive; returns their references.
        `name` names OCI index entries that carry only a bare tag."""
        return self.store.add_archive(Path(path), name)

    @property
    def refs(self) -> list[str]:
        """Every host/path:tag served, sorted."""
        return sorted(
            f"{repo.host}/{repo.path}:{tag}"
            for repo in self.store.repos.values()
            for tag in repo.tags
        )

    # -- lifecycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. http://127.0.0.1:41234."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/v2", self._dispatch)
        app.router.add_route("*", "/v2/{tail:.*}", self._dispatch)
        return app

    async def start(self) -> int:
        """Listen; returns the bound port (useful with port=0)."""
        runner = web.AppRunner(self.make_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        log.info("registry listening on %s", self.url)
        return self._port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def close(self) -> None:
        """Release the archives' temporary files (after stop)."""
        self.store.close()

    def run_in_thread(self) -> RegistryThread:
        """Start serving on a thread of its own; the handle has .port, .url, .close()."""
        return RegistryThread(self).start()

    def __enter__(self) -> LocalRegistry:
        self._thread = self.run_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.close()
            self._thread = None

    async def __aenter__(self) -> LocalRegistry:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        self.close()

    # -- HTTP ------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            self._check_auth(request)
            resp = await handler(request)
        except RegistryError as err:
            resp = err.response()
            if err.status == 401:
                resp.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        self.requests.append(SeenRequest(request.method, request.path_qs, resp.status))
        return resp

    def _check_auth(self, request: web.Request) -> None:
        if self.auth is None:
            return
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                given = ""
            want = f"{self.auth[0]}:{self.auth[1]}"
            if hmac.compare_digest(given.encode(), want.encode()):
                return
        raise RegistryError(401, "UNAUTHORIZED", "authentication required")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError(405, "UNSUPPORTED", "this registry is read-only", request.method)
        tail = request.match_info.get("tail", "").strip("/")
        if not tail:
            return _json({})
        if tail == "_catalog":
            return _json(
                {"repositories": sorted({repo.path for repo in self.store.repos.values()})}
            )
        if tail.endswith("/tags/list"):
            return self._tags(request, tail[: -len("/tags/list")])
        route = _ROUTE.match(tail)
        if route is None:
            raise RegistryError(404, "NOT_FOUND", "no such endpoint", request.path)
        name, kind, ref = route.group("name", "kind", "ref")
        repos = self._repositories(request, name)
        if kind == "manifests":
            return self._manifest(request, name, repos, ref)
        return await self._blob(request, ref)

    def _repositories(self, request: web.Request, name: str) -> list[Repository]:
        """The repositories `name` may mean here (see the module docstring)."""
        if not _NAME.match(name):
            raise RegistryError(400, "NAME_INVALID", "invalid repository name", name)
        repos = self.store.repos
        ns = request.query.get("ns")
        if ns:
            ns = _DOCKER_HUB_ALIASES.get(ns, ns)
            found = [repos[(ns, name)]] if (ns, name) in repos else []
        elif (request.host, name) in repos:
            found = [repos[(request.host, name)]]
        else:
            found = [repo for (_, path), repo in repos.items() if path == name]
        if not found:
            detail = {"name": f"{ns}/{name}" if ns else name}
            raise RegistryError(
                404, "NAME_UNKNOWN", "repository name not known to registry", detail
            )
        return found

    def _manifest(
        self, request: web.Request, name: str, repos: list[Repository], ref: str
    ) -> web.Response:
        if is_digest(ref):
            digest = ref
        else:
            digests = {repo.tags[ref] for repo in repos if ref in repo.tags}
            if len(digests) != 1:
                detail = {"name": name, "tag": ref}
                if digests:  # same path and tag under several hosts: say which to pick
                    detail["hosts"] = sorted(repo.host for repo in repos if ref in repo.tags)
                raise RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown", detail)
            digest = digests.pop()
        found = self.store.manifest(digest)
        if found is None:
            raise RegistryError(
                404, "MANIFEST_UNKNOWN", "manifest unknown", {"name": name, "reference": ref}
            )
        media_type, data = found
        headers = {
            "Content-Type": media_type,
            "Docker-Content-Digest": digest,
            "ETag": f'"{digest}"',
            API_VERSION_HEADER: API_VERSION,
        }
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(data))
            return web.Response(headers=headers)
        return web.Response(body=data, headers=headers)

    async def _blob(self, request: web.Request, digest: str) -> web.StreamResponse:
        # Only sha256 is stored; any other (or malformed) digest is simply unknown.
        if not is_digest(digest) or not self.store.has_blob(digest):
            raise RegistryError(404, "BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
        size = self.store.blob_size(digest)
        start, end = _byte_range(request.headers.get("Range"), size)
        resp = web.StreamResponse(status=206 if (start, end) != (0, size) else 200)
        resp.headers.update(
            {
                "Content-Type": "application/octet-stream",
                "Docker-Content-Digest": digest,
                "Accept-Ranges": "bytes",
                "ETag": f'"{digest}"',
                API_VERSION_HEADER: API_VERSION,
            }
        )
        if resp.status == 206:
            resp.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        resp.content_length = end - start
        await resp.prepare(request)
        if request.method == "GET":
            await self._send_blob(resp, digest, start, end)
        await resp.write_eof()
        return resp

    async def _send_blob(self, resp: web.StreamResponse, digest: str, start: int, end: int) -> None:
        # Reads block on disk: each chunk is read on a worker thread.
        chunks = self.store.read_blob(digest, start, end)
        loop = asyncio.get_running_loop()
        while (chunk := await loop.run_in_executor(None, next, chunks, None)) is not None:
            await resp.write(chunk)

    def _tags(self, request: web.Request, name: str) -> web.Response:
        repos = self._repositories(request, name)
        return _json({"name": name, "tags": sorted({tag for repo in repos for tag in repo.tags})})


def _json(doc: Any) -> web.Response:
    resp = web.json_response(doc)
    resp.headers[API_VERSION_HEADER] = API_VERSION
    return resp


def _byte_range(header: str | None, size: int) -> tuple[int, int]:
    """[start, end) asked by a single-range `Range` header; the whole blob without one."""
    if not header:
        return 0, size
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise _unsatisfiable(header, size)
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = size if last == "" else min(size, int(last) + 1)
    if start >= size or start >= end:
        raise _unsatisfiable(header, size)
    return start, end


def _unsatisfiable(header: str, size: int) -> RegistryError:
    return RegistryError(
        416, "RANGE_INVALID", "invalid content range", {"range": header, "size": size}
    )


class RegistryThread:
    """A LocalRegistry served from a thread with its own event loop."""

    def __init__(self, registry: LocalRegistry) -> None:
        self.registry = registry
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pyk8s-registry", daemon=True)

    @property
    def port(self) -> int:
        return self.registry.port

    @property
    def url(self) -> str:
        return self.registry.url

    def start(self) -> RegistryThread:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.registry.start())
        except BaseException as err:  # reported to start()'s caller
            self._error = err
            self._loop.close()
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.registry.stop())
        self._loop.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self.registry.close()

    def __enter__(self) -> RegistryThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- containerd mirror configuration -------------------------------------------


def hosts_toml(registry_url: str) -> str:
    """The hosts.toml text routing a registry namespace to `registry_url` only.

    `server` replaces the upstream default (registry-1.docker.io for docker.io,
    https://<host> otherwise), so containerd never falls back to the real
    registry. The same URL is also listed as a `[host]` because containerd
    1.6's parser rejects a hosts.toml without any `[host]` table and then
    silently uses the upstream default; the cost is that a miss is asked twice.
    A `http://` URL is spoken in plain HTTP; `skip_verify` only matters for https.
    """
    url = registry_url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or '"' in url or "\\" in url:
        raise ValueError(f"registry URL must be http(s)://host[:port], got {registry_url!r}")
    lines = [
        "# Written by pyk8s: pulls for this registry go to the local registry only.",
        f'server = "{url}"',
        "",
        f'[host."{url}"]',
        '  capabilities = ["pull", "resolve"]',
    ]
    if parts.scheme == "https":
        lines.append("  skip_verify = true")
    return "\n".join(lines) + "\n"


def write_mirror_config(
    config_dir: Path, registry_url: str, hosts: Iterable[str], *, catch_all: bool = False
) -> None:
    """Make each registry host in `hosts` (and the registry's own host:port)
    resolve to `registry_url` only, in containerd's `config_path` layout:

        <config_dir>/docker.io/hosts.toml
        <config_dir>/registry.k8s.io/hosts.toml
        <config_dir>/127.0.0.1:5000/hosts.toml      (the registry's own name)
        <config_dir>/_default/hosts.toml            (catch_all: every other host)

    each holding `hosts_toml(registry_url)`. Point containerd at it with
    `[plugins."io.containerd.grpc.v1.cri".registry] config_path = "<config_dir>"`
    (CRI pulls) or `ctr images pull --hosts-dir <config_dir>`. containerd
    reads these files on every pull: no restart is needed. With a mirror in
    front, containerd adds `?ns=<host>` to its requests, which is how this
    registry tells docker.io/library/x from quay.io/library/x.
    """
    own = urlsplit(registry_url).netloc
    names = [*hosts, own, *(["_default"] if catch_all else [])]
    text = hosts_toml(registry_url)
    for name in dict.fromkeys(names):
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"invalid registry host {name!r}")
        target = Path(config_dir) / name / "hosts.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(".hosts.toml.tmp")
        tmp.write_text(text)
        tmp.replace(target)  # containerd may be reading it right now
