"""One ephemeral run: deploy, wait until healthy, run the suites, report, and tear down on
every path (tests pass or fail, the deployment fails halfway, SIGINT or SIGTERM)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

from maestro_deploy.config.errors import ConfigError
from maestro_deploy.ephemeral.driver import Driver, DriverError
from maestro_deploy.ephemeral.junit import summarize
from maestro_deploy.ephemeral.names import unique_name
from maestro_deploy.ephemeral.signals import Interrupted, signals_interrupt
from maestro_deploy.exit_codes import EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
from maestro_deploy.safety.files import File, claim


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
            verdict = EXIT_FAILED if summary.failures or not summary.tests else EXIT_OK
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
