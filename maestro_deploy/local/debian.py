"""Debian packages that a build context wants: downloaded by the host's apt, because the image
build itself runs with no network, and each checked against the sha256 its lock pins.

A lock's `name=version sha256` lines pin the packages, which land in the context's debs/. A lock
that also has `keep PATH` lines (and `drop PATH` lines inside those) gets instead, in its
debian-root/, what the packages hold under the kept paths, unpacked on the host as dpkg would (no
maintainer script runs), and no .deb: the build COPYs files and decompresses nothing. scripts/up
fetches while the base image builds, so the unpacking is off the image builds' path."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from maestro_deploy.local.daemon import last_lines
from maestro_deploy.local.package_unpacking import UnpackError, unpack
from maestro_deploy.local.vendoring import once_per_lock

DEBIAN_LOCK = "debian-packages.lock"
UNPACKED = "debian-root"


class VendoringError(Exception):
    """apt could not download a pinned package, or one it downloaded is not the one pinned."""


@dataclass
class Lock:
    pins: dict[str, str] = field(default_factory=dict)  # name=version -> sha256
    keep: list[str] = field(default_factory=list)  # absolute paths inside the packages
    drop: list[str] = field(default_factory=list)


def read_lock(lock: Path) -> Lock:
    found = Lock()
    for number, line in enumerate(lock.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split()
        if not words or line.startswith("#"):
            continue
        if len(words) != 2:
            raise VendoringError(f"{lock}:{number}: expected `name=version sha256`, `keep PATH` or `drop PATH`")
        if words[0] in ("keep", "drop"):
            if not words[1].startswith("/"):
                raise VendoringError(f"{lock}:{number}: {words[0]} takes an absolute path, such as /usr")
            getattr(found, words[0]).append(words[1].rstrip("/") or "/")
        else:
            found.pins[words[0]] = words[1]
    return found


def vendor_debs(context: Path) -> None:
    """Fill the context from its lock, once per lock file: debs/, or debian-root/ when it keeps
    paths; the other one, left by a lock of the other kind, goes (the build would send it)."""
    lock = context / DEBIAN_LOCK
    if not lock.is_file():
        return
    wanted = read_lock(lock)  # read once: the fill gets it as read
    fill, target, other = (_unpacked, UNPACKED, "debs") if wanted.keep else (_apt_download, "debs", UNPACKED)
    shutil.rmtree(context / other, ignore_errors=True)
    once_per_lock(context, DEBIAN_LOCK, target, functools.partial(fill, wanted=wanted))


def _unpacked(lock: Path, root: Path, wanted: Lock) -> None:
    with tempfile.TemporaryDirectory(prefix="maestro-debs-") as scratch:
        _apt_download(lock, Path(scratch), wanted)
        for deb in sorted(Path(scratch).glob("*.deb")):
            try:
                unpack(deb, root, wanted.keep, wanted.drop)
            except UnpackError as err:
                raise VendoringError(f"unpacking {lock}'s packages failed: {err}") from None


def _apt_download(lock: Path, target: Path, wanted: Lock) -> None:
    if shutil.which("apt-get") is None:
        raise VendoringError(f"{lock} needs Debian's apt-get to download its packages")
    download = ["apt-get", "download", "-q", *wanted.pins]
    result = subprocess.run(download, cwd=target, capture_output=True, text=True)
    if result.returncode != 0 and os.geteuid() == 0:
        # apt's lists may be missing or stale on a fresh machine: refreshed once, as root only.
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        result = subprocess.run(download, cwd=target, capture_output=True, text=True)
    if result.returncode != 0:
        raise VendoringError(f"apt-get download of {lock.name}'s packages failed: {last_lines(result.stderr)}")
    got = {hashlib.sha256(deb.read_bytes()).hexdigest(): deb.name for deb in target.glob("*.deb")}
    wrong = sorted(spec for spec, digest in wanted.pins.items() if digest not in got)
    if wrong:
        for deb in target.glob("*.deb"):
            deb.unlink()
        raise VendoringError(f"not the packages {lock} pins (sha256 differs): {', '.join(wrong)}")
