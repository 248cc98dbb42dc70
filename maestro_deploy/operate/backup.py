"""`maestro-deploy backup <stack>`: an online, consistent backup of a running Docker stack.

The database is dumped by `pg_dump --format=custom` inside its own container (a consistent
snapshot while the engine keeps writing; no PostgreSQL on the host), each data volume is read
through a throwaway container that mounts it read-only, and `manifest.json` lists every part
with its size and SHA-256. The whole is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from maestro_deploy.local import Daemon, LocalRunError
from maestro_deploy.operate.parts import Part, Unit, parts_of, running_units
from maestro_deploy.safety.files import File, claim

MANIFEST = "manifest.json"
# Where a throwaway container mounts a unit's volume: a path no image has, and `nocopy`, so that
# Docker never copies an image's files into the volume (nor its owner onto the volume's root).
MOUNT = "/maestro-volume"
FORMAT = 1


class PartFailed(Exception):
    """A part could not be read: nothing of the backup is left behind."""


def dump(daemon: Daemon, unit: Unit) -> bytes:
    user, database = unit.env.get("POSTGRES_USER", "postgres"), unit.env.get("POSTGRES_DB", "postgres")
    # Over the container's own socket, which trusts local users: no password is needed or kept.
    return daemon.run_bytes(["docker", "exec", unit.container, "pg_dump", "--format=custom", "--username", user, "--dbname", database])


def archive(daemon: Daemon, unit: Unit, path: str) -> bytes:
    """The volume's files as a tar, read by the unit's own image and user, mounted read-only, with no
    network. Its entries are what the volume holds, never the mount point itself: a restore leaves the
    mount point's owner and mode alone (they may be root's, which the unit's user cannot change)."""
    return daemon.run_bytes(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
         "--user", unit.user, "--entrypoint", "sh", "--volume", f"{unit.volumes[path]}:{MOUNT}:ro,nocopy", unit.image,
         "-c", f"cd {MOUNT} && find . -mindepth 1 -maxdepth 1 -print0 | tar --null -T - -cf -"]
    )


def read_part(daemon: Daemon, found: dict[str, Unit], part: Part) -> bytes:
    unit = found[part.unit]
    try:
        return dump(daemon, unit) if part.kind == "postgresql" else archive(daemon, unit, part.path)
    except LocalRunError as err:
        raise PartFailed(f"{part.name}: {err}") from None


def manifest(stack: str, created: datetime, found: dict[str, Unit], parts: list[Part], data: dict[str, bytes]) -> dict:
    products = {u.product: u.version for u in found.values() if u.component != "database"}
    return {
        "format": FORMAT,
        "stack": stack,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": dict(sorted(products.items())),
        "parts": [
            {
                "file": p.name,
                "unit": p.unit,
                "kind": p.kind,
                **({"path": p.path} if p.path else {}),
                "image": found[p.unit].image,
                "size": len(data[p.name]),
                "sha256": hashlib.sha256(data[p.name]).hexdigest(),
            }
            for p in parts
        ],
    }


def write_backup(parent: Path, name: str, files: dict[str, bytes]) -> Path:
    """`parent/name`, owner-only, holding `files`, or nothing: written through the confined writer
    into `.name.partial`, then renamed whole."""
    final, temporary = parent / name, parent / f".{name}.partial"
    if final.exists() or temporary.exists():
        raise PartFailed(f"{final} already exists")
    parent.mkdir(parents=True, exist_ok=True)
    os.mkdir(temporary, 0o700)
    try:
        # Secret: a dump holds whatever the users stored, written as it is, owner-only.
        claim(temporary, key="--to").replace({file: File(content, mode=0o600, secret=True) for file, content in files.items()})
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def take_backup(stack: str, to: Path, daemon: Daemon) -> Path:
    """The backup's directory. ConfigError (exit 2) when the stack is not running, PartFailed (exit 1)."""
    found = running_units(stack, daemon)
    parts = parts_of(found)
    created = datetime.now(timezone.utc)
    data = {part.name: read_part(daemon, found, part) for part in parts}
    described = manifest(stack, created, found, parts, data)
    files = {**data, MANIFEST: (json.dumps(described, indent=2) + "\n").encode()}
    return write_backup(to, f"{stack}-{created.strftime('%Y%m%dT%H%M%SZ')}", files)
