"""Ephemeral quality-fabric runs: a uniquely named throwaway stack that deploys a
target (or points at an external one), runs quality-fabric's suites, reports, and is
destroyed and removed on every path: tests pass or fail, the deployment fails
halfway, or the process gets SIGINT or SIGTERM. What a run cannot remove (the engine
itself fails) carries an expiry, and `reap` removes it once expired.

Exit codes: 0 the suites pass, 1 a test fails, 2 the infrastructure failed.
"""

from __future__ import annotations

import re
import secrets
import signal
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Protocol

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.safety.files import File, claim

EXIT_PASSED, EXIT_FAILED, EXIT_INFRASTRUCTURE = 0, 1, 2
PREFIX = "qf-"
DEFAULT_TTL = 2 * 3600


class DriverError(Exception):
    """The driver could not do what was asked; the message says what and why."""


@dataclass(frozen=True)
class EphemeralStack:
    """A live ephemeral stack, as `list` shows it."""

    name: str
    owner: str
    created: int  # Unix time
    expires: int

    def expired(self, now: float) -> bool:
        return now >= self.expires


class Driver(Protocol):
    """Where an ephemeral stack runs: the Pulumi Automation API, or Docker through Compose."""

    name: str

    def deploy(self, stack: str, config: dict[str, Any]) -> None:
        """Create the stack and deploy it; raise DriverError (or ConfigError) on failure."""

    def wait_healthy(self, stack: str) -> None:
        """Return once every service is healthy."""

    def run_tests(self, stack: str) -> str:
        """Let quality-fabric's runner finish; return its JUnit XML."""

    def destroy(self, stack: str) -> None:
        """Remove every resource of the stack and the stack itself; idempotent."""

    def list(self) -> list[EphemeralStack]:
        """Every live ephemeral stack this driver can see."""


# --- names and durations ---

def slug(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:20].strip("-") or "run"


def unique_name(base: str, taken: Callable[[], set[str]], token: Callable[[], str] = lambda: secrets.token_hex(3)) -> str:
    """qf-<slug>-<6 hex>: random, so runs started at once do not collide, and checked
    against the stacks that exist."""
    existing = taken()
    for _ in range(100):
        name = f"{PREFIX}{slug(base)}-{token()}"
        if name not in existing:
            return name
    raise DriverError("could not find a free stack name")


def parse_ttl(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise ConfigError([Problem("--ttl", f"expected a duration such as 30m, 2h or 1d (got {text!r})")])
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


# --- the run ---

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


@dataclass
class Summary:
    tests: int = 0
    failures: int = 0
    cases: list[tuple[str, Optional[str]]] = field(default_factory=list)  # (name, failure message)


def summarize(junit: str) -> Summary:
    root = ET.fromstring(junit)
    summary = Summary()
    for case in root.iter("testcase"):
        failure = case.find("failure")
        summary.cases.append((f"{case.get('classname')}.{case.get('name')}", None if failure is None else failure.get("message")))
    summary.tests = len(summary.cases)
    summary.failures = sum(1 for _, f in summary.cases if f is not None)
    return summary


def run(
    driver: Driver,
    config: dict[str, Any],
    base_name: str,
    owner: str,
    ttl: int,
    results: Path,
    clock: Callable[[], float] = time.time,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> int:
    """One ephemeral run, start to teardown; returns the exit code."""
    name = unique_name(base_name, lambda: {s.name for s in driver.list()})
    created = int(clock())
    config = {**config, "maestro:ephemeral": {"owner": owner, "created": created, "expires": created + ttl}}
    verdict = EXIT_INFRASTRUCTURE
    # Its name, before anything exists: a CI job's always-run cleanup step destroys it by name.
    # The results go only into a directory this tool owns (new, or one it wrote before).
    report(results, {"stack-name": name + "\n"})
    say(f"{name}: ephemeral stack on {driver.name}, owner {owner}, expires in {ttl // 60} min")
    with signals_interrupt() as disarm:
        try:
            driver.deploy(name, config)
            say(f"{name}: deployed; waiting until healthy")
            driver.wait_healthy(name)
            say(f"{name}: healthy; running quality-fabric's suites")
            junit = driver.run_tests(name)
            report(results, {"stack-name": name + "\n", "junit.xml": junit})
            summary = summarize(junit)
            for case, failure in summary.cases:
                say(f"  {'FAIL' if failure else 'ok  '} {case}" + (f": {failure}" if failure else ""))
            say(f"{name}: {summary.tests - summary.failures} passed, {summary.failures} failed; JUnit XML in {results / 'junit.xml'}")
            verdict = EXIT_FAILED if summary.failures or not summary.tests else EXIT_PASSED
        except Interrupted as err:
            say(f"{name}: interrupted by {err}; tearing down")
            verdict = err.exit_code
        except ConfigError as err:
            say(f"{name}: invalid config:\n{err}")
        except (DriverError, OSError, ET.ParseError) as err:
            say(f"{name}: {type(err).__name__}: {err}")
        finally:
            disarm()
            verdict = _teardown(driver, name, verdict, say)
    return verdict


def report(results: Path, files: dict[str, str]) -> None:
    claim(results, key="--results").replace({name: File(text) for name, text in files.items()})


def _teardown(driver: Driver, name: str, verdict: int, say: Callable[[str], None]) -> int:
    for attempt in range(1, 4):
        try:
            driver.destroy(name)
            say(f"{name}: destroyed and removed")
            return verdict
        except (DriverError, OSError) as err:
            say(f"{name}: teardown attempt {attempt} failed: {err}")
            time.sleep(attempt)
    say(f"{name}: NOT removed; `maestro-deploy ephemeral reap` removes it once it expires")
    return EXIT_INFRASTRUCTURE


def reap(driver: Driver, dry_run: bool, clock: Callable[[], float] = time.time, say=print) -> int:
    """Destroy and remove every expired ephemeral stack; 2 if one could not be removed."""
    now = clock()
    code = 0
    for stack in sorted(driver.list(), key=lambda s: s.name):
        if not stack.expired(now):
            continue
        if dry_run:
            say(f"would destroy {stack.name} (owner {stack.owner}, expired {format_age(now - stack.expires)} ago)")
            continue
        try:
            driver.destroy(stack.name)
            say(f"destroyed {stack.name} (owner {stack.owner})")
        except (DriverError, OSError) as err:
            say(f"could not destroy {stack.name}: {err}")
            code = EXIT_INFRASTRUCTURE
    return code


def format_age(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def destroy(driver: Driver, name: str, say=print) -> int:
    """Destroy one ephemeral stack before it expires. Only stacks that `ephemeral run` made
    (found by their ephemeral label) can be named: never a stack of someone's own."""
    if name not in {s.name for s in driver.list()}:
        raise ConfigError([Problem("NAME", f"no ephemeral stack named {name!r}; `maestro-deploy ephemeral list` shows them")])
    try:
        driver.destroy(name)
    except (DriverError, OSError) as err:
        say(f"could not destroy {name}: {err}")
        return EXIT_INFRASTRUCTURE
    say(f"destroyed {name}")
    return EXIT_PASSED


def listing(driver: Driver, clock: Callable[[], float] = time.time) -> list[str]:
    now = clock()
    lines = []
    for s in sorted(driver.list(), key=lambda s: s.created):
        state = "EXPIRED" if s.expired(now) else f"expires in {format_age(s.expires - now)}"
        lines.append(f"{s.name}\towner {s.owner}\tage {format_age(now - s.created)}\t{state}")
    return lines
