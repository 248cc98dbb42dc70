"""`maestro-deploy status <stack>`: what runs of a stack, read from where it runs."""

from __future__ import annotations

import sys

# 2 when the stack is not running or its platform does not answer, as the other commands.
from maestro_deploy.exit_codes import EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_OK
from maestro_deploy.offline.running import run_loaded
from maestro_deploy.offline.stack import Loaded


def docker_status(loaded: Loaded) -> int:
    import time
    from datetime import datetime

    from maestro_deploy.config.exposure import public_urls
    from maestro_deploy.ephemeral import format_age
    from maestro_deploy.local import daemon_of, stack_status

    daemon = daemon_of(loaded.settings)
    units = stack_status(loaded.name, daemon)
    if not units:
        print(f"error: {loaded.name} is not running on {daemon} (no container labelled maestro.stack={loaded.name})", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    public = public_urls(loaded.settings)
    print(f"{'PRODUCT':15} {'UNIT':24} {'STATE':12} {'HEALTH':10} {'UP':>8}  {'IMAGE':32} URL")
    for u in units:
        started = u.started[:19]
        try:
            up = format_age(time.time() - datetime.fromisoformat(started + "+00:00").timestamp()) if u.state == "running" else "-"
        except ValueError:
            up = "?"
        print(f"{u.product:15} {u.unit:24} {u.state:12} {u.health:10} {up:>8}  {u.image:32} {public.get(u.unit, '')}")
    bad = [u.unit for u in units if not u.ok]
    print(f"{loaded.name}: " + (f"not healthy: {', '.join(bad)}" if bad else f"all {len(units)} units healthy"))
    return EXIT_FAILED if bad else EXIT_OK


def kubernetes_status(loaded: Loaded) -> int:
    """Offline, the objects the stack deploys and the command that shows them live; with a
    cluster context that answers, their live state too."""
    import shutil
    import subprocess

    from maestro_deploy.offline.render import manifests

    namespace = loaded.settings.kubernetes.namespace
    objects = manifests(run_loaded(loaded))
    kinds = sorted({o["kind"] for o in objects})
    print(f"{loaded.name}: {len(objects)} objects in namespace {namespace}: " + ", ".join(f"{sum(o['kind'] == k for o in objects)} {k}" for k in kinds))
    selector = f"app.kubernetes.io/instance={loaded.name}"
    command = ["kubectl", "get", "-n", namespace, "deployments,jobs,pods,services,ingresses,networkpolicies,pvc", "-l", selector]
    if loaded.settings.kubernetes.context:
        command[1:1] = ["--context", loaded.settings.kubernetes.context]
    print("Their live state: " + " ".join(command))
    if shutil.which("kubectl") and subprocess.run(["kubectl", "config", "current-context"], capture_output=True).returncode == 0:
        live = subprocess.run(command, capture_output=True, text=True, timeout=30)
        print(live.stdout or live.stderr, end="")
        return EXIT_OK if live.returncode == 0 else EXIT_INFRASTRUCTURE
    print("(no cluster context here: nothing live to show)")
    return EXIT_OK
