"""The Compose export: what the Docker platform registers, as a `compose.yaml`.

Built from the resources the real program registers under mocks (never from
the stack config a second time), so `docker-compose up` runs what `pulumi up`
would run. Secrets never enter `compose.yaml`: a unit's secret env goes to an
env file and its secret files to files, both under `secrets/`, readable by the
owner only. Files that Pulumi uploads into a container are bind-mounted
read-only instead, and a task's reports volume becomes `reports/<unit>/`, so
that they can be read when it ends.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.offline.mock_run import Registered, Run, reveal
from maestro_deploy.safety.files import File, read_private, remove_private, write_private
from maestro_deploy.safety.redaction import REDACTIONS

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
BUILT_IMAGE = "docker:index/image:Image"
SECRET_ENV_LABEL = "maestro.secret-env"  # the names of a container's secret variables


@dataclass
class Export:
    compose: dict[str, Any]
    # relative path -> (content, mode): written beside compose.yaml
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)  # directories a task writes into
    existing: set[str] = field(default_factory=set)  # volumes the user made: mounted, never created
    # relative path -> (uid, gid) of the container user that reads a secret file through a bind mount
    owners: dict[str, tuple[int, int]] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """Mocks hand numbers back as floats; Compose wants the integers they were."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def labels_of(resource: Registered) -> dict[str, str]:
    """A Docker resource's labels, as the provider takes them: a list of {label, value}."""
    return {item["label"]: item["value"] for item in resource.inputs.get("labels", [])}


def compose_export(run: Run) -> Export:
    of_type = lambda t: [r for r in run.registered if r.type == t]  # noqa: E731
    # In name order: the program registers concurrently, and an export that reads the same
    # every time diffs cleanly.
    containers = sorted(of_type(CONTAINER), key=lambda c: c.name)
    service_of = {c.urn: c.name for c in containers}
    builds = {r.inputs["imageName"]: r.inputs.get("build", {}) for r in of_type(BUILT_IMAGE)}
    volume_names = {r.inputs["name"] for r in of_type(VOLUME)}
    export = Export(compose={})
    services = {c.name: _service(c, service_of, builds, volume_names, export) for c in containers}
    export.compose = {
        "services": services,
        "networks": {
            n.inputs["name"]: {"name": n.inputs["name"], "driver": n.inputs.get("driver", "bridge"), "labels": labels_of(n)}
            for n in of_type(NETWORK)
        },
    }
    volumes = {v.inputs["name"]: _volume(v) for v in sorted(of_type(VOLUME), key=lambda v: v.name)}
    used = {m.split(":", 1)[0] for s in services.values() for m in s.get("volumes", [])}
    volumes = {k: v for k, v in volumes.items() if k in used}
    volumes.update({name: {"name": name, "external": True} for name in sorted(export.existing)})
    if volumes:
        export.compose["volumes"] = volumes
    return export


def _service(
    c: Registered, service_of: dict[str, str], builds: dict[str, Any], volume_names: set[str], export: Export
) -> dict[str, Any]:
    i = c.inputs
    name = c.name
    service: dict[str, Any] = {"image": i["image"]}
    if i["image"] in builds:
        build = builds[i["image"]]
        service["build"] = {k: build[k] for k in ("context", "dockerfile", "args") if build.get(k)}
    service["container_name"] = i["name"]
    plain, secret = {}, []
    secret_names = set(filter(None, labels_of(c).get(SECRET_ENV_LABEL, "").split(",")))
    envs, _ = reveal(i.get("envs", []))
    for entry in envs:
        entry, _ = reveal(entry)
        key, _, value = entry.partition("=")
        if key in secret_names:
            secret.append(entry)
        else:
            plain[key] = value
    if plain:
        service["environment"] = plain
    if secret:
        env_file = f"secrets/{name}.env"
        export.files[env_file] = ("".join(line + "\n" for line in secret), 0o600)
        service["env_file"] = [env_file]
    if i.get("entrypoints"):
        service["entrypoint"] = i["entrypoints"]
    if i.get("command"):
        service["command"] = i["command"]
    service["labels"] = {k: v for k, v in labels_of(c).items() if k != SECRET_ENV_LABEL}
    if i.get("networkMode") == "host":
        service["network_mode"] = "host"
    else:
        service["networks"] = {n["name"]: {"aliases": n.get("aliases", [])} for n in i["networksAdvanced"]}
    if i.get("ports"):
        service["ports"] = [f"{p['ip']}:{_plain(p['external'])}:{_plain(p['internal'])}" for p in i["ports"]]
    if hc := i.get("healthcheck"):
        service["healthcheck"] = {
            "test": hc["tests"],
            "interval": hc["interval"],
            "timeout": hc["timeout"],
            "retries": _plain(hc["retries"]),
            "start_period": hc["startPeriod"],
        }
    mounts = []
    uploads, all_secret = reveal(i.get("uploads", []))
    for upload in uploads:
        content, is_secret = reveal(upload["content"])
        is_secret = is_secret or all_secret
        relative = f"{'secrets' if is_secret else 'files'}/{name}{upload['file']}"
        export.files[relative] = (content, 0o644)
        if is_secret:
            # A bind mount keeps host owners and modes: the file belongs to the container's user.
            uid, _, gid = str(i["user"]).partition(":")
            export.owners[relative] = (int(uid), int(gid or uid))
        mounts.append(f"./{relative}:{upload['file']}:ro")
    for volume in i.get("volumes", []):
        source = volume["volumeName"]
        # A task's reports volume is one the stack creates; a user's existing volume of the
        # same name is mounted as theirs, like any other.
        if source in volume_names and source.endswith("-reports"):
            export.reports.append(f"reports/{name}")
            mounts.append(f"./reports/{name}:{volume['containerPath']}")
        else:
            if source not in volume_names:
                export.existing.add(source)
            mounts.append(f"{source}:{volume['containerPath']}")
    if mounts:
        service["volumes"] = mounts
    if i.get("tmpfs"):
        # Sorted, as every list here: maps and dependencies reach the mocks in no fixed order.
        service["tmpfs"] = [f"{path}:{options}" for path, options in sorted(i["tmpfs"].items())]
    # Uploads are the only reason a container keeps a writable root (see the platform), and
    # here they are bind mounts: every unit runs on a read-only root filesystem.
    service["read_only"] = True
    service["init"] = bool(i.get("init"))
    service["user"] = i["user"]
    service["cap_drop"] = i.get("capabilities", {}).get("drops", [])
    service["security_opt"] = i.get("securityOpts", [])
    if "memory" in i:
        service["mem_limit"] = f"{_plain(i['memory'])}m"
    if "cpus" in i:
        service["cpus"] = float(i["cpus"])
    service["restart"] = i["restart"]
    after = sorted(service_of[urn] for urn in c.dependencies if urn in service_of)
    if after:
        service["depends_on"] = {s: {"condition": "service_healthy"} for s in after}
    return service


