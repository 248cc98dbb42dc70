"""Running a stack's Compose export on the local Docker engine, for machines without
the Pulumi CLI: up (and wait until healthy), the task's verdict, down, and what is left.

Everything here shells out to `docker` and `docker-compose` (Debian's v1), both of
which must be on PATH; every container, network and volume carries the label
`maestro.stack=<stack>`, which is how leftovers are found. Every one of those commands goes
through `Daemon.run`, to the daemon the stack names (`maestro:docker.host`): never, in silence,
to whichever daemon this machine's environment points at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from maestro_deploy.local.debian import VendoringError, vendor_debs

# Pinned pure-Python wheels that a build context wants in its site-packages/: installed by
# the host's pip, because the image build itself runs with no network (this project's
# images; a context without this file is built as it is).
VENDOR_LOCK = "vendor-wheels.lock"


class Progress:
    """One line per phase of a long job, with the seconds since it began. The clock may
    start in the shell script that runs this (MAESTRO_PROGRESS_START, epoch seconds)."""

    def __init__(self, started: Optional[float] = None):
        self.started = started if started is not None else float(os.environ.get("MAESTRO_PROGRESS_START") or time.time())

    def __call__(self, message: str) -> None:
        print(f"[{time.time() - self.started:6.1f}s] {message}", flush=True)


class LocalRunError(Exception):
    """Docker or Compose failed: the message says which command and why."""


def project(stack: str) -> str:
    return f"maestro-{stack}"


def _run(args: list[str], check: bool = True, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise LocalRunError(f"`{args[0]}` is not installed: apt-get install -y docker.io docker-compose")
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise LocalRunError(f"`{' '.join(args)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


@dataclass(frozen=True)
class Daemon:
    """The Docker daemon a stack runs on: `docker` and `docker-compose` reach it through
    DOCKER_HOST, which both honour. Without a host, the environment's DOCKER_HOST or the
    local daemon, as `maestro:docker.host` documents."""

    host: Optional[str] = None

    def environment(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = {**os.environ, **(extra or {})}
        if self.host:
            env["DOCKER_HOST"] = self.host
            env.pop("DOCKER_CONTEXT", None)  # a context would name a daemon of its own
        return env

    def run(self, args: list[str], check: bool = True, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
        """`docker ...` or `docker-compose ...` on this daemon; LocalRunError when it fails and `check`."""
        return _run(args, check=check, env=self.environment(env))

    def __str__(self) -> str:
        return self.host or os.environ.get("DOCKER_HOST") or "the local Docker daemon"


def daemon_of(settings) -> Daemon:
    """The daemon of a Docker stack (`StackSettings`): its `maestro:docker.host`."""
    return Daemon(settings.docker.host if settings.docker else None)


@dataclass
class Compose:
    stack: str
    directory: Path
    daemon: Daemon = Daemon()

    @property
    def base(self) -> list[str]:
        return ["docker-compose", "-p", project(self.stack), "-f", str(self.directory / "compose.yaml")]

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
            before = _image_id(self.daemon, image)
            args = ["docker", "build", "-q", "-t", image]
            if build.get("dockerfile"):
                args += ["-f", str(context / build["dockerfile"])]
            for key, value in (build.get("args") or {}).items():
                args += ["--build-arg", f"{key}={value}"]
            self.daemon.run(args + [str(context)], env={"DOCKER_BUILDKIT": "0"})
            progress(f"image {image} {'reused (unchanged)' if _image_id(self.daemon, image) == before else 'built'}")

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
            states = {name: _health(self.daemon, container) for name, container in checked.items()}
            for name in sorted(n for n, state in states.items() if state == "healthy" and n not in told):
                told.add(name)
                if progress:
                    progress(f"{name} healthy")
            if len(told) == len(checked):
                return
            if time.monotonic() > deadline:
                late = ", ".join(f"{checked[n]} ({s})" for n, s in states.items() if s != "healthy")
                raise LocalRunError(f"not healthy after {timeout:.0f} s: {late}; see `docker logs <name>`")
            time.sleep(0.5)

    def wait_task(self, service: str, timeout: float = 300) -> int:
        """The exit code of a task's container, once it has ended."""
        name = self.services()[service]["container_name"]
        deadline = time.monotonic() + timeout
        while self.daemon.run(["docker", "inspect", "-f", "{{.State.Status}}", name]).stdout.strip() != "exited":
            if time.monotonic() > deadline:
                raise LocalRunError(f"{name} still running after {timeout:.0f} s")
            time.sleep(2)
        return int(self.daemon.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name]).stdout.strip())

    def logs(self, service: str) -> str:
        return self.daemon.run(self.base + ["logs", "--no-color", service], check=False).stdout

    def down(self, delete_data: bool) -> None:
        """Remove containers and the network; named volumes (data) only when asked."""
        self.daemon.run(self.base + ["down", "--remove-orphans"] + (["--volumes"] if delete_data else []))


