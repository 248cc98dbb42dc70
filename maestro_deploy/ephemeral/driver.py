"""Where an ephemeral stack runs, as the run sees it: a driver, and the stacks it finds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class DriverError(Exception):
    """The driver could not do what was asked; the message says what and why."""


@dataclass(frozen=True)
class EphemeralStack:
    """A live ephemeral stack, as `list` shows it."""

    name: str
    owner: str
    created: int  # Unix time
    expires: int

    def expired(self, now: float) -> bool:
        return now >= self.expires


class Driver(Protocol):
    """Where an ephemeral stack runs: the Pulumi Automation API, or Docker through Compose."""

    name: str

    def deploy(self, stack: str, config: dict[str, Any]) -> None:
        """Create the stack and deploy it; raise DriverError (or ConfigError) on failure."""

    def wait_healthy(self, stack: str) -> None:
        """Return once every service is healthy."""

    def run_tests(self, stack: str) -> str:
        """Let quality-fabric's runner finish; return its JUnit XML."""

    def destroy(self, stack: str) -> None:
        """Remove every resource of the stack and the stack itself; idempotent."""

    def list(self) -> list[EphemeralStack]:
        """Every live ephemeral stack this driver can see."""
