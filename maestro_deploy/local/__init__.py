"""Running a stack's Compose export on the local Docker engine, for machines without
the Pulumi CLI: up (and wait until healthy), the task's verdict, down, and what is left.

Everything here shells out to `docker` and to Compose: `docker compose` (v2, Docker's CLI
plugin) where it answers, else Debian's `docker-compose` (v1); every container, network and
volume carries the label `maestro.stack=<stack>`, which is how leftovers are found. Every one of
those commands goes through `Daemon` (`run`, `run_bytes`, `stream`), to the daemon the stack names
(`maestro:docker.host`): never, in silence, to whichever daemon this machine's environment points at.
"""

from maestro_deploy.local.compose import POLL_SECONDS, BuildFailed, Compose, NotStarted
from maestro_deploy.local.daemon import Daemon, LocalRunError, compose_command, daemon_of, project
from maestro_deploy.local.images import VENDOR_LOCK, vendor_wheels
from maestro_deploy.local.progress import Progress
from maestro_deploy.local.status import UnitStatus, database_volumes, inspect_stack, leftovers, stack_status
