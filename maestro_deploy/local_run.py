"""Running a stack's Compose export on the local Docker engine, for machines without
the Pulumi CLI: up (and wait until healthy), the task's verdict, down, and what is left.

Everything here shells out to `docker` and `docker-compose` (Debian's v1), both of
which must be on PATH; every container, network and volume carries the label
`maestro.stack=<stack>`, which is how leftovers are found.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path



class LocalRunError(Exception):
    """Docker or Compose failed: the message says which command and why."""


def project(stack: str) -> str:
    return f"maestro-{stack}"


def _run(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise LocalRunError(f"`{args[0]}` is not installed: apt-get install -y docker.io docker-compose")
    result = subprocess.run(args, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LocalRunError(f"`{' '.join(args)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass
class Compose:
    stack: str
    directory: Path

    @property
    def base(self) -> list[str]:
        return ["docker-compose", "-p", project(self.stack), "-f", str(self.directory / "compose.yaml")]

    def services(self) -> dict[str, dict]:
        import yaml

        return yaml.safe_load((self.directory / "compose.yaml").read_text(encoding="utf-8"))["services"]

    def up(self) -> None:
        _run(self.base + ["up", "-d", "--remove-orphans"])

    def wait_healthy(self, timeout: float = 180) -> None:
        """Until every service with a health check is healthy; a task may have ended by then."""
        checked = [s["container_name"] for s in self.services().values() if "healthcheck" in s and s["restart"] != "no"]
        deadline = time.monotonic() + timeout
        while True:
            states = {name: _health(name) for name in checked}
            if all(state == "healthy" for state in states.values()):
                return
            if time.monotonic() > deadline:
                late = ", ".join(f"{n} ({s})" for n, s in states.items() if s != "healthy")
                raise LocalRunError(f"not healthy after {timeout:.0f} s: {late}; see `docker logs <name>`")
            time.sleep(2)

    def wait_task(self, service: str, timeout: float = 300) -> int:
        """The exit code of a task's container, once it has ended."""
        name = self.services()[service]["container_name"]
        deadline = time.monotonic() + timeout
        while _run(["docker", "inspect", "-f", "{{.State.Status}}", name]).stdout.strip() != "exited":
            if time.monotonic() > deadline:
                raise LocalRunError(f"{name} still running after {timeout:.0f} s")
            time.sleep(2)
        return int(_run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name]).stdout.strip())

    def logs(self, service: str) -> str:
        return _run(self.base + ["logs", "--no-color", service], check=False).stdout

    def down(self, delete_data: bool) -> None:
        """Remove containers and the network; named volumes (data) only when asked."""
        _run(self.base + ["down", "--remove-orphans"] + (["--volumes"] if delete_data else []))


def _health(container: str) -> str:
    result = _run(["docker", "inspect", "-f", "{{json .State}}", container], check=False)
    if result.returncode != 0:
        return "missing"
    state = json.loads(result.stdout)
    return (state.get("Health") or {}).get("Status") or state.get("Status", "unknown")


def leftovers(stack: str) -> dict[str, list[str]]:
    """Containers, networks and volumes labelled with the stack: empty after a full teardown."""
    label = f"label=maestro.stack={stack}"
    found = {
        "containers": _run(["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}"]).stdout.split(),
        "networks": _run(["docker", "network", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
        "volumes": _run(["docker", "volume", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
    }
    return {kind: names for kind, names in found.items() if names}

