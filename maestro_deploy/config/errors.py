"""Config errors: every one names its key path, and they travel together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from maestro_deploy.safety.redaction import for_messages


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. "maestro:components.frontend.backend.url"
    message: str

    def __str__(self) -> str:
        # Redacted wherever it is printed (or raised under `pulumi up`), whatever it quoted; and
        # one line, whatever it quoted: a newline in a path or a key given would start a line
        # of its own, which could pass for another error (or for none).
        text = f"{self.path}: {self.message}".replace("\r", "\\r").replace("\n", "\\n")
        return for_messages(text)


class ConfigError(Exception):
    """Raised with every problem found, before a single resource is registered, and a line for
    each check that could not run (`skipped`), so that no one takes the list for the whole."""

    def __init__(self, problems: list[Problem], skipped: Sequence[str] = ()):
        self.problems = problems
        self.skipped = list(skipped)
        super().__init__("\n".join([*(str(p) for p in problems), *(f"note: {line}" for line in self.skipped)]))
