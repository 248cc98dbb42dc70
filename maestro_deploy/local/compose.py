"""A stack's Compose export on its daemon: images built, up, healthy, a task's verdict, down."""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Callable, Iterable, Iterator, Mapping, Optional

from maestro_deploy.local.daemon import Daemon, LocalRunError, compose_command, last_lines, project
from maestro_deploy.local.images import build_digest, image_label
from maestro_deploy.local.network import remove_network, still_in_use
from maestro_deploy.local.prefetch import vendor
from maestro_deploy.local.probe import http_answer, http_check, http_passes, is_local, reachable_at
from maestro_deploy.local.status import last_check_output, passes_health_check

# The label on an image this repo builds: the digest of what it was built from (images.build_digest).
DIGEST_LABEL = "maestro.build-digest"
# How often a wait asks Docker again: each question is one `docker inspect` (tens of ms), and
# a wait ends at most this long after what it waits for happened.
POLL_SECONDS = 0.25
# A unit's own health check run in its container (`docker exec`) while Docker still says `starting`
# costs a process there and about 0.1 s of CPU: each unit's at most this often, a few at a time,
# so that on two cores the checks do not slow the starts they wait for. An HTTP check asked from
# here (probe.py) costs milliseconds, and is asked at every poll.
PROBE_SECONDS = 1.0
PROBES_AT_ONCE = 2
# How long a stack's units have to become healthy: from the start of a wait, or in `up` from
# the moment every image is there (a build's time is not a unit's).
HEALTHY_WITHIN = 180


class BuildFailed(LocalRunError):
    """An image could not be built (or its context filled): nothing waits for a unit that cannot start."""


class NotStarted(LocalRunError):
    """Units were not started: what they wait for turned unhealthy, or was not healthy in time."""


