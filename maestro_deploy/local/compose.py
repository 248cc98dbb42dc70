"""A stack's Compose export on its daemon: images built, up, healthy, a task's verdict, down."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from maestro_deploy.local.daemon import Daemon, LocalRunError, compose_command, project
from maestro_deploy.local.debian import VendoringError, vendor_debs
from maestro_deploy.local.images import image_id, vendor_wheels

# How often a wait asks Docker again: each question is one `docker inspect` (tens of ms), and
# a wait ends at most this long after what it waits for happened.
POLL_SECONDS = 0.25


@dataclass
class Compose:
    stack: str
    directory: Path
    daemon: Daemon = Daemon()

    @property
    def base(self) -> list[str]:
        return [*compose_command(self.daemon), "-p", project(self.stack), "-f", str(self.directory / "compose.yaml")]

    def services(self) -> dict[str, dict]:
        import yaml

        return yaml.safe_load((self.directory / "compose.yaml").read_text(encoding="utf-8"))["services"]

    def build_images(self, progress: Callable[[str], None]) -> None:
        """Build every image a service names a build for, once per image, with Docker's
        classic builder (no registry, no BuildKit); the layer cache makes a rebuild cheap."""
        builds = {s["image"]: s["build"] for s in self.services().values() if "build" in s}
        for image, build in builds.items():
            context = Path(build["context"])
            vendor_wheels(context)
            try:
                vendor_debs(context)
            except VendoringError as err:
                raise LocalRunError(str(err)) from None
            before = image_id(self.daemon, image)
            args = ["docker", "build", "-q", "-t", image]
            if build.get("dockerfile"):
                args += ["-f", str(context / build["dockerfile"])]
            for key, value in (build.get("args") or {}).items():
                args += ["--build-arg", f"{key}={value}"]
            self.daemon.run(args + [str(context)], env={"DOCKER_BUILDKIT": "0"})
            progress(f"image {image} {'reused (unchanged)' if image_id(self.daemon, image) == before else 'built'}")

    def up(self) -> None:
        self.daemon.run(self.base + ["up", "-d", "--remove-orphans"])

    def container_ids(self) -> dict[str, str]:
        """Service -> the id of its container: a re-run that changes nothing keeps every one."""
        ids = {}
        for service, spec in self.services().items():
            found = self.daemon.run(["docker", "inspect", "-f", "{{.Id}}", spec["container_name"]], check=False)
            ids[service] = found.stdout.strip() if found.returncode == 0 else ""
        return ids

    def wait_healthy(self, timeout: float = 180, progress: Optional[Callable[[str], None]] = None) -> None:
        """Until every service with a health check is healthy; a task may have ended by then.
        `progress` hears of each service once, as it becomes healthy."""
        checked = {
            name: s["container_name"]
            for name, s in self.services().items()
            if "healthcheck" in s and s["restart"] != "no"
        }
        deadline = time.monotonic() + timeout
        told: set[str] = set()
        while True:
            states = {name: health(self.daemon, container) for name, container in checked.items()}
            for name in sorted(n for n, state in states.items() if state == "healthy" and n not in told):
                told.add(name)
                if progress:
                    progress(f"{name} healthy")
            if len(told) == len(checked):
                return
            if time.monotonic() > deadline:
                late = ", ".join(f"{checked[n]} ({s})" for n, s in states.items() if s != "healthy")
                raise LocalRunError(f"not healthy after {timeout:.0f} s: {late}; see `docker logs <name>`")
            time.sleep(POLL_SECONDS)

    def wait_task(self, service: str, timeout: float = 300) -> int:
        """The exit code of a task's container, once it has ended."""
        name = self.services()[service]["container_name"]
        deadline = time.monotonic() + timeout
        while self.daemon.run(["docker", "inspect", "-f", "{{.State.Status}}", name]).stdout.strip() != "exited":
            if time.monotonic() > deadline:
                raise LocalRunError(f"{name} still running after {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
        return int(self.daemon.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name]).stdout.strip())

    def logs(self, service: str) -> str:
        return self.daemon.run(self.base + ["logs", "--no-color", service], check=False).stdout

    def down(self, delete_data: bool) -> None:
        """Remove containers and the network; named volumes (data) only when asked."""
        self.daemon.run(self.base + ["down", "--remove-orphans"] + (["--volumes"] if delete_data else []))


def health(daemon: Daemon, container: str) -> str:
    result = daemon.run(["docker", "inspect", "-f", "{{json .State}}", container], check=False)
    if result.returncode != 0:
        return "missing"
    state = json.loads(result.stdout)
    return (state.get("Health") or {}).get("Status") or state.get("Status", "unknown")
