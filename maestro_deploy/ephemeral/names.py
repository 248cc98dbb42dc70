"""An ephemeral stack's name and lifetime, and how its age is said."""

from __future__ import annotations

import re
import secrets
from typing import Callable

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.ephemeral.driver import DriverError

PREFIX = "qf-"
DEFAULT_TTL = 2 * 3600


def slug(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:20].strip("-") or "run"


def unique_name(base: str, taken: Callable[[], set[str]], token: Callable[[], str] = lambda: secrets.token_hex(3)) -> str:
    """qf-<slug>-<6 hex>: random, so runs started at once do not collide, and checked
    against the stacks that exist."""
    existing = taken()
    for _ in range(100):
        name = f"{PREFIX}{slug(base)}-{token()}"
        if name not in existing:
            return name
    raise DriverError("could not find a free stack name")


def parse_ttl(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise ConfigError([Problem("--ttl", f"expected a duration such as 30m, 2h or 1d (got {text!r})")])
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def format_age(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
