"""The two places an ephemeral stack runs, behind `ephemeral.Driver`.

- `DockerDriver`: the local Docker engine through the Compose export; needs no Pulumi CLI.
- `PulumiDriver`: the Pulumi Automation API, on a local file backend by default or any
  backend by URL; it needs the Pulumi CLI, and says so clearly when it is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from maestro_deploy.ephemeral import PREFIX, DriverError, EphemeralStack
from maestro_deploy.local import Compose, Daemon, LocalRunError, leftovers
from maestro_deploy.offline.mock_run import PROJECT
from maestro_deploy.pulumi_passphrase import PULUMI_STATE, passphrase_env

LABEL = "maestro.dev/ephemeral"
JUNIT_BEGIN, JUNIT_END = "::junit-xml-begin::", "::junit-xml-end::"
RUNNER = "quality-fabric-runner"


def junit_from_log(log: str) -> str:
    """The JUnit XML that quality-fabric's runner prints between markers at its end."""
    if JUNIT_BEGIN not in log or JUNIT_END not in log:
        raise DriverError("quality-fabric's runner printed no JUnit XML; see its log")
    return log.split(JUNIT_BEGIN, 1)[1].split(JUNIT_END, 1)[0].strip()


class DockerDriver:
    name = "docker"

    def __init__(self, workdir: Path = Path("out/ephemeral"), daemon: Daemon = Daemon()):
        self.workdir = workdir
        self.daemon = daemon

    def _docker(self, args: list[str]) -> str:
        try:
            return self.daemon.run(["docker", *args]).stdout
        except LocalRunError as err:
            raise DriverError(str(err)) from None

    def _state(self, stack: str) -> Path:
        return self.workdir / ".state" / stack

    def _compose(self, stack: str) -> Compose:
        return Compose(stack, self.workdir / stack, self.daemon)

    def deploy(self, stack: str, config: dict[str, Any]) -> None:
        from maestro_deploy.offline.running import write_compose
        from maestro_deploy.offline.stack import Loaded, check, on_platform

        # No host ports: many runs share the engine; the runner tests inside the stack's network.
        config = on_platform({**config, "maestro:docker": {**config.get("maestro:docker", {}), "publish": False}}, "docker")
        settings, _ = check(config, None)
        # Its generated passwords beside the export, not in it: the export's directory is render's own.
        write_compose(Loaded(stack, config, settings, None), self.workdir / stack, self._state(stack))
        try:
            compose = self._compose(stack)
            compose.build_images(print)  # reused from the layer cache when nothing changed
            compose.up()
        except LocalRunError as err:
            raise DriverError(str(err)) from None

    def wait_healthy(self, stack: str) -> None:
        try:
            self._compose(stack).wait_healthy()
        except LocalRunError as err:
            raise DriverError(str(err)) from None

    def run_tests(self, stack: str) -> str:
        compose = self._compose(stack)
        try:
            compose.wait_task(RUNNER)
        except LocalRunError as err:
            raise DriverError(str(err)) from None
        return junit_from_log(self._docker(["logs", compose.services()[RUNNER]["container_name"]]))

    def destroy(self, stack: str) -> None:
        """By label, not by compose file: it works for a stack whose run died long ago."""
        label = f"label=maestro.stack={stack}"
        containers = self._docker(["ps", "-aq", "--filter", label]).split()
        if containers:
            self._docker(["rm", "-f", "-v", *containers])
        networks = self._docker(["network", "ls", "-q", "--filter", label]).split()
        if networks:
            self._docker(["network", "rm", *networks])
        volumes = self._docker(["volume", "ls", "-q", "--filter", label]).split()
        if volumes:
            self._docker(["volume", "rm", "-f", *volumes])
        left = leftovers(stack, self.daemon)
        if left:
            raise DriverError(f"still present after removal: {left}")
        # Through the writer: only what the run wrote there goes (its runner's reports with it).
        from maestro_deploy.config.errors import ConfigError
        from maestro_deploy.offline.compose import forget_generated
        from maestro_deploy.safety.files import remove_owned

        try:
            remove_owned(self.workdir / stack, "the run's export")
            forget_generated(self._state(stack), stack)
        except ConfigError as err:
            raise DriverError(str(err)) from None

    def list(self) -> list[EphemeralStack]:
        fields = '{{.Label "maestro.stack"}}\t{{.Label "maestro.dev/owner"}}\t{{.Label "maestro.dev/created"}}\t{{.Label "maestro.dev/expires"}}'
        found: dict[str, EphemeralStack] = {}
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
            for line in self._docker([*kind, "--filter", f"label={LABEL}=true", "--format", fields]).splitlines():
                name, owner, created, expires = (line.split("\t") + ["", "", "", ""])[:4]
                if name.startswith(PREFIX) and name not in found:
                    found[name] = EphemeralStack(name, owner, int(created or 0), int(expires or 0))
        return list(found.values())


