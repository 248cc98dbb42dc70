"""A render directory shared with a GitOps user (docs/recipes.md).

`render --without-secrets` writes no Secret: the stack's Secrets hold values a render can only
mask, and a masked one applied by Argo CD or Flux would overwrite the real one. It lists instead
what the user must supply (`expected-secrets.yaml`: each Secret's name, keys and readers), and the
user supplies it with files of their own (a SealedSecret, an ExternalSecret) that the directory's
`user-resources.yaml` names. The tool reads that list and those files, never writes or records
them, and lists them in `kustomization.yaml` after its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.safety.files import OwnedDirectory

USER_RESOURCES = "user-resources.yaml"
EXPECTED_SECRETS = "expected-secrets.yaml"
HEADER = """\
# Written by `maestro-deploy render --without-secrets`, which writes no Secret. Supply each Secret
# below under its name, with its keys (a SealedSecret, an ExternalSecret), in a file of yours that
# user-resources.yaml names: kustomization.yaml then lists it. See docs/recipes.md.
"""


class UserResources(BaseModel):
    """user-resources.yaml: the files of the user's that kustomization.yaml lists too."""

    model_config = ConfigDict(extra="forbid")
    resources: list[StrictStr] = Field(default_factory=list)


@dataclass(frozen=True)
class UserFiles:
    names: list[str]  # as user-resources.yaml lists them
    secrets: set[str]  # the Secrets they supply, by name


def user_resources(owned: OwnedDirectory, out: Path, rendered: set[str]) -> UserFiles:
    """The files user-resources.yaml names, each one checked: exit 2 naming every bad one."""
    config = out / USER_RESOURCES
    data = owned.read_user(USER_RESOURCES, str(out))
    if data is None:
        return UserFiles([], set())
    try:
        names = UserResources.model_validate(yaml.safe_load(data) or {}).resources
    except yaml.YAMLError as err:
        raise ConfigError([Problem(str(config), _not_yaml(err))]) from None
    except ValidationError as err:
        raise ConfigError([Problem(f"{config}: {_key_path(e['loc'])}", _message(e)) for e in err.errors()]) from None
    problems, secrets = [], set()
    for i, name in enumerate(names):
        key = f"{config}: resources[{i}]"
        if name in rendered or name == USER_RESOURCES:
            problems.append(Problem(key, f"{name}: is a file the render writes; name only files of yours"))
        elif name in names[:i]:
            problems.append(Problem(key, f"{name}: named twice"))
        else:
            try:
                text = owned.read_user(name, key)
                if text is None:
                    problems.append(Problem(key, f"{name}: no such file in {out}"))
                else:
                    secrets |= {_supplies(obj) for obj in yaml.safe_load_all(text) if isinstance(obj, dict)} - {None}
            except ConfigError as err:
                problems.extend(err.problems)
            except yaml.YAMLError as err:
                problems.append(Problem(key, f"{name}: {_not_yaml(err)}"))
    if problems:
        raise ConfigError(problems)
    return UserFiles(names, secrets)


def _supplies(obj: dict[str, Any]) -> Any:
    """The Secret an object of the user's makes: itself, a SealedSecret's or an ExternalSecret's."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    made = {
        "Secret": obj.get("metadata"),
        "SealedSecret": (spec.get("template") or {}).get("metadata") or obj.get("metadata"),
        "ExternalSecret": spec.get("target") if (spec.get("target") or {}).get("name") else obj.get("metadata"),
    }.get(obj.get("kind"))
    return made.get("name") if isinstance(made, dict) else None


def _not_yaml(err: yaml.YAMLError) -> str:
    # Where, never what: a file of the user's may hold a secret's value.
    mark = getattr(err, "problem_mark", None)
    return f"not valid YAML (line {mark.line + 1})" if mark else "not valid YAML"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key; the file holds only `resources:`, a list of your files"
    return error["msg"]


def _key_path(loc: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(the file)"


def expected_secrets(objects: list[dict[str, Any]]) -> str:
    """The Secrets among `objects`, as the user must supply them: name, type, keys, readers."""
    readers: dict[str, set[str]] = defaultdict(set)
    for obj in objects:
        if obj["kind"] != "Secret":
            reader = f"{obj['kind']}/{obj['metadata']['name']}"
            for name in _secrets_read({k: v for k, v in obj.items() if k != "metadata"}):
                readers[name].add(reader)
    listing = [
        {
            "name": secret["metadata"]["name"],
            "type": secret.get("type", "Opaque"),
            "keys": sorted({**secret.get("data", {}), **secret.get("stringData", {})}),
            "read_by": sorted(readers[secret["metadata"]["name"]]),
        }
        for secret in objects
        if secret["kind"] == "Secret"
    ]
    return HEADER + yaml.safe_dump({"secrets": sorted(listing, key=lambda s: s["name"])}, sort_keys=False)


def _secrets_read(value: Any) -> Iterator[str]:
    """The Secret names an object refers to: env and envFrom, volumes (projected ones too),
    image pull secrets and an Ingress's TLS, wherever they sit in its pod template."""
    if isinstance(value, list):
        for item in value:
            yield from _secrets_read(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "secretName" and isinstance(item, str):
                yield item
            elif key in ("secretKeyRef", "secretRef", "secret") and isinstance(item, dict) and isinstance(item.get("name"), str):
                yield item["name"]
            elif key == "imagePullSecrets" and isinstance(item, list):
                yield from (ref["name"] for ref in item if isinstance(ref, dict) and isinstance(ref.get("name"), str))
            else:
                yield from _secrets_read(item)
