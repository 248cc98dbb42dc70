"""The stateful parts of a running Docker stack, read from its containers: the bundled
PostgreSQL (dumped with its own tools) and every named data volume of a service (the
registry's packages, ml-platform's artifacts), archived as files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.local import Daemon, inspect_stack, project

DATABASE = "database"  # the bundled PostgreSQL's maestro.component label


@dataclass(frozen=True)
class Unit:
    name: str  # as in the stack: engine, engine-db, registry
    container: str
    product: str
    component: str
    version: str
    image: str
    user: str
    env: dict[str, str]
    running: bool
    task: bool
    volumes: dict[str, str]  # mount path -> named volume (data only, never a task's reports)


@dataclass(frozen=True)
class Part:
    """One file of a backup: a database dump or a volume's archive."""

    name: str  # its file in the backup: engine-db.dump, registry--data-packages.tar
    unit: str
    kind: str  # postgresql | volume
    path: Optional[str] = None  # a volume's mount path in its unit


def units(stack: str, daemon: Daemon) -> dict[str, Unit]:
    found = {}
    for c in inspect_stack(stack, daemon):
        labels = c["Config"].get("Labels") or {}
        name = c["Name"].lstrip("/").removeprefix(f"{project(stack)}-")
        found[name] = Unit(
            name=name,
            container=c["Name"].lstrip("/"),
            product=labels.get("maestro.product", "?"),
            component=labels.get("maestro.component", "?"),
            version=labels.get("maestro.version", "?"),
            image=c["Config"]["Image"],
            user=c["Config"].get("User") or "0",
            env=dict(e.split("=", 1) for e in c["Config"].get("Env") or [] if "=" in e),
            running=c["State"]["Status"] == "running",
            task=(c.get("HostConfig") or {}).get("RestartPolicy", {}).get("Name") == "no",
            volumes={
                m["Destination"]: m["Name"]
                for m in c.get("Mounts") or []
                if m.get("Type") == "volume" and not m["Name"].endswith("-reports")
            },
        )
    return found


def running_units(stack: str, daemon: Daemon) -> dict[str, Unit]:
    """The stack's units, every service among them running; else exit 2 saying which is not."""
    found = units(stack, daemon)
    if not found:
        raise ConfigError([Problem(stack, "is not running on this Docker engine (no container has its label): bring it up first")])
    stopped = sorted(u.name for u in found.values() if not u.task and not u.running)
    if stopped:
        raise ConfigError([Problem(stack, f"is not running: {', '.join(stopped)} stopped; bring it up first (scripts/up)")])
    return found


def parts_of(found: dict[str, Unit]) -> list[Part]:
    """Every stateful part: the database as a dump, each other service's data volume as an archive."""
    parts = []
    for unit in sorted(found.values(), key=lambda u: u.name):
        if unit.task:
            continue
        if unit.component == DATABASE:
            parts.append(Part(name=f"{unit.name}.dump", unit=unit.name, kind="postgresql"))
            continue
        for path in sorted(unit.volumes):
            parts.append(Part(name=f"{unit.name}--{path.strip('/').replace('/', '-')}.tar", unit=unit.name, kind="volume", path=path))
    return parts


def readers_of(found: dict[str, Unit], part: Part) -> list[Unit]:
    """The services that read a part: a volume's own unit; for a database, its product's other units."""
    owner = found[part.unit]
    if part.kind == "volume":
        return [owner]
    return [u for u in found.values() if u.product == owner.product and u.name != owner.name and not u.task]
