"""The one way to the Docker daemon: every `docker` and `docker-compose` (or `docker compose`)
process starts here, with DOCKER_HOST set to the daemon the stack names."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional


# Of what a failed command printed, an error quotes its last whole lines, this many characters at
# most: a line is never cut, so a secret on it stays whole for the redaction set to find.
SAID_AT_MOST_CHARS = 2000


class LocalRunError(Exception):
    """Docker or Compose failed: the message says which command and why."""


def last_lines(said: str) -> str:
    """The last whole non-blank lines of what a command printed, SAID_AT_MOST_CHARS at most
    (a longer last line whole)."""
    kept: list[str] = []
    for line in reversed([line for line in said.splitlines() if line.strip()]):
        if kept and sum(len(k) + 1 for k in kept) + len(line) > SAID_AT_MOST_CHARS:
            break
        kept.append(line)
    return "\n".join(reversed(kept))


def project(stack: str) -> str:
    return f"maestro-{stack}"


def _run(args: list[str], check: bool = True, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise LocalRunError(f"`{args[0]}` is not installed: apt-get install -y docker.io docker-compose")
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise LocalRunError(f"`{' '.join(args)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _run_bytes(args: list[str], stdin: Optional[bytes], env: dict[str, str]) -> bytes:
    if shutil.which(args[0]) is None:
        raise LocalRunError(f"`{args[0]}` is not installed: apt-get install -y docker.io")
    result = subprocess.run(args, input=stdin, capture_output=True, env=env)
    if result.returncode != 0:
        raise LocalRunError(f"`{' '.join(args)}` failed: {last_lines(result.stderr.decode(errors='replace'))}")
    return result.stdout


@dataclass(frozen=True)
class Daemon:
    """The Docker daemon a stack runs on: `docker` and `docker-compose` reach it through
    DOCKER_HOST, which both honour. Without a host, the environment's DOCKER_HOST or the
    local daemon, as `maestro:docker.host` documents."""

    host: Optional[str] = None

    def environment(self, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
        env = {**os.environ, **(extra or {})}
        if self.host:
            env["DOCKER_HOST"] = self.host
            env.pop("DOCKER_CONTEXT", None)  # a context would name a daemon of its own
        return env

    def run(self, args: list[str], check: bool = True, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
        """`docker ...` or `docker-compose ...` on this daemon; LocalRunError when it fails and `check`."""
        return _run(args, check=check, env=self.environment(env))

    def run_bytes(self, args: list[str], stdin: Optional[bytes] = None) -> bytes:
        """`docker ...` with binary input and output (a database dump, a volume's archive)."""
        return _run_bytes(args, stdin, self.environment())

    def stream(self, args: list[str]) -> subprocess.Popen:
        """`docker ...` running on, its output (stderr merged) read line by line (`docker logs -f`)."""
        if shutil.which(args[0]) is None:
            raise LocalRunError(f"`{args[0]}` is not installed: apt-get install -y docker.io")
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=self.environment())

    def __str__(self) -> str:
        return self.host or os.environ.get("DOCKER_HOST") or "the local Docker daemon"


def daemon_of(settings) -> Daemon:
    """The daemon of a Docker stack (`StackSettings`): its `maestro:docker.host`."""
    return Daemon(settings.docker.host if settings.docker else None)


def compose_command(daemon: Optional[Daemon] = None) -> tuple[str, ...]:
    """Compose v2 (`docker compose`) where it answers, else v1 (`docker-compose`): v1 has been
    end-of-life since 2023, yet is what Debian packages. Asked once per PATH and daemon."""
    return _compose_on(os.environ.get("PATH", ""), daemon or Daemon())


@lru_cache(maxsize=8)
def _compose_on(path: str, daemon: Daemon) -> tuple[str, ...]:
    if shutil.which("docker", path=path) and daemon.run(["docker", "compose", "version"], check=False).returncode == 0:
        return ("docker", "compose")
    return ("docker-compose",)
