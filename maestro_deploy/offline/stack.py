"""A stack as the offline tools and drivers read it: the contract, checked whole, and the same
stack moved to another platform. Running it is `offline.running`'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from maestro_deploy.config.environment import environment_problems
from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.config.settings import OBSERVABILITY_PLATFORM, StackSettings
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path
from maestro_deploy.config.validation import examine, stack_name_problems


@dataclass
class Loaded:
    """A stack file read and checked: what the commands and the drivers take."""

    name: str
    config: dict[str, Any]
    settings: StackSettings
    stack_outputs: Optional[dict[str, dict[str, Any]]]


def check(config: dict[str, Any], stack_outputs: Optional[dict[str, dict[str, Any]]]) -> tuple[StackSettings, list[Problem]]:
    """A stack's config checked whole, references and compatibility included: its settings
    and warnings, or ConfigError with every problem. Nothing runs unless it passes."""
    return checked(config, stack_outputs)


def checked(
    config: dict[str, Any], stack_outputs: Optional[dict[str, dict[str, Any]]], problems: Sequence[Problem] = ()
) -> tuple[StackSettings, list[Problem]]:
    """`check`, with the `problems` found before it (the stack's name) reported beside its own."""
    examined = examine(config)
    errors = [*problems, *examined.problems]
    warnings: list[Problem] = []
    if examined.settings is not None:
        found, warnings = environment_problems(examined.settings, stack_outputs, examined.unparsed, examined.unknown_callees)
        errors += found
    if errors:
        raise ConfigError(errors, examined.skipped)
    return examined.settings, warnings


def load(stack: str, stack_outputs: Optional[dict[str, dict[str, Any]]]) -> tuple[Loaded, list[Problem]]:
    """Read a stack file and check it; returns it with its warnings."""
    name, path = resolve_stack_path(stack)
    problems = stack_name_problems(name)
    try:
        config = read_stack_config(path)
    except ConfigError as err:
        raise ConfigError(problems + err.problems, ["the stack file could not be read: nothing in it was checked"]) from None
    if "maestro:ephemeral" in config:
        # It unprotects every volume: only `ephemeral run` sets it, on the throwaway stacks it creates.
        problems.append(Problem("maestro:ephemeral", "set by `maestro-deploy ephemeral run` only; in a stack file it would leave every volume unprotected, so remove it"))
    settings, warnings = checked(config, stack_outputs, problems)
    return Loaded(name, config, settings, stack_outputs), warnings


def on_platform(config: dict[str, Any], platform: str) -> dict[str, Any]:
    """The same stack on another platform: only the platform's own keys change, and on Docker,
    which runs one container per unit, replicas and autoscaling go (see `scaled_down`)."""
    moved = {k: v for k, v in config.items() if k not in ("maestro:kubernetes", "maestro:docker", "maestro:observability")}
    moved["maestro:platform"] = platform
    observability = config.get("maestro:observability")
    if isinstance(observability, dict):
        # The OTLP collector on any platform; how metrics are scraped, on the platform's own keys.
        moved["maestro:observability"] = {k: v for k, v in observability.items() if OBSERVABILITY_PLATFORM.get(k, platform) == platform}
    if platform == "kubernetes" and "maestro:kubernetes" in config:
        moved["maestro:kubernetes"] = config["maestro:kubernetes"]
    if platform == "docker":
        if "maestro:docker" in config:
            moved["maestro:docker"] = config["maestro:docker"]
        components = config.get("maestro:components")
        if isinstance(components, dict):
            moved["maestro:components"] = {
                key: {k: v for k, v in product.items() if k not in SCALING} if isinstance(product, dict) else product
                for key, product in components.items()
            }
    return moved


# What a cluster scales and one Docker engine cannot: one container per unit there.
SCALING = ("replicas", "autoscaling")


def scaled_down(config: dict[str, Any]) -> list[Problem]:
    """A warning for each product whose replicas or autoscaling `on_platform(config, "docker")` drops."""
    components = config.get("maestro:components")
    return [
        Problem(f"maestro:components.{key}.{field}", "dropped on the docker platform: one container per unit")
        for key, product in (components.items() if isinstance(components, dict) else [])
        if isinstance(product, dict)
        for field in SCALING
        if field in product and config.get("maestro:platform", "kubernetes") != "docker"
    ]
