"""`compose up` on a running stack as an atomic upgrade, as `helm upgrade --atomic` is.

Compose replaces only the units whose config changed. Each of those must then become healthy
within a deadline its own health check implies; if one does not, the previous export (kept
beside the new one) is put back and brought up, so the stack is left as it was and healthy.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from maestro_deploy.local import POLL_SECONDS, Compose, LocalRunError
from maestro_deploy.safety.files import claim, remove_owned

LOG_LINES = 20  # of the unit that failed, in the error
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def seconds(text: str) -> float:
    """A Compose duration (5s, 1m30s, 500ms) in seconds."""
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * unit[u] for n, u in _DURATION.findall(str(text)))


def health_deadline(service: dict) -> float:
    """How long a unit may take to become healthy: its start period, then every retry's interval
    and timeout once more than Docker needs to call it unhealthy."""
    hc = service.get("healthcheck") or {}
    per_try = seconds(hc.get("interval", "30s")) + seconds(hc.get("timeout", "30s"))
    return seconds(hc.get("start_period", "0s")) + (int(hc.get("retries", 3)) + 1) * per_try


class NeverHealthy(LocalRunError):
    def __init__(self, unit: str, container: str, state: str, waited: float, log: str, said: str = ""):
        tail = "\n".join(log.rstrip("\n").splitlines()[-LOG_LINES:])
        check = f"; {said}" if said else ""
        super().__init__(f"{unit} ({container}) did not become healthy within {waited:.0f} s ({state}{check}); its last log lines:\n{tail}")
        self.unit = unit


@dataclass
class Previous:
    """The export that ran before this `up`, kept beside the new one (`<out>.previous`)."""

    out: Path

    @property
    def path(self) -> Path:
        return self.out.with_name(self.out.name + ".previous")

    @property
    def failed(self) -> Path:
        return self.out.with_name(self.out.name + ".failed")

    # Each directory it replaces goes through the writer (safety.files.remove_owned): only what
    # maestro-deploy wrote there is removed, and a directory of the user's under one of these
    # names is an exit-2 error naming it, before anything moves.

    def keep(self) -> None:
        """Moved aside whole (owners and modes of its secret files intact), for the new export to be written.
        The export an earlier upgrade left as failed goes now, before anything is started: a
        rollback only renames."""
        claim(self.out, "--out").close()  # the export is ours to move, or nothing moves
        remove_owned(self.path, "--out")
        remove_owned(self.failed, "--out")
        os.rename(self.out, self.path)

    def restore(self) -> None:
        """Back in its place, before anything new was started: whatever was written of the new one goes."""
        remove_owned(self.out, "--out")
        os.rename(self.path, self.out)

    def put_back(self) -> None:
        """The previous export in its place again, the one that failed beside it (`keep` made room)."""
        os.rename(self.out, self.failed)
        os.rename(self.path, self.out)


def wait_for(
    compose: Compose, services: list[str], progress: Optional[Callable[[str], None]] = None, started: Optional[float] = None
) -> None:
    """Until each service is healthy; NeverHealthy for the first one Docker calls unhealthy or
    whose deadline passes, counted from `started` (time.monotonic() when its container was
    started). A service without a health check counts as healthy when running."""
    specs = compose.services()
    started = time.monotonic() if started is None else started
    waiting = {s: health_deadline(specs[s]) for s in services if specs[s].get("restart") != "no"}
    while waiting:
        states = compose.health_now(waiting, specs)
        for service, deadline in sorted(waiting.items()):
            state = states[service]
            if state in ("healthy", "running"):
                del waiting[service]
                if progress:
                    progress(f"{service} healthy")
            elif state == "unhealthy" or time.monotonic() - started > deadline:
                said = compose.health_said(service, specs) if state == "unhealthy" else ""
                raise NeverHealthy(service, specs[service]["container_name"], state, time.monotonic() - started, compose.logs(service), said)
        if waiting:
            time.sleep(POLL_SECONDS)


def changed_units(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(s for s, container in after.items() if container != before.get(s))
