"""How a long job says where it is: one line per phase, with the seconds since it began."""

from __future__ import annotations

import os
import sys
import time
from typing import Optional


class Progress:
    """One line per phase of a long job, with the seconds since it began. The clock may
    start in the shell script that runs this (MAESTRO_PROGRESS_START, epoch seconds)."""

    def __init__(self, started: Optional[float] = None):
        self.started = started if started is not None else float(os.environ.get("MAESTRO_PROGRESS_START") or time.time())

    def elapsed(self) -> float:
        return time.time() - self.started

    def __call__(self, message: str) -> None:
        # One write per line (print writes the newline apart): threads say their phases too.
        sys.stdout.write(f"[{time.time() - self.started:6.1f}s] {message}\n")
        sys.stdout.flush()
