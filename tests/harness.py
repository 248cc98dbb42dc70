"""Run any stack under mocks and read what it registered, by kind and name: the project's
tests on maestro_deploy.testing, with each distinct stack evaluated once per session.

    env = render_env("staging")
    assert env.deployment("frontend").env["VITE_MAESTRO_API_BASE"] == url
"""

from __future__ import annotations

import functools
import json
from typing import Any, Union

from maestro_deploy.offline.render import run_stack
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path
from maestro_deploy.testing import Rendered


# The public testing API: what a user's tests use, the project's own tests use too.
Env = Rendered


# The stack that others in stacks/ refer to, and the name the Pulumi CLI gives it.
REFERENCED = "engine-only"
REFERENCED_AS = f"organization/maestro/{REFERENCED}"


def render_env(
    stack_or_config: Union[str, dict[str, Any]],
    stack: str = "test",
    stack_outputs: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
) -> Env:
    """Evaluate a stack from stacks/ (by name or path), or a config map given inline.

    References to other stacks resolve to `stack_outputs`; by default, to what the
    referenced stack in stacks/ exports."""
    if isinstance(stack_or_config, str):
        stack, path = resolve_stack_path(stack_or_config)
        config = read_stack_config(path)
    else:
        config = stack_or_config
    if stack_outputs is None and stack != REFERENCED:
        stack_outputs = chained_outputs()
    key = json.dumps([stack, config, stack_outputs, secret_keys], sort_keys=True)
    return _evaluate(key)


@functools.cache
def _evaluate(key: str) -> Env:
    """One evaluation per distinct stack, config and references: tests only read an Env."""
    stack, config, stack_outputs, secret_keys = json.loads(key)
    return Env(run_stack(stack, config, secret_keys, stack_outputs=stack_outputs))


def chained_outputs() -> dict[str, Any]:
    """What `maestro-deploy outputs engine-only` prints: the referenced stack's outputs."""
    return {REFERENCED_AS: stack_env(REFERENCED).outputs}


@functools.cache
def stack_env(name: str) -> Env:
    """A stack from stacks/, evaluated once per test session: tests only read it."""
    return render_env(name)
