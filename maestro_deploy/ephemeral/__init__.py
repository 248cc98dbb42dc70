"""Ephemeral quality-fabric runs: a uniquely named throwaway stack that deploys a
target (or points at an external one), runs quality-fabric's suites, reports, and is
destroyed and removed on every path: tests pass or fail, the deployment fails
halfway, or the process gets SIGINT or SIGTERM. What a run cannot remove (the engine
itself fails) carries an expiry, and `reap` removes it once expired.

Exit codes: 0 the suites pass, 1 a test fails, 2 the infrastructure failed.
"""

from maestro_deploy.config.errors import ConfigError
from maestro_deploy.ephemeral.driver import Driver, DriverError, EphemeralStack
from maestro_deploy.ephemeral.junit import Summary, summarize
from maestro_deploy.ephemeral.manage import destroy, listing, reap
from maestro_deploy.ephemeral.names import DEFAULT_TTL, PREFIX, format_age, parse_ttl, slug, unique_name
from maestro_deploy.ephemeral.runner import report, run
from maestro_deploy.ephemeral.signals import Interrupted, signals_interrupt
from maestro_deploy.exit_codes import EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
