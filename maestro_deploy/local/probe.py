"""A unit's HTTP health check, asked from this machine instead of inside its container.

A unit's own check run with `docker exec` costs a process in the container and about 0.1 s of
CPU; on two cores, nine of them slow the very starts they wait for. When the check is an HTTP
GET of the container's own port (the render's checks are: `urlopen(URL) || wget URL`), the same
GET from here, on the port it publishes on 127.0.0.1 or on its address in the stack's network,
says the same thing for a few milliseconds: a status below 400 passes, as urlopen and wget do.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from typing import Optional

from maestro_deploy.local.daemon import Daemon

# A GET of the container's own loopback port; any other check (pg_isready, a script) runs in it.
_LOOPBACK_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/[^'\"\s)]*)?")
_GETTERS = ("urlopen", "wget", "curl")
# A probe waits at most this long: one that does not answer in time is asked again next poll.
TIMEOUT_SECONDS = 1.0
# Of what a unit says of its health in an error (an HTTP answer's body, its check's last line):
# enough for its reason.
SAID_AT_MOST = 300


def http_check(test: list[str]) -> Optional[tuple[int, str]]:
    """(container port, path) when a health check (Compose's `test`) is nothing but a GET of
    one URL on the container's own loopback, else None."""
    text = " ".join(test[1:])
    urls = set(_LOOPBACK_URL.findall(text))
    if len(urls) != 1 or not any(getter in text for getter in _GETTERS):
        return None
    port, path = urls.pop()
    return int(port), path or "/"


def is_local(daemon: Daemon) -> bool:
    """Whether the daemon runs on this machine: only then are its published ports and its
    containers' addresses reachable from here."""
    host = daemon.host or os.environ.get("DOCKER_HOST") or ""
    return host == "" or host.startswith("unix://")


def reachable_at(spec: dict, port: int, address: str) -> Optional[str]:
    """Where this machine reaches a container's port: the host port it publishes on 127.0.0.1,
    else its address in the stack's network (`address`, from `docker inspect`), else None."""
    for published in spec.get("ports") or ():
        parts = str(published).split(":")
        if len(parts) == 3 and parts[0] == "127.0.0.1" and parts[2] == str(port):
            return f"127.0.0.1:{parts[1]}"
    if spec.get("network_mode") == "host":
        return f"127.0.0.1:{port}"
    return f"{address}:{port}" if address else None


def http_passes(where: str, path: str) -> Optional[bool]:
    """True when GET http://where/path answers below 400. False when it answers 400 or more, or
    when it was reached and is not ready: nothing listens yet (refused, or reset by Docker's port
    proxy), or it takes longer than TIMEOUT_SECONDS to answer (the engine while its database
    starts). None when it could not be reached at all (no route, no connection in time)."""
    try:
        with urllib.request.urlopen(f"http://{where}{path}", timeout=TIMEOUT_SECONDS) as reply:
            return reply.status < 400
    except urllib.error.HTTPError:
        return False
    except urllib.error.URLError as err:  # while connecting and sending
        return False if isinstance(err.reason, ConnectionError) else None
    except (ConnectionError, TimeoutError, http.client.HTTPException):  # while waiting for the answer, or a garbled one
        return False
    except OSError:
        return None


def http_answer(where: str, path: str) -> Optional[str]:
    """What GET http://where/path answers now, as `503: <its body>` on one line (the body says
    why a unit is not healthy: the engine's names its database's refusal); None when it could
    not be asked."""
    try:
        with urllib.request.urlopen(f"http://{where}{path}", timeout=TIMEOUT_SECONDS) as reply:
            status, body = reply.status, reply.read(SAID_AT_MOST)
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read(SAID_AT_MOST)
    except (OSError, http.client.HTTPException):
        return None
    return f"{status}: {' '.join(body.decode(errors='replace').split())}"