def _volume(v: Registered) -> dict[str, Any]:
    volume = {"name": v.inputs["name"], "labels": labels_of(v)}
    if v.inputs.get("driverOpts"):  # a throwaway stack's, in memory
        volume["driver_opts"] = v.inputs["driverOpts"]
    return volume


def _literal(value: Any) -> Any:
    """Compose reads `$` in compose.yaml as a variable to interpolate: `$$` is a literal one,
    so an env value of `$HOME/data` reaches the container as written."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def export_files(export: Export) -> tuple[dict[str, File], dict[str, int]]:
    """compose.yaml and its files, and the directories a task writes into, for the writer
    (safety.files): secrets/ is readable by its owner only."""
    header = "# Written by `maestro-deploy render --platform docker`: edit the stack, not this file.\n"
    files = {"compose.yaml": File(header + yaml.safe_dump(_literal(export.compose), sort_keys=False))}
    for relative, (content, mode) in export.files.items():
        owner = export.owners.get(relative)
        # A secret file read through a bind mount belongs to the container's user, and to it
        # alone; only root can give a file away. Run by anyone else, the file stays readable
        # (the container's user is not the host's), and the owner-only secrets/ tree above
        # it keeps other users of the host out.
        if owner and os.geteuid() == 0:
            mode = 0o400
        files[relative] = File(content, mode, secret=relative.startswith("secrets/"), owner=owner)
    # Written by the container's unprivileged user, whoever runs Compose.
    return files, {relative: 0o777 for relative in export.reports}


# The state of a Compose export: the passwords it generated, one file per stack.
STATE_KEY = "--state"


def load_generated(state: Path, stack: str) -> dict[str, str]:
    """Generated passwords of earlier renders: the bundled database keeps the one it was initialised with."""
    data = read_private(state, f"{stack}.generated.json", STATE_KEY)
    if data is None:
        return {}
    try:
        generated = json.loads(data)
    except ValueError:
        generated = None
    if not isinstance(generated, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in generated.items()):
        raise ConfigError([Problem(STATE_KEY, f"{state / f'{stack}.generated.json'}: damaged; expected the generated passwords maestro-deploy wrote (remove it to generate new ones)")])
    _redacted(stack, generated)
    return generated


def save_generated(state: Path, stack: str, generated: dict[str, str]) -> None:
    """Kept for the next render (and redacted, as every secret is)."""
    _redacted(stack, generated)
    write_private(state, f"{stack}.generated.json", json.dumps(generated, indent=2, sort_keys=True), STATE_KEY)


def forget_generated(state: Path, stack: str) -> None:
    """A stack gone for good (an ephemeral run's): its generated passwords go too."""
    remove_private(state, f"{stack}.generated.json", STATE_KEY)


def _redacted(stack: str, generated: dict[str, str]) -> None:
    """Generated passwords are secrets: each joins the redaction set, since a unit's health answer
    or a Docker error quoted in a message may hold one (a connection error, say)."""
    for name, value in generated.items():
        REDACTIONS.add(value, f"{STATE_KEY} {stack}.generated.json: {name}")
