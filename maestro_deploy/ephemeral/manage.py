"""The ephemeral stacks that exist: list them, destroy one, reap the expired."""

from __future__ import annotations

import time
from typing import Callable

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.ephemeral.driver import Driver, DriverError
from maestro_deploy.ephemeral.names import format_age
from maestro_deploy.exit_codes import EXIT_INFRASTRUCTURE, EXIT_OK


def reap(driver: Driver, dry_run: bool, clock: Callable[[], float] = time.time, say=print) -> int:
    """Destroy and remove every expired ephemeral stack; 2 if one could not be removed."""
    now = clock()
    code = 0
    for stack in sorted(driver.list(), key=lambda s: s.name):
        if not stack.expired(now):
            continue
        if dry_run:
            say(f"would destroy {stack.name} (owner {stack.owner}, expired {format_age(now - stack.expires)} ago)")
            continue
        try:
            driver.destroy(stack.name)
            say(f"destroyed {stack.name} (owner {stack.owner})")
        except (DriverError, OSError) as err:
            say(f"could not destroy {stack.name}: {err}")
            code = EXIT_INFRASTRUCTURE
    return code


def destroy(driver: Driver, name: str, say=print) -> int:
    """Destroy one ephemeral stack before it expires. Only stacks that `ephemeral run` made
    (found by their ephemeral label) can be named: never a stack of someone's own."""
    if name not in {s.name for s in driver.list()}:
        raise ConfigError([Problem("NAME", f"no ephemeral stack named {name!r}; `maestro-deploy ephemeral list` shows them")])
    try:
        driver.destroy(name)
    except (DriverError, OSError) as err:
        say(f"could not destroy {name}: {err}")
        return EXIT_INFRASTRUCTURE
    say(f"destroyed {name}")
    return EXIT_OK


def listing(driver: Driver, clock: Callable[[], float] = time.time) -> list[str]:
    now = clock()
    lines = []
    for s in sorted(driver.list(), key=lambda s: s.created):
        state = "EXPIRED" if s.expired(now) else f"expires in {format_age(s.expires - now)}"
        lines.append(f"{s.name}\towner {s.owner}\tage {format_age(now - s.created)}\t{state}")
    return lines