class PulumiDriver:
    """The Automation API: `pulumi up`, `destroy` and `stack rm` through the Pulumi CLI."""

    name = "pulumi"

    def __init__(self, backend_url: Optional[str] = None, auto: Any = None, logs: Optional[Callable[[str, dict], str]] = None):
        self.backend_url = backend_url or f"file://{PULUMI_STATE.resolve()}"
        self._auto = auto  # the `pulumi.automation` module; tests pass a stand-in
        self._logs = logs or _runner_log
        self._config: dict[str, dict[str, Any]] = {}

    @property
    def auto(self):
        if self._auto is None:
            import pulumi.automation

            self._auto = pulumi.automation
        return self._auto

    def _options(self, work_dir: str):
        auto = self.auto
        if self.backend_url.startswith("file://"):
            Path(self.backend_url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        return auto.LocalWorkspaceOptions(
            # A directory of ours: without one, each workspace leaves a /tmp/automation-* behind.
            work_dir=work_dir,
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=self.backend_url)
            ),
            env_vars=passphrase_env(),
        )

    @contextmanager
    def _workspace(self) -> Iterator[str]:
        """A work directory for one operation's workspace, removed with everything in it."""
        with tempfile.TemporaryDirectory(prefix="maestro-pulumi-") as work_dir:
            yield work_dir

    def _cli(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except FileNotFoundError:
            raise DriverError(
                "the Pulumi CLI is not installed, and the Automation API drives it: install it with "
                "`curl -fsSL https://get.pulumi.com | sh`, or use --driver docker"
            ) from None
        except Exception as err:  # the Automation API's CommandError and friends
            if type(err).__module__.startswith("pulumi.automation"):
                raise DriverError(f"pulumi: {str(err).strip().splitlines()[-1] if str(err).strip() else err}") from None
            raise

    def _stack(self, stack: str, work_dir: str):
        from maestro_deploy.program import main

        return self._cli(
            lambda: self.auto.create_or_select_stack(
                stack_name=stack, project_name=PROJECT, program=main, opts=self._options(work_dir)
            )
        )

    def deploy(self, stack: str, config: dict[str, Any]) -> None:
        auto = self.auto
        if config.get("maestro:platform", "kubernetes") == "kubernetes":
            # A namespace of its own, named as the stack: unique, and gone with it.
            config = {**config, "maestro:kubernetes": {**(config.get("maestro:kubernetes") or {}), "namespace": stack}}
        with self._workspace() as work_dir:
            handle = self._stack(stack, work_dir)
            values = {k: auto.ConfigValue(value=v if isinstance(v, str) else json.dumps(v)) for k, v in config.items()}
            self._cli(lambda: handle.set_all_config(values))
            ephemeral = config["maestro:ephemeral"]
            for key in ("owner", "created", "expires"):
                self._cli(lambda key=key: handle.set_tag(f"maestro:{key}", str(ephemeral[key])))
            self._cli(lambda: handle.set_tag(LABEL, "true"))
            self._config[stack] = config
            self._cli(lambda: handle.up(on_output=lambda line: print(line, end="", flush=True)))

    def wait_healthy(self, stack: str) -> None:
        """`pulumi up` has already waited: Deployments until ready, containers until healthy."""

    def run_tests(self, stack: str) -> str:
        """`pulumi up` waited for the runner (a Job, or an attached container); read its log."""
        return junit_from_log(self._logs(stack, self._config.get(stack, {})))

    def destroy(self, stack: str) -> None:
        with self._workspace() as work_dir:
            handle = self._stack(stack, work_dir)
            self._cli(lambda: handle.destroy(on_output=lambda line: print(line, end="", flush=True)))
            self._cli(lambda: handle.workspace.remove_stack(stack))

    def list(self) -> list[EphemeralStack]:
        with self._workspace() as work_dir:
            workspace = self._cli(lambda: self.auto.LocalWorkspace(**vars_of(self._options(work_dir))))
            return self._tagged(workspace)

    def _tagged(self, workspace: Any) -> list[EphemeralStack]:
        found = []
        for summary in self._cli(workspace.list_stacks):
            if not summary.name.startswith(PREFIX):
                continue
            tags = self._cli(lambda: workspace.list_tags(summary.name))
            if tags.get(LABEL) == "true":
                found.append(
                    EphemeralStack(
                        summary.name,
                        tags.get("maestro:owner", "?"),
                        int(tags.get("maestro:created", 0)),
                        int(tags.get("maestro:expires", 0)),
                    )
                )
        return found


def vars_of(options: Any) -> dict[str, Any]:
    """LocalWorkspaceOptions as LocalWorkspace's keyword arguments."""
    return {k: v for k, v in vars(options).items() if v is not None}


def _runner_log(stack: str, config: dict[str, Any]) -> str:
    """The runner's log: `docker logs` on the Docker platform, `kubectl logs` on Kubernetes."""
    if config.get("maestro:platform") == "docker":
        return DockerDriver(daemon=Daemon((config.get("maestro:docker") or {}).get("host")))._docker(["logs", f"maestro-{stack}-{RUNNER}"])
    namespace = (config.get("maestro:kubernetes") or {}).get("namespace", stack)
    if shutil.which("kubectl") is None:
        raise DriverError("kubectl is needed to read quality-fabric's results from the cluster")
    result = subprocess.run(["kubectl", "logs", "-n", namespace, f"job/{RUNNER}"], capture_output=True, text=True)
    if result.returncode != 0:
        raise DriverError(f"kubectl logs job/{RUNNER}: {result.stderr.strip()}")
    return result.stdout
