"""Unit-test Maestro infrastructure under Pulumi's mocks, without writing a Mocks class.

Render a stack file, a stack's config, or your own Pulumi program that uses the components,
and read what it registered the way a cluster or a Docker engine would receive it:

    from maestro_deploy.testing import render_program, render_stack

    def test_the_frontend_calls_our_api():
        staging = render_stack("stacks/Pulumi.staging.yaml")
        assert staging.unit("frontend").env["VITE_MAESTRO_API_BASE"] == "https://api.staging.example.com/api"

    def test_my_program_creates_no_namespace():
        rendered = render_program(my_pulumi_program)
        assert rendered.all("Namespace") == []

Installed with the package, a pytest plugin (entry point `pytest11`) offers the same as the
fixtures `maestro_stack` and `maestro_program`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from maestro_deploy.offline.compose import labels_of
from maestro_deploy.offline.mock_run import SECRET_MASK, Registered, Run, reveal, run_program
from maestro_deploy.offline.render import is_kubernetes_object, manifest, run_stack
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

CONTAINER = "docker:index/container:Container"


@dataclass
class Workload:
    """A Deployment or Job, with its single container's view made easy to read."""

    manifest: dict[str, Any]

    @property
    def labels(self) -> dict[str, str]:
        return self.manifest["metadata"]["labels"]

    @property
    def pod(self) -> dict[str, Any]:
        return self.manifest["spec"]["template"]["spec"]

    @property
    def container(self) -> dict[str, Any]:
        (container,) = self.pod["containers"]
        return container

    @property
    def env(self) -> dict[str, Any]:
        """Plain values as strings; values from a Secret as ("secret", name, key)."""
        result: dict[str, Any] = {}
        for var in self.container.get("env", []):
            if "value" in var:
                result[var["name"]] = var["value"]
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                result[var["name"]] = ("secret", ref["name"], ref["key"])
        return result

    @property
    def replicas(self) -> int:
        return self.manifest["spec"].get("replicas", 1)


@dataclass
class Unit:
    """A service unit as deployed, on either platform: its image, its plain env, and the
    names of its secrets, whose values read as masked."""

    name: str
    product: str
    image: str
    env: dict[str, str]
    secrets: dict[str, str]  # variable -> "[secret]"


class Rendered:
    """What a program registered, by kind, by product and by name."""

    def __init__(self, run: Run):
        self.run = run
        self.outputs = run.shown_outputs()  # secrets masked, as `pulumi stack output` shows them
        self.objects = [manifest(r) for r in run.registered if is_kubernetes_object(r)]

    # --- Kubernetes objects, as a cluster receives them (Secret values masked) ---

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.all(kind)}

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.all(kind) if o["metadata"]["name"] == name]
        assert found, f"no {kind} named {name!r}; there are: {sorted(self.names(kind))}"
        (obj,) = found
        return obj

    def deployment(self, name: str) -> Workload:
        return Workload(self.get("Deployment", name))

    def job(self, name: str) -> Workload:
        return Workload(self.get("Job", name))

    def network_rules(self, unit: str) -> dict[str, Any]:
        """The NetworkPolicy spec of a unit: who may reach it, and what it may reach."""
        return self.get("NetworkPolicy", unit)["spec"]

    # --- any resource, by Pulumi type token ---

    def registered(self, type_token: str, name: Optional[str] = None) -> list[Registered]:
        return [r for r in self.run.registered if r.type == type_token and (name is None or r.name == name)]

    # --- service units, on either platform ---

    def units(self) -> list[Unit]:
        found = [self._from_workload(Workload(o)) for o in self.objects if o["kind"] in ("Deployment", "Job")]
        return found + [self._from_container(r) for r in self.registered(CONTAINER)]

    def unit(self, name: str) -> Unit:
        found = [u for u in self.units() if u.name == name]
        assert found, f"no unit named {name!r}; there are: {sorted(u.name for u in self.units())}"
        return found[0]

    def product(self, key: str) -> list[Unit]:
        """Every unit of a product: `product("quality-fabric")` is its api, ui and runner."""
        return [u for u in self.units() if u.product == key]

    @staticmethod
    def _from_workload(workload: Workload) -> Unit:
        env = workload.env
        return Unit(
            name=workload.manifest["metadata"]["name"],
            product=workload.labels["app.kubernetes.io/name"],
            image=workload.container["image"],
            env={k: v for k, v in env.items() if isinstance(v, str)},
            secrets={k: SECRET_MASK for k, v in env.items() if not isinstance(v, str)},
        )

    @staticmethod
    def _from_container(container: Registered) -> Unit:
        labels = labels_of(container)
        secret_names = set(filter(None, labels.get("maestro.secret-env", "").split(",")))
        envs, _ = reveal(container.inputs.get("envs", []))
        env = dict(reveal(entry)[0].split("=", 1) for entry in envs)
        return Unit(
            name=container.name,
            product=labels.get("maestro.product", ""),
            image=container.inputs["image"],
            env={k: v for k, v in env.items() if k not in secret_names},
            secrets={k: SECRET_MASK for k in env if k in secret_names},
        )


def render_stack(
    stack: Union[str, Path, dict[str, Any]],
    *,
    name: Optional[str] = None,
    stack_outputs: Optional[dict[str, dict[str, Any]]] = None,
    secret_keys: Optional[list[str]] = None,
) -> Rendered:
    """A stack file (a path, or a stack's name in ./stacks), or a `config:` map, through the
    real program. `stack_outputs` stand in for other stacks' outputs: {"org/project/stack": {...}}."""
    if isinstance(stack, dict):
        config, stack_name = stack, name or "test"
    else:
        stack_name, path = resolve_stack_path(str(stack))
        config, stack_name = read_stack_config(path), name or stack_name
    return Rendered(run_stack(stack_name, config, secret_keys, stack_outputs=stack_outputs))


def render_program(
    program: Callable[[], Optional[dict[str, Any]]],
    config: Optional[dict[str, Any]] = None,
    *,
    stack: str = "test",
    secret_keys: Optional[list[str]] = None,
) -> Rendered:
    """Your own Pulumi program (a function that registers resources and may return its
    outputs), under Pulumi's mocks, with `config` set as the Pulumi CLI would set it."""
    return Rendered(run_program(stack, config or {}, program, secret_keys))
