"""A Debian package's files unpacked on the host, as dpkg would put them under / (no maintainer
script runs), but only those under the kept paths, and never anywhere but the given root.

The host's Python may be Debian bookworm's 3.11.2, whose tarfile has no extraction filters, and
the filters of later ones have been bypassed through links: the checks that keep every write
inside the root are made here, for every Python alike."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Optional

from maestro_deploy.local.daemon import last_lines

# Checked here; a tarfile that has filters is told so, and applies no default of its own.
_CHECKED_HERE = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


class UnpackError(Exception):
    """The package could not be read, or a member of it would land outside the root."""


def _under(path: str, prefixes: list[str]) -> bool:
    return any(p == "/" or path == p or path.startswith(p + "/") for p in prefixes)


def unpack(deb: Path, root: Path, keep: list[str], drop: list[str]) -> None:
    """What `deb` holds under `keep` and not under `drop`, into `root`: streamed from dpkg-deb,
    so a dropped path (212 MB of time zones, for one) is never written."""
    extracted: set[str] = set()
    failure: Optional[Exception] = None
    # dpkg-deb's stderr goes to a file, not a pipe read after the tar stream: stopping early
    # closes the stream, and dpkg-deb never waits on a pipe nobody reads.
    with tempfile.TemporaryFile() as said:
        with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=said) as reading:
            try:
                with tarfile.open(fileobj=reading.stdout, mode="r|") as archive:
                    for member in archive:
                        relative = member.name.removeprefix("./").strip("/")
                        if relative and _under("/" + relative, keep) and not _under("/" + relative, drop):
                            _extract(archive, member, relative, root, extracted)
                reading.stdout.read()  # the padding after the archive's end: dpkg-deb ends as it should
            except (tarfile.TarError, UnpackError) as err:
                failure = err  # what is left of the stream is not read: leaving closes it
        said.seek(0)
        dpkg_said = last_lines(said.read().decode(errors="replace"))
    if isinstance(failure, UnpackError):
        raise UnpackError(f"{deb.name}: {failure}")
    if failure is not None or reading.returncode != 0:
        raise UnpackError(f"{deb.name}: dpkg-deb could not read it: {dpkg_said or failure or f'exit {reading.returncode}'}")


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo, relative: str, root: Path, extracted: set[str]) -> None:
    if ".." in PurePosixPath(relative).parts or not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise UnpackError(f"{member.name}: not a file, directory or link under /")
    target = root / relative
    # A link unpacked before must not carry this member out of the root...
    if not target.parent.resolve().is_relative_to(root.resolve()):
        raise UnpackError(f"{member.name}: would be written outside {root}, through a link")
    # ...nor be written through: dpkg replaces a link with what takes its place.
    if target.is_symlink():
        target.unlink()
    if member.islnk():
        source = member.linkname.removeprefix("./").strip("/")
        if source not in extracted or (root / source).is_symlink():
            raise UnpackError(f"{member.name}: a hard link to {member.linkname}, which is not a file unpacked with it")
        member.linkname = source
    # No setuid or setgid file, and nothing writable by others, in a directory of the repo.
    member.mode &= 0o1755
    try:
        archive.extract(member, root, **_CHECKED_HERE)
    except OSError as err:  # a file where a directory is, a full disk: said, not a traceback
        raise UnpackError(f"{member.name}: {err.strerror or err}") from None
    extracted.add(relative)