@dataclass
class Compose:
    stack: str
    directory: Path
    daemon: Daemon = Daemon()
    _probed: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)
    # time.monotonic() when `up` found every image there: each unit's health deadline counts from it.
    images_there: Optional[float] = field(default=None, init=False, repr=False, compare=False)

    @property
    def base(self) -> list[str]:
        return [*compose_command(self.daemon), "-p", project(self.stack), "-f", str(self.directory / "compose.yaml")]

    def services(self) -> dict[str, dict]:
        return self._export()["services"]

    def networks(self) -> list[str]:
        return [network["name"] for network in (self._export().get("networks") or {}).values()]

    def _export(self) -> dict:
        import yaml

        return yaml.safe_load((self.directory / "compose.yaml").read_text(encoding="utf-8"))

    def build_images(self, progress: Callable[[str], None]) -> None:
        """Every image a service names a build for (`building`), each once; returns when all
        are built, and raises the first failure."""
        with self.building(progress) as builds:
            for build in builds.values():
                build.result()

    @contextmanager
    def building(self, progress: Callable[[str], None]) -> Iterator[dict[str, Future]]:
        """Image -> its build, running in the background while the block runs (`up` starts each
        service as soon as its image is there); the block ends once every build has. An image
        whose build digest (its context, Dockerfile, arguments and base) is the one it was built
        from is reused, and known to be before the block starts: every unit of a stack whose
        images all are starts at once. The others are built with Docker's classic builder (no
        registry, no BuildKit; a failed step's container removed too), all at once: none is
        built from another (each starts from the base image). `progress` hears of each image as
        it is there, from the thread that built it. On leaving, the block waits for every build
        still running, a failed one's included."""
        builds = {s["image"]: s["build"] for s in self.services().values() if "build" in s}

        def said(done: Future) -> None:
            if done.exception() is None:
                progress(done.result())

        with ThreadPoolExecutor(max_workers=max(1, len(builds))) as pool:
            # Each build starts as soon as its own image is known to need one, not once every
            # image's context is hashed: the block itself starts once they all are known.
            # A context that cannot be filled stops the builds not started yet; one already
            # running ends first (leaving the pool waits for it).
            known, stop = {image: Future() for image in builds}, Event()
            made = {image: pool.submit(self._make, image, build, known[image], stop) for image, build in builds.items()}
            try:
                commands = {image: decided.result() for image, decided in known.items()}
            except LocalRunError as err:  # a context's pinned downloads could not be fetched
                stop.set()
                raise BuildFailed(str(err)) from None
            for image in (image for image, command in commands.items() if command is None):
                progress(f"image {image} reused (unchanged)")
            futures = {image: made[image] for image, command in commands.items() if command}
            for future in futures.values():
                future.add_done_callback(said)
            yield futures

    def _build_command(self, image: str, build: dict) -> Optional[list[str]]:
        """The `docker build` that makes the image, or None when it is there as it would be built."""
        context = Path(build["context"])
        vendor(context)
        dockerfile = context / (build.get("dockerfile") or "Dockerfile")
        args = build.get("args") or {}
        digest = build_digest(self.daemon, context, dockerfile, args)
        if image_label(self.daemon, image, DIGEST_LABEL) == digest:
            return None
        command = ["docker", "build", "-q", "--force-rm", "-t", image, "--label", f"{DIGEST_LABEL}={digest}"]
        if build.get("dockerfile"):
            command += ["-f", str(dockerfile)]
        for key, value in args.items():
            command += ["--build-arg", f"{key}={value}"]
        return command + [str(context)]

    def _make(self, image: str, build: dict, known: Future, stop: Event) -> Optional[str]:
        """The image built, unless it is there as it would be (or `stop` is set); `known` hears
        which, first."""
        try:
            command = self._build_command(image, build)
        except BaseException as err:
            known.set_exception(err)
            raise
        known.set_result(command)
        return self._build(image, command) if command and not stop.is_set() else None

    def _build(self, image: str, command: list[str]) -> str:
        result = self.daemon.run(command, check=False, env={"DOCKER_BUILDKIT": "0"})
        if result.returncode != 0:
            said = _build_said(result.stderr.strip() or result.stdout.strip())
            raise BuildFailed(f"image {image} did not build (docker build {command[-1]}):\n{said}")
        return f"image {image} built"

    def up(self, building: Optional[Mapping[str, Future]] = None) -> None:
        """Every service started, each as soon as its image is built (`building`, image -> its
        build) and those it depends on are healthy: Compose would wait for Docker's own probe,
        which Docker 20.10 first runs one interval after a start, and for every image. Those that
        wait, and whose images are there, are created (`up --no-start`) while the first ones
        start, so that starting one is a `docker start`, not a second Compose run (about 1 s on two
        cores). A failed build raises BuildFailed; what had started by then runs on."""
        specs = self.services()
        building = building or {}
        pending = {name: set(spec.get("depends_on") or ()) for name, spec in specs.items()}
        healthy: set[str] = set()
        created: set[str] = set()
        self.images_there = None
        creating: Optional[Future] = None
        with ThreadPoolExecutor(max_workers=1) as background:
            while pending:
                unbuilt = [f for f in building.values() if not f.done()]
                if not unbuilt and self.images_there is None:
                    self.images_there = time.monotonic()
                built = {name for name, spec in specs.items() if _built(building.get(spec["image"]))}
                ready = sorted(name for name, needs in pending.items() if needs <= healthy and name in built)
                if ready:
                    for name in ready:
                        del pending[name]
                    if creating is not None:
                        creating.result()
                    fresh = [name for name in ready if name not in created]
                    if fresh:
                        first = ["--remove-orphans"] if creating is None else []
                        self.daemon.run(self.base + ["up", "-d", *first, "--no-deps", *fresh])
                    if creating is None:
                        created = {name for name in pending if name in built}
                        creating = background.submit(self._create, sorted(created))
                    elif set(ready) & created:
                        self.daemon.run(["docker", "start", *(specs[name]["container_name"] for name in ready if name in created)])
                    continue
                waited_for = set().union(*pending.values()) - healthy - set(pending)  # those started
                if not waited_for:
                    if not unbuilt:  # what they wait for never starts (a cycle, or no such service)
                        raise LocalRunError(f"{', '.join(sorted(pending))} not started: each waits for a service that never starts")
                    wait(unbuilt, return_when=FIRST_COMPLETED)
                    continue
                states = self.health_now(waited_for, specs)
                overdue = self.images_there is not None and time.monotonic() > self.images_there + HEALTHY_WITHIN
                if "unhealthy" in states.values() or overdue:
                    late = ", ".join(self._why(n, s, specs) for n, s in sorted(states.items()) if s != "healthy")
                    raise NotStarted(f"{', '.join(sorted(pending))} not started: not healthy: {late}")
                healthy |= {name for name, state in states.items() if state == "healthy"}
                if not healthy >= waited_for:
                    time.sleep(POLL_SECONDS)

    def health_said(self, service: str, specs: Optional[dict[str, dict]] = None) -> str:
        """Why the service fails its health check, in its own words: what its HTTP check's URL
        answers now, asked from here (the engine's 503 names its database's refusal), else the
        last line its check printed the last time Docker ran it; "" when neither says anything."""
        spec = (specs or self.services())[service]
        if spec.get("healthcheck") and is_local(self.daemon):
            address = container_facts(self.daemon, [spec["container_name"]])[spec["container_name"]][1]
            target = self._http_target(spec, address)
            answer = target and http_answer(*target)
            if answer:
                return f"GET {target[1]} answered {answer}"
        said = last_check_output(self.daemon, spec["container_name"])
        return f"its health check said: {said}" if said else ""

    def _why(self, service: str, state: str, specs: dict[str, dict]) -> str:
        said = self.health_said(service, specs) if state == "unhealthy" else ""
        return f"{specs[service]['container_name']} ({state}" + (f"; {said})" if said else ")")

    def _create(self, services: list[str]) -> None:
        if services:
            self.daemon.run(self.base + ["up", "--no-start", "--no-deps", *services])

    def health_now(self, services: Iterable[str], specs: Optional[dict[str, dict]] = None) -> dict[str, str]:
        """Service -> its health now: Docker's (healthy, unhealthy) or its container's state
        (running, exited, missing); one still `starting` is healthy once its own health check
        passes, asked here: Docker would first run it one interval after the start. An HTTP
        check is asked from this machine at every poll (probe.py); any other runs in the
        container, each at most every PROBE_SECONDS."""
        specs = specs or self.services()
        services = list(services)
        facts = container_facts(self.daemon, [specs[s]["container_name"] for s in services])
        found = {s: facts[specs[s]["container_name"]][0] for s in services}
        starting = [s for s, state in found.items() if state == "starting"]
        if starting:
            with ThreadPoolExecutor(max_workers=min(len(starting), PROBES_AT_ONCE)) as pool:
                asked = [(s, pool.submit(self._passes, specs[s], facts[specs[s]["container_name"]][1])) for s in starting]
                found.update({s: "healthy" for s, passed in asked if passed.result()})
        return found

    def _http_target(self, spec: dict, address: str) -> Optional[tuple[str, str]]:
        """(where this machine reaches it, path) when the unit's health check is an HTTP GET it
        can ask itself (probe.py), else None."""
        check = http_check(spec["healthcheck"]["test"]) if is_local(self.daemon) else None
        where = check and reachable_at(spec, check[0], address)
        return (where, check[1]) if where else None

    def _passes(self, spec: dict, address: str) -> bool:
        test = spec["healthcheck"]["test"]
        target = self._http_target(spec, address)
        if target:
            passed = http_passes(*target)
            if passed is not None:
                return passed
        # Run in the container (not reachable from here, or not an HTTP check): at most every PROBE_SECONDS.
        now = time.monotonic()
        if now - self._probed.get(spec["container_name"], -PROBE_SECONDS) < PROBE_SECONDS:
            return False
        self._probed[spec["container_name"]] = now
        return passes_health_check(self.daemon, spec["container_name"], test)

    def container_ids(self) -> dict[str, str]:
        """Service -> the id of its container: a re-run that changes nothing keeps every one."""
        names = {spec["container_name"]: service for service, spec in self.services().items()}
        # One `docker inspect` for them all (it prints those it finds, and fails for the rest).
        found = self.daemon.run(["docker", "inspect", "-f", "{{.Name}} {{.Id}}", *names], check=False).stdout
        ids = dict(line.lstrip("/").split(" ", 1) for line in found.splitlines() if " " in line)
        return {service: ids.get(name, "") for name, service in names.items()}

    def wait_healthy(self, timeout: float = HEALTHY_WITHIN, progress: Optional[Callable[[str], None]] = None) -> None:
        """Until every service with a health check is healthy; a task may have ended by then.
        `progress` hears of each service once, as it becomes healthy."""
        specs = self.services()
        checked = [name for name, s in specs.items() if "healthcheck" in s and s["restart"] != "no"]
        deadline = time.monotonic() + timeout
        told: set[str] = set()
        while True:
            states = self.health_now(checked, specs)
            for name in sorted(n for n, state in states.items() if state == "healthy" and n not in told):
                told.add(name)
                if progress:
                    progress(f"{name} healthy")
            if len(told) == len(checked):
                return
            if time.monotonic() > deadline:
                late = ", ".join(self._why(n, s, specs) for n, s in states.items() if s != "healthy")
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
        """Remove containers and the networks; named volumes (data) only when asked. Compose
        leaves a network that a container outside the stack holds (with a warning), and fails on
        one Docker refuses to remove yet, with no retry: each is removed, or said, here
        (network.py), then Compose is asked again for whatever its failure left."""
        command = self.base + ["down", "--remove-orphans"] + (["--volumes"] if delete_data else [])
        first = self.daemon.run(command, check=False)
        if first.returncode != 0 and not still_in_use(first.stderr):
            raise LocalRunError(f"`{' '.join(command)}` failed: {first.stderr.strip() or first.stdout.strip()}")
        for network in self.networks():
            remove_network(self.daemon, network)
        if first.returncode != 0:
            self.daemon.run(command)


