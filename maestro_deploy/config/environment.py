"""Checks on the environment a stack joins: its references to other stacks' outputs,
and the compatibility of every product version in it, this stack's and referenced ones'."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

from maestro_components.catalog import load_catalog
from maestro_components.wiring import WIRING, Call, override_of

from maestro_deploy.config.compatibility import Deployed, check
from maestro_deploy.config.errors import ConfigError, Problem
from maestro_components.grammar import api_base_problem, url_problem
from maestro_components.options import VERSION, matcher
from maestro_deploy.config.parts import KeyPaths
from maestro_deploy.config.settings import Endpoint, StackSettings
from maestro_deploy.config.validation import products, warnings

# The rule a URL written in config meets: a URL read from another stack meets it too.
def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and url_problem(value) is None


is_version = matcher(VERSION)


def references(s: StackSettings) -> Iterator[tuple[str, Endpoint, Call]]:
    """(key path, endpoint, the call of the wiring table) of every stack reference."""
    for call in WIRING:
        endpoint = override_of(s.components, call)
        if endpoint is not None and endpoint.stack:
            yield f"maestro:components.{call.setting}", endpoint, call


def load_stack_outputs(path: Optional[str]) -> Optional[dict[str, dict[str, Any]]]:
    """`--stack-outputs FILE`: {"org/project/stack": {"engine_url": "https://..."}}."""
    if path is None:
        return None
    from maestro_deploy.safety.files import read_user_file

    text = read_user_file(Path(path), "--stack-outputs file")
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigError([Problem(path, "nested too deeply to be stack outputs (--stack-outputs)")]) from None
    except ValueError as err:
        raise ConfigError([Problem(path, f"not valid JSON: {err}")]) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError([Problem(path, 'expected {"<stack>": {"<output>": value, ...}, ...}')])
    problems = [
        Problem(f"{path}: {stack}.versions", 'expected {"<product>": "<version>", ...}')
        for stack, outputs in data.items()
        if "versions" in outputs and not _versions(outputs["versions"])
    ]
    if problems:
        raise ConfigError(problems)
    return data


def _versions(value: Any) -> bool:
    """A stack's `versions` output as the compatibility check reads it: product -> version."""
    return isinstance(value, dict) and all(isinstance(v, str) and is_version(v) for v in value.values())


def reference_problems(s: StackSettings, outputs: Optional[dict[str, dict[str, Any]]]) -> Iterator[Problem]:
    for path, ref, call in references(s):
        if outputs is None:
            yield Problem(path, f"refers to stack {ref.stack}: offline, give its outputs with --stack-outputs FILE")
        elif ref.stack not in outputs:
            yield Problem(path, f"stack {ref.stack} is not in the --stack-outputs file")
        elif ref.output not in outputs[ref.stack]:
            known = ", ".join(sorted(outputs[ref.stack])) or "none"
            yield Problem(path, f"stack {ref.stack} has no output {ref.output!r} (it has: {known})")
        elif not is_http_url(url := outputs[ref.stack][ref.output]):
            yield Problem(path, f"output {ref.output!r} of stack {ref.stack} is not an http(s) URL")
        elif call.api_base and (problem := api_base_problem(url)):
            yield Problem(path, f"output {ref.output!r} of stack {ref.stack}: {problem}")


def remote_products(s: StackSettings) -> list[tuple[str, str]]:
    """(referenced stack, product key it serves) of every reference to another stack's product."""
    return list(dict.fromkeys((ref.stack, call.callee) for _, ref, call in references(s) if call.versioned))


def environments(
    s: StackSettings,
    outputs: Optional[dict[str, dict[str, Any]]] = None,
    unparsed: KeyPaths = KeyPaths(),
    unknown_callees: frozenset[str] = frozenset(),
) -> list[list[Deployed]]:
    """The groups of products that call each other, each checked against the matrix on its own.

    This stack's products form one. A product that calls another stack's product (a frontend on
    a referenced engine) is paired with that one, where that stack exports `versions`, and not
    with this stack's own product of the same kind, which it never calls. A product whose
    version did not parse is left out: its default is not what the stack asked for; so is one whose
    callee is unknown (`unknown_callees`: its stack reference did not parse)."""
    catalog = load_catalog()

    def known(key: str) -> bool:
        given = (f"maestro:components.{key}.{field}" for field in ("version", "allow_incompatible"))
        return key not in unknown_callees and not any(path in unparsed for path in given)

    local = {
        key: Deployed(key, product.version or catalog[key].version, product.allow_incompatible)
        for _, key, product in products(s)
        if known(key)
    }
    own = dict(local)
    groups: list[list[Deployed]] = []
    for path, ref, call in references(s):
        if not call.versioned:
            continue  # a tester of any target is held to no version of it
        serves = call.callee
        consumer = path.removeprefix("maestro:components.").split(".", 1)[0]
        versions = (outputs or {}).get(ref.stack, {}).get("versions")
        remote = (
            Deployed(serves, str(versions[serves]), stack=ref.stack)
            if isinstance(versions, dict) and is_version(str(versions.get(serves)))
            else None
        )
        if serves in local:
            own.pop(consumer, None)
        if remote and consumer in local:
            # Each caller with the product it calls: two references may name two stacks.
            groups.append([local[consumer], remote])
    return [list(own.values())] + groups


def check_environments(groups: list[list[Deployed]]) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of every group, each problem once."""
    errors: dict[str, Problem] = {}
    warned: dict[str, Problem] = {}
    for group in groups:
        found_errors, found_warnings = check(group)
        errors.update((str(p), p) for p in found_errors)
        warned.update((str(p), p) for p in found_warnings)
    return list(errors.values()), list(warned.values())


def environment_problems(
    s: StackSettings,
    outputs: Optional[dict[str, dict[str, Any]]],
    unparsed: KeyPaths = KeyPaths(),
    unknown_callees: frozenset[str] = frozenset(),
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the environment, references included (offline: from `outputs`)."""
    errors = list(reference_problems(s, outputs))
    incompatible, unchecked = check_environments(environments(s, outputs, unparsed, unknown_callees))
    return errors + incompatible, warnings(s) + unchecked
