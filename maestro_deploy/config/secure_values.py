"""Values a stack file holds encrypted: `pulumi config set --secret [--path] KEY VALUE`
writes them as `{secure: v1:...}`.

Offline (`check`, `render`), nothing can decrypt them: each becomes a placeholder, and
its path is remembered, so that a key which must be a secret can be told from a plain
value. Under the Pulumi CLI they arrive decrypted, and the SDK marks their top-level
key secret.
"""

from __future__ import annotations

from typing import Any

PLACEHOLDER = "[secret]"
# Keys whose values must be Pulumi secrets, as paths under `maestro:`, each with the
# well-formed stand-in that an offline render uses for it (`.invalid` never resolves).
SECRET_PATHS = {
    "components.engine.database.url": "postgresql://offline:offline@database.invalid:5432/maestro",
    "components.registry.password": PLACEHOLDER,
    "components.hive.api_token": PLACEHOLDER,
    "components.quality-fabric.target.api_token": PLACEHOLDER,
    "kubernetes.tls.key": PLACEHOLDER,
}


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def reveal_offline(raw: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """(config with each encrypted value replaced by PLACEHOLDER, the paths of those values)."""
    paths: set[str] = set()

    def walk(value: Any, path: str) -> Any:
        if is_secure(value):
            paths.add(path)
            return SECRET_PATHS.get(path.removeprefix("maestro:"), PLACEHOLDER)
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return {k: walk(v, str(k)) for k, v in raw.items()}, paths


def top_level_keys(paths: set[str]) -> list[str]:
    """The config keys that hold them: what the CLI marks secret for the program."""
    return sorted({path.split(".", 1)[0].split("[", 1)[0] for path in paths})
