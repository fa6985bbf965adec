"""Sample images for offline practice and tests, built from host packages.

Nothing is pulled: the images are assembled from Debian's busybox-static and
nginx (nginx-light) already installed on this machine, under the names the
textbook walkthrough uses, and written as ONE OCI archive that a single
`pyk8s images import` loads into every node:

- docker.io/library/busybox:latest, :1.36 -- static busybox and its applets.
- docker.io/library/nginx:latest, :1.15.12, :1.16.0 -- the host's nginx binary
  with its shared libraries, a minimal config, busybox for `kubectl exec`
  (`/bin/bash` is a script handing over to busybox sh). Each tag answers with an
  index page naming its tag and a header `X-Image-Version: <tag>`. The `Server`
  header shows the host nginx's real version (e.g. nginx/1.22.1) for every tag:
  nginx cannot rename itself without an extra module, so use the header or the
  page to tell the tags apart. nginx:1.17.23 is deliberately absent (the
  walkthrough uses it to show ImagePullBackOff).
- docker.io/sysnet4admin/echo-hname:latest -- the same nginx answering every
  request with the pod's hostname, as the textbook's image does.

Layers are shared (busybox, then nginx with its libraries, then a small
per-tag layer), so the archive stays small.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pyk8s.images.hostbin import (
    binary_entries,
    busybox_entries,
    find_program,
    has_applet,
    shell_alias,
)
from pyk8s.images.oci import (
    Entry,
    Image,
    ImageConfig,
    Layer,
    directory,
    file,
    symlink,
    write_archive,
)

BUSYBOX_REFS = ("docker.io/library/busybox:latest", "docker.io/library/busybox:1.36")
NGINX_TAGS = ("latest", "1.15.12", "1.16.0")
ECHO_HNAME_REF = "docker.io/sysnet4admin/echo-hname:latest"
NGINX_CMD = ("nginx", "-g", "daemon off;")

PASSWD_BASE = (
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
GROUP_BASE = "root:x:0:\nnogroup:x:65534:\n"
PASSWD_NGINX = (
    PASSWD_BASE
    + "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    + "nginx:x:101:101:nginx user:/nonexistent:/bin/false\n"
)
GROUP_NGINX = GROUP_BASE + "www-data:x:33:\nnginx:x:101:\n"

MIME_TYPES = """types {
    text/html html htm;
    text/css css;
    text/plain txt;
    application/javascript js;
    application/json json;
    image/png png;
    image/svg+xml svg;
}
"""

NGINX_CONF = """user nginx;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {{
        listen 80;
        server_name localhost;
        root /usr/share/nginx/html;
        index index.html;
        add_header X-Image-Version "{tag}" always;
{location}
    }}
}}
"""

STATIC_LOCATION = "        location / {\n            try_files $uri $uri/ =404;\n        }"
HOSTNAME_LOCATION = (
    "        location / {\n"
    "            default_type text/plain;\n"
    '            return 200 "$hostname\\n";\n'
    "        }"
)

INDEX_HTML = """<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>pyk8s sample image {ref}</p>
<p>version: {tag} (served by the host's {server})</p>
</body>
</html>
"""


@dataclass(frozen=True)
class HostTools:
    """The host programs the samples are made of."""

    busybox: Path
    nginx: Path

    @classmethod
    def find(cls) -> HostTools:
        busybox = find_program("busybox", "busybox-static", ("/bin/busybox",))
        nginx = find_program("nginx", "nginx-light", ("/usr/sbin/nginx",))
        return cls(busybox, nginx)


def sample_refs() -> list[str]:
    """Every reference the samples archive carries."""
    nginx = [f"docker.io/library/nginx:{tag}" for tag in NGINX_TAGS]
    return [*BUSYBOX_REFS, *nginx, ECHO_HNAME_REF]


def nginx_version(nginx: Path) -> str:
    """'nginx/1.22.1' for the host's nginx (`nginx -v` writes it to stderr)."""
    proc = subprocess.run([str(nginx), "-v"], capture_output=True, text=True, check=False)
    return proc.stderr.strip().rpartition(": ")[2] or "nginx"


def base_entries() -> list[Entry]:
    """What every sample has besides its programs: /etc basics, /tmp, /root."""
    return [
        file("/etc/passwd", PASSWD_BASE),
        file("/etc/group", GROUP_BASE),
        file("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
        directory("/tmp", 0o1777),
        directory("/root", 0o700),
        directory("/var", 0o755),
    ]


def busybox_layer(tools: HostTools) -> Layer:
    """Busybox with its applets: the whole busybox image, and the base of the others."""
    entries = busybox_entries(tools.busybox) + base_entries()
    return Layer(entries, "pyk8s: the host's busybox with applet symlinks")


def nginx_layer(tools: HostTools) -> Layer:
    """The host nginx with its libraries, users, directories and a bash for exec."""
    entries = binary_entries(tools.nginx, "/usr/sbin/nginx")
    if not has_applet(tools.busybox, "bash"):
        entries.append(shell_alias("/bin/bash"))
    entries += [
        file("/etc/passwd", PASSWD_NGINX),
        file("/etc/group", GROUP_NGINX),
        file("/etc/nginx/mime.types", MIME_TYPES),
        directory("/run"),
        directory("/var/cache/nginx"),
        directory("/var/log/nginx"),
        # As the official image does: logs written to files end up in the container's log.
        symlink("/var/log/nginx/access.log", "/dev/stdout"),
        symlink("/var/log/nginx/error.log", "/dev/stderr"),
        directory("/usr/share/nginx/html"),
    ]
    entries += [
        directory(f"/var/lib/nginx/{d}", 0o700)
        for d in ("body", "fastcgi", "proxy", "scgi", "uwsgi")
    ]
    return Layer(entries, "pyk8s: the host's nginx with its shared libraries")


def site_layer(ref: str, tag: str, server: str, echo_hostname: bool) -> Layer:
    """The per-tag part: nginx.conf (with the version header) and index.html."""
    location = HOSTNAME_LOCATION if echo_hostname else STATIC_LOCATION
    entries = [
        file("/etc/nginx/nginx.conf", NGINX_CONF.format(tag=tag, location=location)),
        file(
            "/usr/share/nginx/html/index.html", INDEX_HTML.format(ref=ref, tag=tag, server=server)
        ),
    ]
    return Layer(entries, f"pyk8s: site for {ref}")


def nginx_config(kind: str, tag: str) -> ImageConfig:
    return ImageConfig(
        cmd=NGINX_CMD,
        exposed_ports=("80/tcp",),
        stop_signal="SIGQUIT",
        labels={"io.pyk8s.sample": kind, "org.opencontainers.image.version": tag},
    )


def sample_images(tools: HostTools | None = None) -> dict[str, Image]:
    """Every sample image by reference (layers shared where they can be)."""
    tools = tools or HostTools.find()
    busybox = busybox_layer(tools)
    nginx = nginx_layer(tools)
    server = nginx_version(tools.nginx)
    box_config = ImageConfig(cmd=("sh",), labels={"io.pyk8s.sample": "busybox"})
    images = {ref: Image([busybox], box_config) for ref in BUSYBOX_REFS}
    for tag in NGINX_TAGS:
        ref = f"docker.io/library/nginx:{tag}"
        site = site_layer(ref, tag, server, echo_hostname=False)
        images[ref] = Image([busybox, nginx, site], nginx_config("nginx", tag))
    echo = site_layer(ECHO_HNAME_REF, "latest", server, echo_hostname=True)
    images[ECHO_HNAME_REF] = Image([busybox, nginx, echo], nginx_config("echo-hname", "latest"))
    return images


def build_samples(out: Path) -> Path:
    """Write the samples archive (every tag of sample_refs()) to `out`."""
    return write_archive(out, sample_images())
