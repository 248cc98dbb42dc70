"""A stack's Compose export on its daemon: images built, up, healthy, a task's verdict, down."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from maestro_deploy.local.daemon import Daemon, LocalRunError, compose_command, project
from maestro_deploy.local.debian import VendoringError, vendor_debs
from maestro_deploy.local.images import build_digest, image_label, vendor_wheels
from maestro_deploy.local.status import passes_health_check

# The label on an image this repo builds: the digest of what it was built from (images.build_digest).
DIGEST_LABEL = "maestro.build-digest"
# How often a wait asks Docker again: each question is one `docker inspect` (tens of ms), and
# a wait ends at most this long after what it waits for happened.
POLL_SECONDS = 0.25
# A unit's own health check, run here while Docker still says `starting`, costs a process in its
# container and tens of ms of the daemon's CPU: each unit's at most this often, a few at a time,
# so that on two cores the checks do not slow the starts they wait for.
PROBE_SECONDS = 1.0
PROBES_AT_ONCE = 2


@dataclass
class Compose:
    stack: str
    directory: Path
    daemon: Daemon = Daemon()
    _probed: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def base(self) -> list[str]:
        return [*compose_command(self.daemon), "-p", project(self.stack), "-f", str(self.directory / "compose.yaml")]

    def services(self) -> dict[str, dict]:
        import yaml

        return yaml.safe_load((self.directory / "compose.yaml").read_text(encoding="utf-8"))["services"]

    def build_images(self, progress: Callable[[str], None]) -> None:
        """Build every image a service names a build for, once per image, with Docker's
        classic builder (no registry, no BuildKit), the images at once: none is built from
        another (each starts from the base image). An image whose build digest (its context,
        Dockerfile, arguments and base) is the one it was built from is not built again."""
        builds = {s["image"]: s["build"] for s in self.services().values() if "build" in s}
        if not builds:
            return
        with ThreadPoolExecutor(max_workers=len(builds)) as pool:
            for done in as_completed([pool.submit(self._build, image, build) for image, build in builds.items()]):
                progress(done.result())

    def _build(self, image: str, build: dict) -> str:
        context = Path(build["context"])
        vendor_wheels(context)
        try:
            vendor_debs(context)
        except VendoringError as err:
            raise LocalRunError(str(err)) from None
        dockerfile = context / (build.get("dockerfile") or "Dockerfile")
        args = build.get("args") or {}
        digest = build_digest(self.daemon, context, dockerfile, args)
        if image_label(self.daemon, image, DIGEST_LABEL) == digest:
            return f"image {image} reused (unchanged)"
        command = ["docker", "build", "-q", "-t", image, "--label", f"{DIGEST_LABEL}={digest}"]
        if build.get("dockerfile"):
            command += ["-f", str(dockerfile)]
        for key, value in args.items():
            command += ["--build-arg", f"{key}={value}"]
        self.daemon.run(command + [str(context)], env={"DOCKER_BUILDKIT": "0"})
        return f"image {image} built"

    def up(self) -> None:
        """Every service started, each as soon as those it depends on are healthy: Compose would
        wait for Docker's own probe, which Docker 20.10 first runs one interval after a start."""
        specs = self.services()
        pending = {name: set(spec.get("depends_on") or ()) for name, spec in specs.items()}
        healthy: set[str] = set()
        deadline = time.monotonic() + 180
        while pending:
            ready = sorted(name for name, needs in pending.items() if needs <= healthy)
            if ready:
                self.daemon.run(self.base + ["up", "-d", "--remove-orphans", "--no-deps", *ready])
                for name in ready:
                    del pending[name]
                continue
            waited_for = set().union(*pending.values()) - healthy
            states = self.health_now(waited_for, specs)
            if "unhealthy" in states.values() or time.monotonic() > deadline:
                late = ", ".join(f"{specs[n]['container_name']} ({s})" for n, s in sorted(states.items()) if s != "healthy")
                raise LocalRunError(f"{', '.join(sorted(pending))} not started: not healthy: {late}")
            healthy |= {name for name, state in states.items() if state == "healthy"}
            if not healthy >= waited_for:
                time.sleep(POLL_SECONDS)

    def health_now(self, services: Iterable[str], specs: Optional[dict[str, dict]] = None) -> dict[str, str]:
        """Service -> its health now: Docker's (healthy, unhealthy) or its container's state
        (running, exited, missing); one still `starting` is healthy once its own health check,
        run here (each at most every PROBE_SECONDS), passes: Docker would first run it one
        interval after the start."""
        specs = specs or self.services()
        services = list(services)
        states = container_states(self.daemon, [specs[s]["container_name"] for s in services])
        found = {s: states[specs[s]["container_name"]] for s in services}
        now = time.monotonic()
        starting = [s for s, state in found.items() if state == "starting" and now - self._probed.get(s, -PROBE_SECONDS) >= PROBE_SECONDS]
        self._probed.update({s: now for s in starting})
        if starting:
            with ThreadPoolExecutor(max_workers=min(len(starting), PROBES_AT_ONCE)) as pool:
                for service, passed in zip(starting, pool.map(lambda s: self._passes(specs[s]), starting)):
                    if passed:
                        found[service] = "healthy"
        return found

    def _passes(self, spec: dict) -> bool:
        return passes_health_check(self.daemon, spec["container_name"], spec["healthcheck"]["test"])

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
        specs = self.services()
        while True:
            states = self.health_now(checked, specs)
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


def container_states(daemon: Daemon, containers: list[str]) -> dict[str, str]:
    """Container -> Docker's health of it, else its state, else "missing": one `docker inspect`."""
    result = daemon.run(["docker", "inspect", "-f", "{{.Name}} {{json .State}}", *containers], check=False)
    found = {}
    for line in result.stdout.splitlines():
        name, _, state = line.partition(" ")
        state = json.loads(state)
        found[name.lstrip("/")] = (state.get("Health") or {}).get("Status") or state.get("Status", "unknown")
    return {c: found.get(c, "missing") for c in containers}
