"""Config errors: every one names its key path, and they travel together."""

from __future__ import annotations

import re
from dataclasses import dataclass

# scheme://anything@: a URL's userinfo, up to its last @ (a password may hold one unescaped).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)\S*@")


def without_userinfo(text: str) -> str:
    """Every URL in `text` with its user and password replaced by ***: what is printed
    never carries a credential, whatever the message quoted."""
    return _USERINFO.sub(r"\1***@", text)


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. "maestro:components.frontend.backend.url"
    message: str

    def __str__(self) -> str:
        return without_userinfo(f"{self.path}: {self.message}")


class ConfigError(Exception):
    """Raised with every problem found, before a single resource is registered."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
