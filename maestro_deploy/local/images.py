"""What an image build needs before Docker sees its context, and how an image is told apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from maestro_deploy.local.daemon import Daemon, LocalRunError
from maestro_deploy.local.vendoring import once_per_lock

# Pinned pure-Python wheels that a build context wants in its site-packages/: installed by
# the host's pip, because the image build itself runs with no network (this project's
# images; a context without this file is built as it is).
VENDOR_LOCK = "vendor-wheels.lock"


def vendor_wheels(context: Path) -> None:
    """Install the context's pinned wheels into its site-packages/, once per lock file."""
    once_per_lock(context, VENDOR_LOCK, "site-packages", _pip_install)


def _pip_install(lock: Path, target: Path) -> None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes", "--only-binary=:all:"]
    result = subprocess.run(pip + ["--target", str(target), "-r", str(lock)], capture_output=True, text=True)
    if result.returncode != 0:
        raise LocalRunError(f"vendoring {lock} failed: {result.stderr.strip()[-2000:]}")


def image_id(daemon: Daemon, image: str) -> str:
    result = daemon.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""
