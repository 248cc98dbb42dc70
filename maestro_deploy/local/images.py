"""What an image build needs before Docker sees its context, and how an image is told apart."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from maestro_deploy.local.daemon import Daemon, LocalRunError, last_lines
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
        raise LocalRunError(f"vendoring {lock} failed: {last_lines(result.stderr)}")


def image_id(daemon: Daemon, image: str) -> str:
    result = daemon.run(["docker", "image", "inspect", "-f", "{{.Id}}", image], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def image_label(daemon: Daemon, image: str, label: str) -> str:
    result = daemon.run(["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', image], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def build_digest(daemon: Daemon, context: Path, dockerfile: Path, args: dict[str, str]) -> str:
    """What a build's result depends on: every file of its context (path and content), its
    Dockerfile, its arguments, and the id of each image it starts FROM. The same digest means
    the classic builder would take every step from its cache: the build can be skipped."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(context)}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    text = dockerfile.read_text(encoding="utf-8")
    digest.update(f"{dockerfile}\0{text}\0{sorted(args.items())}".encode())
    for base in base_images(text, args):
        digest.update(f"{base}={image_id(daemon, base)}\0".encode())
    return "sha256:" + digest.hexdigest()


def base_images(dockerfile: str, args: dict[str, str]) -> list[str]:
    """The images a Dockerfile's FROM lines name, its ARGs (defaults, then build arguments) put in."""
    values: dict[str, str] = {}
    found = []
    for line in dockerfile.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG":
            name, _, default = words[1].partition("=")
            values[name] = args.get(name, default)
        elif len(words) >= 2 and words[0].upper() == "FROM":
            found.append(re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), ""), words[1]))
    return found
