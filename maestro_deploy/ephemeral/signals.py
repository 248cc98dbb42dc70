"""SIGINT and SIGTERM during a run: stop what runs, then always tear down."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Callable, Iterator


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop, and tear down."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        # As shells report a process a signal ended: 130 for SIGINT, 143 for SIGTERM.
        self.exit_code = 128 + signum


@contextmanager
def signals_interrupt() -> Iterator[Callable[[], None]]:
    """SIGINT and SIGTERM raise Interrupted until the yielded function is called; after
    that (during teardown) they are noted and ignored, so teardown always completes."""
    state = {"armed": True}

    def handler(signum, frame):
        if state["armed"]:
            state["armed"] = False
            raise Interrupted(signum)
        print(f"ignoring {signal.Signals(signum).name} until teardown completes", flush=True)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def disarm() -> None:
        state["armed"] = False

    try:
        yield disarm
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
