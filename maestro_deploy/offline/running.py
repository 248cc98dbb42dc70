"""Running a loaded stack: its program under Pulumi's mocks, and its Compose export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.config.secure_values import reveal_offline, top_level_keys
from maestro_deploy.offline.stack import Loaded, on_platform

# Where Compose exports keep generated passwords between renders.
STATE_DIR = Path(".maestro-state")


def run_loaded(loaded: Loaded, config: Optional[dict[str, Any]] = None, generated: Optional[dict[str, str]] = None):
    """The program under mocks, with encrypted values marked secret as the CLI would."""
    from maestro_deploy.offline.render import run_stack

    config = loaded.config if config is None else config
    _, secure = reveal_offline(config)
    return run_stack(loaded.name, config, top_level_keys(secure), generated, loaded.stack_outputs)


def write_compose(loaded: Loaded, out: Path, state: Path) -> tuple[Path, int]:
    """Render a stack for Docker into `out`: compose.yaml, its files, and outputs.json (the stack
    outputs); into a directory this tool owns, replacing its previous render (see safety.files)."""
    from maestro_deploy.offline.compose import compose_export, export_files, load_generated, save_generated
    from maestro_deploy.safety.files import File, claim

    _, secure = reveal_offline(loaded.config)
    if secure:
        # Compose runs for real, and nothing offline can decrypt a Pulumi secret.
        raise ConfigError(
            [Problem(p, "encrypted; a Compose export needs its value, so deploy this stack with pulumi up") for p in sorted(secure)]
        )
    if state.resolve() == out.resolve() or out.resolve() in state.resolve().parents:
        # A render replaces its directory, and an upgrade moves it aside whole: the passwords
        # kept in the state would go with it, and the next render would make new ones.
        raise ConfigError([Problem("--state", f"{state} is inside --out {out}; keep the generated passwords in a directory apart")])
    # Claimed first: a render refused there leaves no generated password behind.
    owned = claim(out)
    generated = load_generated(state, loaded.name)
    run = run_loaded(loaded, on_platform(loaded.config, "docker"), generated)
    save_generated(state, loaded.name, generated)
    export = compose_export(run)
    files, directories = export_files(export)
    # As `pulumi stack output` shows them: `maestro-deploy outputs --show-secrets` reveals the rest.
    files["outputs.json"] = File(json.dumps(run.shown_outputs(), indent=2))
    owned.replace(files, directories)
    return out / "compose.yaml", len(export.compose["services"])
