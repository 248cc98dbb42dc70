"""Checks on a stack's raw config, before and beside its parsing: values that must be Pulumi
secrets, `secure:` values where no secret belongs, control characters, and where a value may
never be quoted in an error because it is, or sits where, a secret."""

from __future__ import annotations

import re
from typing import Any, Iterator

from maestro_deploy.config.errors import Problem
from maestro_deploy.config.secure_values import SECRET_PATHS, is_secure
from maestro_deploy.safety.redaction import REDACTIONS, SEPARATORS_AND_BIDI, credentials_in

NAMESPACE = "maestro"


# Where a value may span lines: PEM blocks, and a plain env var's value (never an env file line).
MULTILINE = re.compile(r"maestro:(kubernetes\.tls\.(certificate|key)|components\.[^.]+\.env\.[^.]+)")
# C0, DEL and C1 controls, line and paragraph separators, and bidirectional controls: a line
# break or a reordering that some reader (a terminal, a YAML parser, a browser) acts on.
CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{SEPARATORS_AND_BIDI}]")


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


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _at_secret_path(path: str) -> bool:
    return any(_related(path.removeprefix(f"{NAMESPACE}:"), s) for s in SECRET_PATHS)


def _scalars(raw: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(path, value, whether it came from a secret source) of every value under `maestro:`."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, Any, bool]]:
        if is_secure(value):
            yield path, value["secure"], True
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{path}[{i}]")
        elif value is not None:
            yield path, value, _at_secret_path(path)

    for key, value in raw.items():
        if str(key).startswith(f"{NAMESPACE}:"):
            yield from walk(value, str(key))


def _text(value: Any) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except ValueError:  # an integer too long to print: nothing anyone would type
        return ""


def collect_secrets(raw: dict[str, Any]) -> dict[str, str]:
    """Every value from a secret source joins the redaction set: each `secure:` value, each
    value under a secret key (whatever its type: a YAML tag may have made it a number), each
    URL's password or token in any form. Returns this config's secrets: value -> its key."""
    found: dict[str, str] = {}
    for path, value, secret in _scalars(raw):
        text = _text(value)
        if secret:
            REDACTIONS.add(text, path)
            found.setdefault(text, path)
        if isinstance(value, str):
            REDACTIONS.add_credentials(value, path)
    return found


# Where a URL's user is a login name, not a token: ssh://deploy@vm.
NOT_CREDENTIALS = {f"{NAMESPACE}:docker.host"}


def secrets_in_plain_fields(raw: dict[str, Any], secrets: dict[str, str]) -> Iterator[Problem]:
    """A secret's value in a plain field (a YAML alias reuses it whole), or a credential in a URL
    where none belongs (an env value, a build arg, templates_path): it would be deployed and
    shown in plain text. The value is never quoted."""
    for path, value, secret in _scalars(raw):
        if secret or not isinstance(value, str) or path in NOT_CREDENTIALS:
            continue
        source = next((key for text, key in secrets.items() if len(text) >= 4 and text in value), None)
        if source:
            yield Problem(path, f"holds the value of the secret {source}, which would be deployed and shown in plain text here")
        elif credentials_in(value):
            yield Problem(
                path,
                "holds a credential (a URL's password or token, or one in its query), which would be deployed "
                "and shown in plain text; give the URL without it, and the credential through a secret",
            )
