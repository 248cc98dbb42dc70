"""`maestro-deploy logs <stack> [unit]`: a stack's logs by unit name, never by container name.

On Docker, each unit's `docker logs`, every line prefixed with its unit when there are several;
on Kubernetes, the `kubectl logs` command that selects the unit's pods by their labels."""

from __future__ import annotations

import re
import sys
import threading
from typing import Optional

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.local import Daemon
from maestro_deploy.operate.parts import units
from maestro_deploy.exit_codes import EXIT_INFRASTRUCTURE, EXIT_OK

DURATION = re.compile(r"^([0-9]+[hms])+$")  # what both `docker logs --since` and `kubectl logs --since` take


def since_of(given: Optional[str]) -> Optional[str]:
    if given is not None and not DURATION.match(given):
        raise ConfigError([Problem("--since", f"expected a duration such as 30s, 10m or 1h30m (got {given!r})")])
    return given


# The label every pod of a unit carries (components/kubernetes/service_unit.py UNIT_LABEL).
UNIT_LABEL = "maestro.dev/unit"


def docker_logs(stack: str, unit: Optional[str], follow: bool, since: Optional[str], daemon: Daemon) -> int:
    found = units(stack, daemon)
    if not found:
        raise ConfigError([Problem(stack, "has no container on this Docker engine: it is not up")])
    if unit is not None and unit not in found:
        raise ConfigError([Problem(unit, f"no such unit in {stack}; its units: {', '.join(sorted(found))}")])
    chosen = [found[unit]] if unit else [found[name] for name in sorted(found)]
    options = (["--follow"] if follow else []) + (["--since", since] if since else [])
    width = max(len(u.name) for u in chosen)
    lock = threading.Lock()

    def relay(name: str, container: str) -> int:
        process = daemon.stream(["docker", "logs", *options, container])
        for line in process.stdout:
            with lock:
                sys.stdout.write(line if unit else f"{name:<{width}} | {line}")
                sys.stdout.flush()
        return process.wait()

    codes: dict[str, int] = {}
    threads = [threading.Thread(target=lambda u=u: codes.__setitem__(u.name, relay(u.name, u.container)), daemon=True) for u in chosen]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK if all(code == 0 for code in codes.values()) else EXIT_INFRASTRUCTURE


def kubectl_logs(namespace: str, stack: str, unit: Optional[str], follow: bool, since: Optional[str], context: Optional[str]) -> str:
    # The stack's label too: stacks may share a namespace, and their units have the same names.
    selector = f"app.kubernetes.io/instance={stack}" + (f",{UNIT_LABEL}={unit}" if unit else ",app.kubernetes.io/part-of=maestro")
    words = ["kubectl", "logs"] + (["--context", context] if context else []) + ["-n", namespace, "-l", selector]
    words += ["--all-containers", "--prefix", "--tail=-1", "--max-log-requests", "20"]
    return " ".join(words + (["--follow"] if follow else []) + (["--since", since] if since else []))
