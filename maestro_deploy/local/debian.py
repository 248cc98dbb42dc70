"""Debian packages that a build context wants in its debs/: downloaded by the host's apt, because
the image build itself runs with no network, and each checked against the sha256 its lock pins."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from maestro_deploy.local.daemon import last_lines
from maestro_deploy.local.vendoring import once_per_lock

DEBIAN_LOCK = "debian-packages.lock"


class VendoringError(Exception):
    """apt could not download a pinned package, or one it downloaded is not the one pinned."""


def pins(lock: Path) -> dict[str, str]:
    """name=version -> sha256, from the lock's `name=version sha256` lines."""
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            spec, digest = line.split()
            found[spec] = digest
    return found


def vendor_debs(context: Path) -> None:
    """Download the context's pinned packages into its debs/, once per lock file."""
    once_per_lock(context, DEBIAN_LOCK, "debs", _apt_download)


def _apt_download(lock: Path, target: Path) -> None:
    if shutil.which("apt-get") is None:
        raise VendoringError(f"{lock} needs Debian's apt-get to download its packages")
    wanted = pins(lock)
    download = ["apt-get", "download", "-q", *wanted]
    result = subprocess.run(download, cwd=target, capture_output=True, text=True)
    if result.returncode != 0 and os.geteuid() == 0:
        # apt's lists may be missing or stale on a fresh machine: refreshed once, as root only.
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        result = subprocess.run(download, cwd=target, capture_output=True, text=True)
    if result.returncode != 0:
        raise VendoringError(f"apt-get download of {lock.name}'s packages failed: {last_lines(result.stderr)}")
    got = {hashlib.sha256(deb.read_bytes()).hexdigest(): deb.name for deb in target.glob("*.deb")}
    wrong = sorted(spec for spec, digest in wanted.items() if digest not in got)
    if wrong:
        shutil.rmtree(target)
        raise VendoringError(f"not the packages {lock} pins (sha256 differs): {', '.join(wrong)}")
