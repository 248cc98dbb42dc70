"""Each distinct evaluation of the real program once per test process.

Most of the suite's time is Pulumi's SDK registering resources under mocks (about half a second
for `staging`), and many tests evaluate the same stack again: through the CLI in-process, the
harness, `maestro_deploy.testing`, or one hypothesis example that checks, renders and graphs.
The real program is a function of its inputs alone, so an evaluation is kept by exactly those
inputs and handed out again as a copy (no test can change what another one reads)."""

from __future__ import annotations

import copy
import os
from typing import Any, Callable

from maestro_deploy.offline import render
from maestro_deploy.program import main

_runs: dict[str, Any] = {}
# Set by the `fresh_evaluations` fixture, for a test whose point is that two runs agree.
bypass = False


def _key(stack: str, config: dict[str, Any], secret_keys, generated, stack_outputs) -> str:
    # repr, not JSON: 1, 1.0, True and "1" are different inputs, as are a map's key types and
    # order. The working directory is an input too: a build context is resolved against it.
    return repr((stack, config, secret_keys, generated, stack_outputs, os.getcwd()))


def cached(run_program: Callable) -> Callable:
    """`run_program`, with the runs of the real program kept; any other program runs as it is."""

    def run(stack, config, program, secret_keys=None, generated=None, stack_outputs=None):
        if program is not main or bypass:
            return run_program(stack, config, program, secret_keys, generated, stack_outputs)
        key = _key(stack, config, secret_keys, generated, stack_outputs)
        if key in _runs:
            return copy.deepcopy(_runs[key])
        before = dict(generated or {})
        done = run_program(stack, config, program, secret_keys, generated, stack_outputs)
        # A run that made a password is not repeatable: the next one would make another.
        if generated is None or generated == before:
            _runs[key] = copy.deepcopy(done)
        return done

    return run


def install() -> None:
    """Every path to the real program (the CLI, running.run_loaded, testing, the harness) goes
    through render.run_stack, which calls render.run_program: that binding is the one cached."""
    render.run_program = cached(render.run_program)