def container_facts(daemon: Daemon, containers: list[str]) -> dict[str, tuple[str, str]]:
    """Container -> (Docker's health of it, else its state, else "missing"; its address in its
    first network, or ""): one `docker inspect` for them all."""
    result = daemon.run(["docker", "inspect", "-f", "{{.Name}} {{json .State}} {{json .NetworkSettings.Networks}}", *containers], check=False)
    found = {}
    decoder = json.JSONDecoder()
    for line in filter(None, result.stdout.splitlines()):  # none found: Docker prints an empty line
        name, _, rest = line.partition(" ")
        state, end = decoder.raw_decode(rest)
        networks = json.loads(rest[end:].strip() or "null") or {}
        address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), "")
        found[name.lstrip("/")] = ((state.get("Health") or {}).get("Status") or state.get("Status", "unknown"), address)
    return {c: found.get(c, ("missing", "")) for c in containers}


def _built(build: Optional[Future]) -> bool:
    """Whether an image is there: not built here, or its build is done (a failed one raises)."""
    if build is None:
        return True
    if not build.done():
        return False
    build.result()
    return True


def _build_said(said: str) -> str:
    """A build's own words: without the classic builder's deprecation paragraph that Docker
    prints first (the builder is chosen on purpose: no registry, no BuildKit); its last whole
    lines (daemon.last_lines), where the failing step is."""
    lines = said.splitlines()
    if lines and lines[0].startswith("DEPRECATED:"):
        blank = next((i for i, line in enumerate(lines) if not line.strip()), None)
        lines = lines[blank:] if blank is not None else lines
    return last_lines("\n".join(lines))
