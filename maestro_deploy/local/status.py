"""What of a stack runs on its daemon: each unit's state and health, and what a teardown left."""

from __future__ import annotations

import json
from dataclasses import dataclass

from maestro_deploy.local.daemon import Daemon, project
from maestro_deploy.local.probe import SAID_AT_MOST


def leftovers(stack: str, daemon: Daemon = Daemon()) -> dict[str, list[str]]:
    """Containers, networks and volumes labelled with the stack: empty after a full teardown."""
    label = f"label=maestro.stack={stack}"
    found = {
        "containers": daemon.run(["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}"]).stdout.split(),
        "networks": daemon.run(["docker", "network", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
        "volumes": daemon.run(["docker", "volume", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
    }
    return {kind: names for kind, names in found.items() if names}


def last_check_output(daemon: Daemon, container: str) -> str:
    """The last line of what the container's health check printed the last time Docker ran it
    (a traceback's is its error), short; "" when it has not run."""
    found = daemon.run(["docker", "inspect", "-f", "{{json .State.Health}}", container], check=False).stdout.strip()
    log = (json.loads(found).get("Log") or []) if found.startswith("{") else []  # "null": no health check
    lines = [line.strip() for line in str(log[-1].get("Output", "")).splitlines() if line.strip()] if log else []
    said = lines[-1] if lines else ""
    return said if len(said) <= SAID_AT_MOST else said[: SAID_AT_MOST - 3] + "..."


def database_volumes(stack: str, daemon: Daemon = Daemon()) -> list[str]:
    """The data volumes of the stack's bundled databases: each was initialised with the password
    generated for it, and refuses any other."""
    filters = ["--filter", f"label=maestro.stack={stack}", "--filter", "label=maestro.component=database"]
    return daemon.run(["docker", "volume", "ls", *filters, "--format", "{{.Name}}"]).stdout.split()


@dataclass
class UnitStatus:
    product: str
    unit: str
    state: str  # running, exited (0), restarting ...
    health: str  # healthy, unhealthy, starting, none
    image: str
    started: str  # ISO time, as Docker reports it
    task: bool  # runs once: done when it exited 0

    @property
    def ok(self) -> bool:
        if self.task:
            return self.state in ("running", "exited (0)")
        return self.state == "running" and self.health in ("healthy", "none")


def inspect_stack(stack: str, daemon: Daemon = Daemon()) -> list[dict]:
    """`docker inspect` of every container of the stack (running or not); [] when it has none."""
    names = daemon.run(["docker", "ps", "-a", "--filter", f"label=maestro.stack={stack}", "--format", "{{.Names}}"]).stdout.split()
    return json.loads(daemon.run(["docker", "inspect", *names]).stdout) if names else []


def passes_health_check(daemon: Daemon, container: str, test: list[str]) -> bool:
    """Whether the container passes its health check (Docker's `Healthcheck.Test`) now, run here:
    Docker 20.10 first runs it one interval after a start, and says `starting` until then."""
    command = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    return daemon.run(["docker", "exec", container, *command], check=False).returncode == 0


def stack_status(stack: str, daemon: Daemon = Daemon()) -> list[UnitStatus]:
    """Every container of the stack, as Docker sees it now; one Docker has not yet probed since it
    started is healthy if its health check, run here, passes. LocalRunError when Docker does not answer."""
    found = []
    for c in inspect_stack(stack, daemon):
        state, labels = c["State"], c["Config"].get("Labels") or {}
        status = state["Status"] + (f" ({state['ExitCode']})" if state["Status"] == "exited" else "")
        task = (c.get("HostConfig") or {}).get("RestartPolicy", {}).get("Name") == "no"
        health = (state.get("Health") or {}).get("Status", "none")
        if health == "starting" and status == "running" and not task:
            test = (c["Config"].get("Healthcheck") or {}).get("Test") or []
            health = "healthy" if test and passes_health_check(daemon, c["Name"].lstrip("/"), test) else health
        found.append(
            UnitStatus(
                product=labels.get("maestro.product", "?"),
                unit=c["Name"].lstrip("/").removeprefix(f"{project(stack)}-"),
                state=status,
                # A task is judged by how it ended: an image's health check says nothing of it.
                health="none" if task else health,
                image=c["Config"]["Image"],
                started=state.get("StartedAt", ""),
                task=task,
            )
        )
    return sorted(found, key=lambda s: (s.product, s.unit))
