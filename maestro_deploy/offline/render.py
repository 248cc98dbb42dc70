"""The offline preview: every Kubernetes object a stack registers, as a cluster would receive it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import rpc

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.offline.gitops import EXPECTED_SECRETS, USER_RESOURCES, expected_secrets, user_resources
from maestro_deploy.offline.mock_run import SECRET_MASK as MASK
from maestro_deploy.safety.files import File, claim
from maestro_deploy.offline.mock_run import Registered, Run, run_program
from maestro_deploy.program import main


def run_stack(
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str] | None = None,
    generated: dict[str, str] | None = None,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> Run:
    """Evaluate the real program (`__main__`'s `main`) with a stack's config."""
    return run_program(stack, config, main, secret_keys, generated, stack_outputs)


def _clean(value: Any) -> Any:
    """Mocks hand numbers back as floats and secrets wrapped; a manifest wants neither."""
    if rpc.is_rpc_secret(value):
        return MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def is_kubernetes_object(resource: Registered) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:")


def manifest(resource: Registered) -> dict[str, Any]:
    inputs = dict(resource.inputs)
    if inputs.get("kind") == "Secret":
        # A Secret's values are secret whatever their origin; its keys are not.
        for field in ("data", "stringData"):
            if field in inputs:
                inputs[field] = {k: MASK for k in rpc.unwrap_rpc_secret(inputs[field])}
    body = _sorted(_clean(inputs))
    ordered = {k: body[k] for k in ("apiVersion", "kind", "metadata") if k in body}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    return ordered


def _sorted(value: Any) -> Any:
    """Keys in order at every level: the program registers concurrently and the mocks hand maps
    back in no fixed order, and a committed render must not change when nothing did."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def manifests(run: Run) -> list[dict[str, Any]]:
    return [manifest(r) for r in run.registered if is_kubernetes_object(r)]


KUSTOMIZATION = "kustomization.yaml"


@dataclass(frozen=True)
class Written:
    files: list[str]  # named as in the directory
    unsupplied: list[str]  # Secrets left out (--without-secrets) that no file of the user's supplies


def write_manifests(objects: list[dict[str, Any]], out: Path, namespace: str, without_secrets: bool = False) -> Written:
    """One file per object, named by kind and name, so a GitOps diff reads object by object, and a
    kustomization.yaml that lists exactly them and the user's own files (offline.gitops) (`kubectl
    apply -k`, Argo CD, Flux take the directory as it is); into a directory this tool owns,
    replacing its previous render whole (safety.files). Without secrets: no Secret object, the list
    of those to supply instead."""
    owned = claim(out)
    try:
        secrets = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Secret"}
        if without_secrets:
            kept = [obj for obj in objects if obj["kind"] != "Secret"]
        elif EXPECTED_SECRETS in owned.recorded:
            # Its Secrets are the user's now: masked ones back in kustomization.yaml would overwrite them.
            raise ConfigError([Problem("--without-secrets", f"{out} was rendered without secrets, which you supply; give --without-secrets again, or another directory")])
        else:
            kept = objects
        files = {f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml": File(yaml.safe_dump(obj, sort_keys=False)) for obj in kept}
        resources = sorted(files)
        if without_secrets:
            files[EXPECTED_SECRETS] = File(expected_secrets(objects))
        users = user_resources(owned, out, {*files, KUSTOMIZATION})
        if not without_secrets and (clash := sorted(users.secrets & secrets)):
            raise ConfigError([Problem(str(out / USER_RESOURCES), f"your files supply these Secrets, which this render would write masked beside them: {', '.join(clash)}; render with --without-secrets")])
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": namespace,
            "resources": resources + users.names,
        }
        files[KUSTOMIZATION] = File(yaml.safe_dump(kustomization, sort_keys=False))
        owned.replace(files)
        return Written(list(files), sorted(secrets - users.secrets) if without_secrets else [])
    finally:
        owned.close()