def vendor_wheels(context: Path) -> None:
    """Install the context's pinned wheels into its site-packages/, once per lock file."""
    lock = context / VENDOR_LOCK
    if not lock.is_file():
        return
    target = context / "site-packages"
    stamp = target / VENDOR_LOCK
    if stamp.is_file() and stamp.read_bytes() == lock.read_bytes():
        return
    shutil.rmtree(target, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "--only-binary=:all:"]
    result = subprocess.run(pip + ["--target", str(target), "-r", str(lock)], capture_output=True, text=True)
    if result.returncode != 0:
        raise LocalRunError(f"vendoring {lock} failed: {result.stderr.strip()[-2000:]}")
    shutil.copyfile(lock, stamp)


def _image_id(daemon: Daemon, image: str) -> str:
    result = daemon.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _health(daemon: Daemon, container: str) -> str:
    result = daemon.run(["docker", "inspect", "-f", "{{json .State}}", container], check=False)
    if result.returncode != 0:
        return "missing"
    state = json.loads(result.stdout)
    return (state.get("Health") or {}).get("Status") or state.get("Status", "unknown")


def leftovers(stack: str, daemon: Daemon = Daemon()) -> dict[str, list[str]]:
    """Containers, networks and volumes labelled with the stack: empty after a full teardown."""
    label = f"label=maestro.stack={stack}"
    found = {
        "containers": daemon.run(["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}"]).stdout.split(),
        "networks": daemon.run(["docker", "network", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
        "volumes": daemon.run(["docker", "volume", "ls", "--filter", label, "--format", "{{.Name}}"]).stdout.split(),
    }
    return {kind: names for kind, names in found.items() if names}



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


def stack_status(stack: str, daemon: Daemon = Daemon()) -> list[UnitStatus]:
    """Every container of the stack, as Docker sees it now. LocalRunError when Docker does not answer."""
    names = daemon.run(["docker", "ps", "-a", "--filter", f"label=maestro.stack={stack}", "--format", "{{.Names}}"]).stdout.split()
    if not names:
        return []
    found = []
    for c in json.loads(daemon.run(["docker", "inspect", *names]).stdout):
        state, labels = c["State"], c["Config"].get("Labels") or {}
        status = state["Status"] + (f" ({state['ExitCode']})" if state["Status"] == "exited" else "")
        task = (c.get("HostConfig") or {}).get("RestartPolicy", {}).get("Name") == "no"
        found.append(
            UnitStatus(
                product=labels.get("maestro.product", "?"),
                unit=c["Name"].lstrip("/").removeprefix(f"{project(stack)}-"),
                state=status,
                # A task is judged by how it ended: an image's health check says nothing of it.
                health="none" if task else (state.get("Health") or {}).get("Status", "none"),
                image=c["Config"]["Image"],
                started=state.get("StartedAt", ""),
                task=task,
            )
        )
    return sorted(found, key=lambda s: (s.product, s.unit))
