"""`maestro-deploy restore <stack> PATH`: a backup put back into a running Docker stack.

Nothing is touched until every part's size and SHA-256 match the manifest and the backup is
the stack's own (or --force). The units that read a part are stopped while it is replaced and
started again after: the database is restored in one transaction (`pg_restore --clean
--if-exists --single-transaction`), so a failure leaves it as it was; a volume's files are
replaced by the archive's.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any, Callable

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.local import POLL_SECONDS, Daemon, LocalRunError, stack_status
from maestro_deploy.operate.backup import FORMAT, MANIFEST, MOUNT, PartFailed
from maestro_deploy.safety.files import read_user_file
from maestro_deploy.operate.parts import DATABASE, Part, Unit, readers_of, running_units

# A part's file is a plain name inside the backup: never a path out of it.
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
HEALTHY_WITHIN = 120  # seconds for the restarted units to become healthy again


def verified(backup: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every part's content, once each matches its size and SHA-256; else exit 2 naming it."""
    if not backup.is_dir():
        raise ConfigError([Problem(str(backup), "is not a backup directory (maestro-deploy backup prints one)")])
    try:
        described = json.loads(read_user_file(backup / MANIFEST, "backup manifest"))
        parts = described["parts"]
        assert described["format"] == FORMAT and isinstance(described["stack"], str) and isinstance(parts, list)
        assert all(
            isinstance(p, dict) and FILE_NAME.match(str(p["file"])) and p["file"] != MANIFEST
            and isinstance(p["size"], int) and isinstance(p["sha256"], str)
            for p in parts
        )
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError([Problem(str(backup / MANIFEST), "is not a manifest this tool wrote")]) from None
    data, problems = {}, []
    damaged = "does not match its size and sha256 in manifest.json: the backup is damaged; nothing was restored"
    for part in parts:
        try:
            # No more than the manifest says it holds: a bigger file is damaged, and never read whole.
            content = read_user_file(backup / part["file"], "part of a backup", cap=part["size"])
        except ConfigError as err:
            problems += [Problem(str(backup / part["file"]), damaged if "larger than" in p.message else p.message) for p in err.problems]
            continue
        if len(content) != part["size"] or hashlib.sha256(content).hexdigest() != part["sha256"]:
            problems.append(Problem(str(backup / part["file"]), damaged))
        data[part["file"]] = content
    if problems:
        raise ConfigError(problems)
    return described, data


def _stop(daemon: Daemon, units: list[Unit]) -> None:
    if units:
        daemon.run(["docker", "stop", *[u.container for u in units]])


def _start(daemon: Daemon, units: list[Unit]) -> None:
    if units:
        daemon.run(["docker", "start", *[u.container for u in units]])


def restore_database(daemon: Daemon, unit: Unit, dump: bytes) -> None:
    user, database = unit.env.get("POSTGRES_USER", "postgres"), unit.env.get("POSTGRES_DB", "postgres")
    daemon.run_bytes(
        ["docker", "exec", "-i", unit.container, "pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
         "--username", user, "--dbname", database],
        stdin=dump,
    )


def restore_volume(daemon: Daemon, unit: Unit, path: str, archive: bytes) -> None:
    """The volume's files replaced by the archive's, by the unit's own image and user, with no network."""
    daemon.run_bytes(
        ["docker", "run", "--rm", "-i", "--network", "none", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
         "--user", unit.user, "--entrypoint", "sh", "--volume", f"{unit.volumes[path]}:{MOUNT}:nocopy", unit.image,
         "-c", f"find {MOUNT} -mindepth 1 -delete && tar -C {MOUNT} -xf -"],
        stdin=archive,
    )


def wait_healthy(daemon: Daemon, stack: str, names: set[str], seconds: float = HEALTHY_WITHIN) -> None:
    deadline = time.monotonic() + seconds
    while True:
        late = sorted(s.unit for s in stack_status(stack, daemon) if s.unit in names and not s.ok)
        if not late:
            return
        if time.monotonic() > deadline:
            raise PartFailed(f"not healthy {seconds:.0f} s after the restore: {', '.join(late)}; see maestro-deploy logs {stack} {late[0]}")
        time.sleep(POLL_SECONDS)


def restore(stack: str, backup: Path, force: bool, daemon: Daemon, say: Callable[[str], None]) -> None:
    described, data = verified(backup)
    if described["stack"] != stack and not force:
        raise ConfigError([Problem(str(backup), f"is a backup of stack {described['stack']!r}, not {stack!r}; add --force to restore it into {stack}")])
    found = running_units(stack, daemon)
    parts = [targeted(found, backup, entry, stack) for entry in described["parts"]]
    for part in parts:
        unit, readers = found[part.unit], readers_of(found, part)
        _stop(daemon, readers)
        try:
            if part.kind == "postgresql":
                restore_database(daemon, unit, data[part.name])
            else:
                restore_volume(daemon, unit, part.path, data[part.name])
        except LocalRunError as err:
            raise PartFailed(f"{part.name}: {err}") from None
        finally:
            _start(daemon, readers)
        wait_healthy(daemon, stack, {u.name for u in readers} | {unit.name})
        what = "the database, in one transaction" if part.kind == "postgresql" else f"the files of {part.path}"
        say(f"restored {part.name} into {unit.name} ({what}, {len(data[part.name])} bytes); restarted {', '.join(u.name for u in readers)}")


def targeted(found: dict[str, Unit], backup: Path, entry: dict[str, Any], stack: str) -> Part:
    """A manifest's part, once the stack has where it goes: checked for every part before any is restored."""
    part = Part(name=entry["file"], unit=str(entry.get("unit")), kind=str(entry.get("kind")), path=entry.get("path"))
    unit = found.get(part.unit)
    fits = unit is not None and (
        (part.kind == "postgresql" and unit.component == DATABASE) or (part.kind == "volume" and part.path in unit.volumes)
    )
    if not fits:
        where = f"{part.unit} {part.path}" if part.path else part.unit
        raise ConfigError([Problem(str(backup / part.name), f"{stack} has no {part.kind} part {where} to restore it into")])
    return part
