"""Each distinct evaluation of the real program once per test session, on every worker.

Most of the suite's time is Pulumi's SDK registering resources under mocks (about half a second
for `staging`), and many tests evaluate the same stack again: through the CLI in-process, the
harness, `maestro_deploy.testing`, or one hypothesis example that checks, renders and graphs.
The real program is a function of its inputs alone, so an evaluation is kept by exactly those
inputs, pickled, and each test gets its own copy (no test can change what another one reads).
Under pytest-xdist the pickles are shared through the run's base temporary directory, so that
the workers split the renders between them rather than each making all of them."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Optional

from maestro_deploy.offline import render
from maestro_deploy.program import main

_runs: dict[str, bytes] = {}
# Set by the `fresh_evaluations` fixture, for a test whose point is that two runs agree.
bypass = False
# Where this run's workers leave their evaluations for each other (None: a single process).
shared: Optional[Path] = None


def _key(stack: str, config: dict[str, Any], secret_keys, generated, stack_outputs) -> str:
    # repr, not JSON: 1, 1.0, True and "1" are different inputs, as are a map's key types and
    # order. The working directory is an input too: a build context is resolved against it.
    return repr((stack, config, secret_keys, generated, stack_outputs, os.getcwd()))


def _stored(key: str) -> Optional[Path]:
    return shared / f"{hashlib.sha256(key.encode()).hexdigest()}.pickle" if shared else None


def _recall(key: str) -> Optional[bytes]:
    if key not in _runs and (path := _stored(key)) and path.exists():
        _runs[key] = path.read_bytes()
    return _runs.get(key)


def _keep(key: str, done: Any) -> None:
    _runs[key] = pickle.dumps(done)
    if path := _stored(key):
        # Written whole, then renamed: the other worker reads all of it or none.
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(_runs[key])
        partial.replace(path)


def cached(run_program: Callable) -> Callable:
    """`run_program`, with the runs of the real program kept; any other program runs as it is."""

    def run(stack, config, program, secret_keys=None, generated=None, stack_outputs=None):
        if program is not main or bypass:
            return run_program(stack, config, program, secret_keys, generated, stack_outputs)
        key = _key(stack, config, secret_keys, generated, stack_outputs)
        if (kept := _recall(key)) is not None:
            return pickle.loads(kept)
        before = dict(generated or {})
        done = run_program(stack, config, program, secret_keys, generated, stack_outputs)
        # A run that made a password is not repeatable: the next one would make another.
        if generated is None or generated == before:
            _keep(key, done)
        return done

    return run


def install() -> None:
    """Every path to the real program (the CLI, running.run_loaded, testing, the harness) goes
    through render.run_stack, which calls render.run_program: that binding is the one cached."""
    render.run_program = cached(render.run_program)


def share(directory: Path) -> None:
    global shared
    directory.mkdir(exist_ok=True)
    shared = directory
