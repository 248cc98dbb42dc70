"""The Pulumi program's entry: `__main__.py` runs `main()` under the Pulumi CLI, and
`maestro-deploy render` runs the very same `main()` under Pulumi's mocks."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from maestro_deploy.config.environment import check_environments, environments
from maestro_deploy.config.validation import examine, stack_name_problems, warnings
from maestro_deploy.program.build import build


def read_pulumi_config() -> dict[str, Any]:
    """The stack's whole config map, as the Pulumi engine handed it to this program.

    The SDK offers no public way to list every key, and a typo in a key name
    must be reported, not ignored; so read the map the language host set.
    """
    from pulumi.runtime.config import CONFIG

    raw: dict[str, Any] = {}
    for key, value in CONFIG.get().items():
        try:
            raw[key] = json.loads(value)  # objects and lists arrive as JSON
        except ValueError:
            raw[key] = value  # a plain string
    return raw


def main() -> dict[str, Any]:
    from pulumi.runtime.config import is_config_secret

    from maestro_deploy.config.errors import ConfigError

    raw = read_pulumi_config()
    try:
        # Every check on every part, as `check` runs them (its references resolve at run time).
        examined = examine(raw, frozenset(key for key in raw if is_config_secret(key)))
        settings = examined.settings  # None only where its problems say why
        incompatible, unchecked = check_environments(environments(settings, unparsed=examined.unparsed, unknown_callees=examined.unknown_callees)) if settings else ([], [])
        errors = stack_name_problems(pulumi.get_stack()) + examined.problems + incompatible
        if errors:
            raise ConfigError(errors, examined.skipped)
    except ConfigError as err:
        # RunError is reported as its message alone: no traceback, nothing registered.
        raise pulumi.RunError(f"invalid stack config:\n{err}") from None
    for warning in warnings(settings) + unchecked:
        pulumi.log.warn(str(warning))
    outputs = build(pulumi.get_stack(), settings)
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
