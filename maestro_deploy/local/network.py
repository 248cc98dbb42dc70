"""A stack's network removed once its containers are gone, through Docker 20.10's endpoint count.

Docker 20.10 (Debian 12's) keeps a count of a network's endpoints apart from the endpoints, and
`docker network rm` trusts the count: after every container of a stack is removed, Compose's own
removal of the network can still be refused ("has active endpoints"), for a moment while the
count catches up, or until an endpoint that outlived its container is disconnected
(moby/moby#43286; moby dropped the count in 2025, commit 51d7f95c4b)."""

from __future__ import annotations

import json
import time

from maestro_deploy.local.daemon import Daemon, LocalRunError

# How long a refused removal is tried again: the count catches up in well under a second.
RELEASED_WITHIN = 10.0
RETRY_SECONDS = 0.5


def still_in_use(output: str) -> bool:
    """Whether Docker refused to remove a network because it counts endpoints on it."""
    return "has active endpoints" in output


def remove_network(daemon: Daemon, network: str) -> None:
    """`network` removed, or LocalRunError saying what holds it. An endpoint whose container is
    gone is disconnected (`--force`, by the name Docker lists it under); a container that is
    not the stack's is never touched: it is named, for its owner to disconnect."""
    deadline = time.monotonic() + RELEASED_WITHIN
    while True:
        attached = _attached(daemon, network)
        if attached is None:
            return
        foreign = sorted(name for name, alive in attached.items() if alive)
        if foreign:
            raise LocalRunError(
                f"network {network} kept: {', '.join(foreign)}, not part of this stack, is attached to it; "
                f"`docker network disconnect {network} {foreign[0]}`, then down again"
            )
        refused = [
            f"{name}: {done.stderr.strip()}"
            for name in sorted(attached)
            if (done := daemon.run(["docker", "network", "disconnect", "--force", network, name], check=False)).returncode != 0
        ]
        removal = daemon.run(["docker", "network", "rm", network], check=False)
        if removal.returncode == 0 or _absent(network, removal.stderr):
            return
        if not still_in_use(removal.stderr):
            raise LocalRunError(f"`docker network rm {network}` failed: {removal.stderr.strip()}")
        if time.monotonic() > deadline:
            if refused:
                raise LocalRunError(f"network {network} kept: an endpoint whose container is gone could not be disconnected: {'; '.join(refused)}")
            raise LocalRunError(
                f"network {network} kept: Docker still counts an endpoint on it {RELEASED_WITHIN:.0f} s after its last "
                "container was removed, and lists none (moby/moby#43286, Docker 20.10); the stack's containers "
                "are removed. Restarting dockerd recounts and frees it; until then `up` reuses it"
            )
        time.sleep(RETRY_SECONDS)


def _attached(daemon: Daemon, network: str) -> dict[str, bool] | None:
    """The names Docker lists as attached to `network` -> whether such a container exists;
    None when there is no such network."""
    inspected = daemon.run(["docker", "network", "inspect", "-f", "{{json .Containers}}", network], check=False)
    if inspected.returncode != 0:
        if _absent(network, inspected.stderr):
            return None
        raise LocalRunError(f"`docker network inspect {network}` failed: {inspected.stderr.strip()}")
    try:
        endpoints = json.loads(inspected.stdout or "null") or {}
    except ValueError:  # two networks of that name (a race of Compose's on Docker 20.10): one JSON each
        raise LocalRunError(f"more than one network is named {network}: `docker network ls --filter name={network}`, remove the empty ones") from None
    existing = set(daemon.run(["docker", "ps", "-a", "-q", "--no-trunc"]).stdout.split())
    return {endpoint.get("Name") or container: container in existing for container, endpoint in endpoints.items()}


def _absent(network: str, error: str) -> bool:
    """Whether Docker failed because there is no such network (its words differ by version)."""
    return f"network {network} not found" in error or "No such network" in error
