"""Checks on a stack's raw config, before and beside its parsing: values that must be Pulumi
secrets, `secure:` values where no secret belongs, control characters, and where a value may
never be quoted in an error because it is, or sits where, a secret."""

from __future__ import annotations

import re
from typing import Any, Iterator

from maestro_deploy.config.errors import Problem
from maestro_deploy.config.secure_values import SECRET_PATHS

NAMESPACE = "maestro"


# Where a value may span lines: PEM blocks, and a plain env var's value (never an env file line).
MULTILINE = re.compile(r"maestro:(kubernetes\.tls\.(certificate|key)|components\.[^.]+\.env\.[^.]+)")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_characters(raw: dict[str, Any]) -> Iterator[Problem]:
    """A newline or other control character in a name, version, URL or secret: a trailing newline
    slips past a `$` pattern into an image tag; in a secret, it writes a second line into an env file.
    The value is never quoted: it may be a secret."""

    def walk(value: Any, path: str) -> Iterator[Problem]:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and CONTROL.search(k):
                    yield Problem(path, "a key holds a control character (such as a newline)")
                yield from walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and CONTROL.search(value):
            allowed = MULTILINE.fullmatch(path) and "\x00" not in value
            if not allowed:
                yield Problem(path, "holds a control character (such as a trailing newline), which is not allowed here")

    for key, value in raw.items():
        if str(key).startswith(f"{NAMESPACE}:"):
            yield from walk(value, str(key))


def encrypted_plain_keys(secure: set[str]) -> Iterator[Problem]:
    """`secure:` values under keys that are not secrets: the program would put them in plain
    env vars and ConfigMaps (and offline, `[secret]` in their place). Provider keys are not ours."""
    for path in sorted(secure):
        if path.startswith(f"{NAMESPACE}:") and path.removeprefix(f"{NAMESPACE}:") not in SECRET_PATHS:
            yield Problem(
                path,
                "encrypted, but this key is not a secret: its value would be deployed in plain text; "
                f"the keys that take a secret are: {', '.join(f'{NAMESPACE}:{p}' for p in SECRET_PATHS)}",
            )


def holds_secret(path: str, secure: set[str], secret_keys: frozenset[str]) -> bool:
    """Whether the value at `path` is or contains a secret, or sits where one is expected:
    its value is then never quoted in an error (a secret set one level too high included)."""
    short = path.removeprefix(f"{NAMESPACE}:")
    top = path.split(".", 1)[0].split("[", 1)[0]
    related = lambda a, b: a == b or a.startswith(b + ".") or b.startswith(a + ".")  # noqa: E731
    return (
        top in secret_keys
        or any(related(short, s) for s in SECRET_PATHS)
        or any(related(path, s) for s in secure)
    )


def plain_secrets(ours: dict[str, Any], secure: set[str], secret_keys: frozenset[str]) -> Iterator[Problem]:
    for path in SECRET_PATHS:
        key, _, rest = path.partition(".")
        value: Any = ours.get(key)
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        full = f"{NAMESPACE}:{path}"
        if full not in secure and f"{NAMESPACE}:{key}" not in secret_keys:
            yield Problem(
                full,
                f"must be a Pulumi secret, not plain text: pulumi config set --secret --path '{full}' <value>",
            )
