"""The passphrase that encrypts the stacks' secrets on a self-managed backend, said once for
scripts/up and scripts/down (through scripts/pulumi-env) and the ephemeral runs' Pulumi driver:
the caller's (or its file), else one generated once into .pulumi-state/passphrase, readable by
its owner alone; never an empty one, which Pulumi accepts and which protects nothing."""

from __future__ import annotations

import base64
import os
import secrets
import shlex
import sys
from pathlib import Path

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.exit_codes import EXIT_INVALID, EXIT_OK
from maestro_deploy.safety.files import read_private, write_private

PULUMI_STATE = Path(".pulumi-state")


def passphrase_env() -> dict[str, str]:
    """The variables to add to the Pulumi CLI's environment: none when the caller gave a
    passphrase or its file; ConfigError when the caller's passphrase is empty."""
    phrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if phrase == "":
        # The CLI would take it over any file, and encrypt the secrets with nothing.
        raise ConfigError([Problem("PULUMI_CONFIG_PASSPHRASE", "is set but empty; unset it (a passphrase is then generated into .pulumi-state/passphrase, owner-only) or set one")])
    if phrase or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}
    key = str(PULUMI_STATE / "passphrase")
    kept = read_private(PULUMI_STATE, "passphrase", key)
    if not kept:
        print(f"generated the stacks' passphrase in {key} (owner-only): keep a copy; without it no secret of these stacks can be read again", file=sys.stderr)
    # Written again when kept: owner-only, whatever its mode had become.
    write_private(PULUMI_STATE, "passphrase", kept.decode() if kept else base64.b64encode(secrets.token_bytes(32)).decode() + "\n", key)
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str((PULUMI_STATE / "passphrase").resolve())}


def main() -> int:
    """`python -m maestro_deploy.pulumi_passphrase`: those variables as `export` lines for a shell
    to eval; exit 2, the problem said, when the caller's passphrase is empty."""
    try:
        found = passphrase_env()
    except ConfigError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    for name, value in found.items():
        print(f"export {name}={shlex.quote(value)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
