"""Run any stack under mocks and read what it registered, by kind and name.

    env = render_env("staging")
    assert env.deployment("frontend").env["VITE_MAESTRO_API_BASE"] == url
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Union

from maestro_deploy.mock_run import Registered, Run
from maestro_deploy.render import is_kubernetes_object, manifest, run_stack
from maestro_deploy.stack_file import read_stack_config, resolve_stack_path


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


class Env:
    def __init__(self, run: Run):
        self.run = run
        self.outputs = run.outputs
        self.objects = [manifest(r) for r in run.registered if is_kubernetes_object(r)]

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

    def registered(self, type_token: str, name: str | None = None) -> list[Registered]:
        return [r for r in self.run.registered if r.type == type_token and (name is None or r.name == name)]


# The stack that others in stacks/ refer to, and the name the Pulumi CLI gives it.
REFERENCED = "engine-only"
REFERENCED_AS = f"organization/maestro/{REFERENCED}"


def render_env(
    stack_or_config: Union[str, dict[str, Any]],
    stack: str = "test",
    stack_outputs: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
) -> Env:
    """Evaluate a stack from stacks/ (by name or path), or a config map given inline.

    References to other stacks resolve to `stack_outputs`; by default, to what the
    referenced stack in stacks/ exports."""
    if isinstance(stack_or_config, str):
        stack, path = resolve_stack_path(stack_or_config)
        config = read_stack_config(path)
    else:
        config = stack_or_config
    if stack_outputs is None and stack != REFERENCED:
        stack_outputs = chained_outputs()
    key = json.dumps([stack, config, stack_outputs, secret_keys], sort_keys=True)
    return _evaluate(key)


@functools.cache
def _evaluate(key: str) -> Env:
    """One evaluation per distinct stack, config and references: tests only read an Env."""
    stack, config, stack_outputs, secret_keys = json.loads(key)
    return Env(run_stack(stack, config, secret_keys, stack_outputs=stack_outputs))


def chained_outputs() -> dict[str, Any]:
    """What `maestro-deploy outputs engine-only` prints: the referenced stack's outputs."""
    return {REFERENCED_AS: stack_env(REFERENCED).outputs}


@functools.cache
def stack_env(name: str) -> Env:
    """A stack from stacks/, evaluated once per test session: tests only read it."""
    return render_env(name)
