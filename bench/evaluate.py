"""One fresh process's work, for bench.py: `python bench/evaluate.py floor-kubernetes|floor-docker|parsing-floor-kubernetes|parsing-floor-docker|stack NAME|replay FILE PLATFORM|units N`.

Prints one JSON line: seconds since the interpreter started, and the phases measured."""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()

KUBERNETES_MODULES = [
    "pulumi_kubernetes.provider",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.batch.v1",
    "pulumi_kubernetes.autoscaling.v2",
    "pulumi_kubernetes.networking.v1",
    "pulumi_kubernetes.policy.v1",
    "pulumi_random",
]
DOCKER_MODULES = ["pulumi_docker", "pulumi_random"]


def floor(modules: list[str]) -> dict:
    """What no program can avoid: pulumi, the provider modules the program uses, and the mocks."""
    import importlib

    import pulumi

    for name in modules:
        importlib.import_module(name)

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return args.name, args.inputs

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Mocks(), project="maestro", stack="bench", preview=False)
    return {}


def parsing_floor(modules: list[str]) -> dict:
    """The floor, then the least that parsing a stack file into pydantic v2 models needs (the
    house rule for config): pydantic imported, one strict model built and used on YAML (PyYAML
    comes with pulumi). Timed inside the process: the difference of two processes' walls is
    lost in this machine's noise."""
    phases = floor(modules)
    started = time.perf_counter()
    import yaml
    from pydantic import BaseModel, ConfigDict

    class Least(BaseModel):
        model_config = ConfigDict(extra="forbid")
        platform: str

    Least.model_validate(yaml.safe_load("platform: docker"))
    return {**phases, "parsing": time.perf_counter() - started}


def stack(name: str) -> dict:
    from maestro_deploy.offline.mock_run import run_program
    from maestro_deploy.program import main
    from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path

    imported = time.perf_counter()
    stack_name, path = resolve_stack_path(name)
    config = read_stack_config(path)
    outputs = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    run = run_program(stack_name, config, main, stack_outputs=outputs)
    if len(sys.argv) > 4:
        record(run, sys.argv[4])
    return {
        "imports": imported - START,
        "resources": len(run.registered),
        "edges": [[r.urn, r.type, r.name, r.parent, r.dependencies, r.custom] for r in run.registered],
    }


def record(run, path: str) -> None:
    """What a run registered, for `replay`."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump([[r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.inputs] for r in run.registered], f)


def snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def replay(path: str, modules: list[str]) -> dict:
    """The same resources, with the same types and inputs, registered by a bare Pulumi
    program: what Pulumi itself needs for this stack, with none of maestro-deploy's code."""
    import importlib

    import pulumi
    from pulumi.runtime import rpc

    floor(modules)
    recorded = json.loads(open(path, encoding="utf-8").read())

    def unwrap(value):
        if rpc.is_rpc_secret(value):
            return pulumi.Output.secret(unwrap(rpc.unwrap_rpc_secret(value)))
        if isinstance(value, dict):
            return {k: unwrap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unwrap(v) for v in value]
        return value

    def resource_class(type_token: str):
        if type_token.startswith("pulumi:providers:"):
            return importlib.import_module(f"pulumi_{type_token.split(':')[2]}").Provider
        package, module, name = type_token.split(":")
        if package == "kubernetes":  # kubernetes:networking.k8s.io/v1:NetworkPolicy
            group, version = module.split("/")
            if "." in group and not group.endswith(".k8s.io"):  # a custom resource (ServiceMonitor): no class of its own
                from pulumi_kubernetes.apiextensions import CustomResource

                return CustomResource
            return getattr(importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}"), name)
        return getattr(importlib.import_module(f"pulumi_{package}"), name)  # docker:index/container:Container

    def program():
        made: dict[str, pulumi.Resource] = {}
        for urn, type_token, name, parent, provider, custom, inputs in recorded:
            opts = pulumi.ResourceOptions(parent=made.get(parent), provider=made.get(provider.rsplit("::", 1)[0]) if provider else None)
            if not custom:
                made[urn] = pulumi.ComponentResource(type_token, name, None, opts)
                continue
            cls = resource_class(type_token)
            # A custom resource is told its apiVersion and kind; every other class knows its own.
            told = ("apiVersion", "kind") if cls.__name__ == "CustomResource" else ()
            kwargs = {snake(k): unwrap(v) for k, v in inputs.items() if k in told or k not in ("apiVersion", "kind")}
            made[urn] = cls(name, opts=opts, **kwargs)
        return {}

    from maestro_deploy.offline.mock_run import run_program

    run_program("bench", {}, program)
    return {}


def units(count: int) -> dict:
    """`count` service units on the Kubernetes platform, with no product code in between."""
    import pulumi
    from pulumi_kubernetes.provider import Provider

    from maestro_components.kubernetes.platform import KubernetesPlatform
    from maestro_components.kubernetes.service_unit import Exposure
    from maestro_components.unit import ServiceUnit
    from maestro_deploy.offline.mock_run import run_program

    def program():
        platform = KubernetesPlatform("bench", "bench", Provider("kubernetes", namespace="bench"), Exposure())
        holder = pulumi.ComponentResource("maestro:bench:Units", "units")
        previous = None
        for i in range(count):
            unit = ServiceUnit(
                product="bench",
                component=f"u{i}",
                name=f"unit-{i}",
                image="registry.example.com/bench:1.0.0",
                version="1.0.0",
                kind="service",
                resources={"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
                port=8080,
                health_path="/health",
                env={"INDEX": str(i)},
                writable=["/tmp"],
                calls=[previous] if previous else [],
            )
            platform.deploy(unit, parent=holder)
            previous = unit.name
        return {}

    run = run_program("bench", {"maestro:kubernetes": {"namespace": "bench"}}, program)
    if len(sys.argv) > 3:
        record(run, sys.argv[3])
    return {}


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "floor-kubernetes":
        phases = floor(KUBERNETES_MODULES)
    elif kind == "floor-docker":
        phases = floor(DOCKER_MODULES)
    elif kind.startswith("parsing-floor-"):
        phases = parsing_floor(KUBERNETES_MODULES if kind.endswith("kubernetes") else DOCKER_MODULES)
    elif kind == "stack":
        phases = stack(sys.argv[2])
    elif kind == "replay":
        phases = replay(sys.argv[2], KUBERNETES_MODULES if sys.argv[3] == "kubernetes" else DOCKER_MODULES)
    else:
        phases = units(int(sys.argv[2]))
    print(json.dumps({"seconds": time.perf_counter() - START, **phases}))
