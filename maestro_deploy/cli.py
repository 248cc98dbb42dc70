"""`maestro-deploy`: check, render and describe stacks without the Pulumi CLI."""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Optional

from maestro_deploy.config.errors import ConfigError, Problem
from maestro_deploy.ephemeral import DriverError
from maestro_deploy.exit_codes import EXIT_BUG, EXIT_FAILED, EXIT_INFRASTRUCTURE, EXIT_INVALID, EXIT_OK
from maestro_deploy.local import BuildFailed, Compose, Daemon, LocalRunError, NotStarted, Progress
from maestro_deploy.config.environment import load_stack_outputs
from maestro_deploy.offline.running import STATE_DIR, run_loaded, write_compose
from maestro_deploy.offline.stack import Loaded, check, load, on_platform, scaled_down
from maestro_deploy.config.stack_file import read_stack_config, resolve_stack_path
from maestro_deploy.config.validation import parse_settings, products
from maestro_deploy.safety.redaction import redacted_output, silence_stdout

# How the Pulumi CLI names a stack of this project on a self-managed (file) backend.
DEFAULT_ORGANIZATION = "organization"


def _load(args: argparse.Namespace) -> Loaded:
    loaded, warnings = load(args.stack, load_stack_outputs(getattr(args, "stack_outputs", None)))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded


def cmd_check(args: argparse.Namespace) -> int:
    loaded = _load(args)
    keys = [key for _, key, _ in products(loaded.settings)]
    print(f"{loaded.name}: valid ({loaded.settings.platform}; {', '.join(keys) or 'no products'})")
    if loaded.settings.platform == "docker":
        from maestro_deploy.local import daemon_of

        # scripts/up and scripts/down read this line: every Docker command of theirs goes there.
        host = daemon_of(loaded.settings).host
        print(f"{loaded.name}: Docker daemon {host} (maestro:docker.host)" if host else f"{loaded.name}: Docker daemon from DOCKER_HOST, or the local one (maestro:docker.host names another)")
    elif loaded.settings.components.engine:
        from maestro_deploy.config.exposure import offered_to

        callers = offered_to(loaded.settings)
        print(
            f"{loaded.name}: engine_internal_url offered to pods in namespaces {', '.join(callers)}"
            if callers
            else f"{loaded.name}: engine_internal_url not offered to other stacks (maestro:kubernetes.admit_namespaces names who may call it)"
        )
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from maestro_deploy.offline.gitops import EXPECTED_SECRETS, USER_RESOURCES
    from maestro_deploy.offline.render import KUSTOMIZATION, manifests, write_manifests

    loaded = _load(args)
    if args.platform:
        if args.platform == "docker":
            for warning in scaled_down(loaded.config):
                print(f"warning: {warning}", file=sys.stderr)
        loaded.config = on_platform(loaded.config, args.platform)
        loaded.settings = parse_settings(loaded.config)
    if loaded.settings.platform == "docker":
        if args.without_secrets:
            raise ConfigError([Problem("--without-secrets", "only a Kubernetes render holds Secret objects; a Docker stack's secrets stay in its Compose export's env files")])
        return render_compose(loaded, Path(args.out), Path(args.state))
    written = write_manifests(manifests(run_loaded(loaded)), Path(args.out), loaded.settings.kubernetes.namespace, args.without_secrets)
    objects = [name for name in written.files if name not in (KUSTOMIZATION, EXPECTED_SECRETS)]
    listed = f", no Secret (those to supply: {EXPECTED_SECRETS})" if args.without_secrets else ""
    print(f"{loaded.name}: wrote {len(objects)} Kubernetes objects{listed} and their kustomization.yaml to {args.out}")
    for secret in written.unsupplied:
        print(f"warning: Secret {secret}: the stack reads it and no file that {USER_RESOURCES} names supplies it ({EXPECTED_SECRETS}: its keys)", file=sys.stderr)
    return EXIT_OK


def render_compose(loaded: Loaded, out: Path, state: Path) -> int:
    compose, services = write_compose(loaded, out, state)
    name = loaded.name
    host = loaded.settings.docker.host if loaded.settings.docker else None
    on = f"DOCKER_HOST={shlex.quote(host)} " if host else ""  # the daemon maestro:docker.host names, not this shell's
    print(f"{name}: wrote {compose} ({services} services); up: {on}docker compose -p maestro-{name} -f {shlex.quote(str(compose))} up -d (or docker-compose, v1)")
    return EXIT_OK


def cmd_compose_up(args: argparse.Namespace) -> int:
    from maestro_deploy.local import daemon_of, inspect_stack
    from maestro_deploy.operate.upgrade import NeverHealthy, Previous, changed_units, wait_for

    progress = Progress()
    loaded = _load(args)
    name = loaded.name
    out = Path(args.out or f"out/{name}-compose")
    previous = Previous(out)
    daemon = daemon_of(loaded.settings)
    progress(f"on {daemon}")
    _refuse_lost_passwords(name, Path(args.state), daemon)
    running = bool(inspect_stack(name, daemon))
    # An upgrade: what runs now came from this export, which is kept to fall back on.
    upgrade = (out / "compose.yaml").is_file() and running
    if upgrade:
        previous.keep()
    try:
        write_compose(loaded, out, Path(args.state))
        compose = Compose(name, out, daemon)
        progress(f"rendered {out / 'compose.yaml'} ({len(compose.services())} services)")
        if running:
            compose.build_images(progress)  # all of them before a running unit is replaced
    except BaseException:
        if upgrade:
            previous.restore()  # nothing was started: the running export stays where it was
        raise
    before = compose.container_ids() if upgrade else {}
    try:
        if running:
            compose.up()
        else:
            _first_up(compose, progress)
        refused = None
    except NotStarted as err:
        # A unit that a task waits for turned unhealthy: named below, with its log lines. Any
        # other failure (a build, Compose itself) is said as it is: there is no health to wait for.
        refused = err
    # Each unit's health deadline counts from the moment every image was there, not from the builds.
    started = compose.images_there or time.monotonic()
    changed = changed_units(before, compose.container_ids())
    progress(f"containers started; replaced: {', '.join(changed) or 'none'}" if upgrade else "containers started")
    try:
        wait_for(compose, changed, progress, started)
        if refused:
            raise refused
    except NeverHealthy as err:
        print(f"error: {err}", file=sys.stderr)
        if not upgrade:
            return EXIT_FAILED
        failed_at = progress.elapsed()
        previous.put_back()
        restored = Compose(name, out, daemon)
        restored.up()
        wait_for(restored, [s for s in changed if s in restored.services()])
        print(
            f"error: rolled back: {', '.join(changed)} as before, every unit healthy, in {progress.elapsed() - failed_at:.1f} s; "
            f"the export that failed is in {previous.failed}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    progress(f"{name}: every service healthy")
    print_urls(json.loads((out / "outputs.json").read_text(encoding="utf-8")), args.stack)
    print(f"Tear it down: maestro-deploy compose down {args.stack} (data kept; --delete-data removes it too)")
    return EXIT_OK


def _first_up(compose: Compose, progress: Progress) -> None:
    """None of the stack's containers is there: each unit starts as soon as its image is built.
    A failed build takes down what had started, as if Compose had built every image before it
    started any: none of the stack's containers runs (the volumes it made are kept, data and
    all), and the error names the image."""
    try:
        with compose.building(progress) as images:
            compose.up(images)
    except BuildFailed as failed:
        try:
            compose.down(delete_data=False)
        except LocalRunError as err:
            raise BuildFailed(f"{failed}\n(and taking down the units that had started failed: {err})") from None
        raise


def print_urls(outputs: dict[str, Any], stack: str) -> None:
    """Where each product answers: a browser's URL, else the one inside the stack's network."""
    urls = {k.removesuffix("_url"): v for k, v in outputs.items() if k.endswith("_url") and isinstance(v, str)}
    print("Where each product answers:")
    for key, url in urls.items():
        if key.endswith("_internal"):
            product = key.removesuffix("_internal").removesuffix("_api")
            if product not in urls:
                print(f"  {product:16} {url}  (inside the stack's network only)")
        else:
            print(f"  {key:16} {url}")
    if "registry_password" in outputs:
        print(f"  registry login   maestro-deploy outputs {stack} --show-secrets (registry_username, registry_password)")


def _refuse_lost_passwords(stack: str, state: Path, daemon: Daemon) -> None:
    """No new passwords for a database that kept its data: it would refuse them, and the engine
    would answer 503 with nothing to say why. Said before anything is rendered or started."""
    from maestro_deploy.local import database_volumes
    from maestro_deploy.offline.compose import STATE_KEY, load_generated

    if load_generated(state, stack):
        return
    held = database_volumes(stack, daemon)
    if held:
        raise ConfigError([Problem(
            STATE_KEY,
            f"{state / f'{stack}.generated.json'} is missing, yet {', '.join(held)} holds a database initialised with the "
            f"password generated into it, which a new one cannot replace: put that file back (or point --state at it), "
            f"or remove the data first (maestro-deploy compose down {stack} --delete-data)",
        )])


def cmd_compose_down(args: argparse.Namespace) -> int:
    from maestro_deploy.local import daemon_of, leftovers

    loaded = _load(args)  # its maestro:docker.host: down where it was brought up
    name = loaded.name
    out = Path(args.out or f"out/{name}-compose")
    if not (out / "compose.yaml").is_file():
        raise ConfigError([Problem(str(out), "no compose.yaml here: nothing was brought up from this directory")])
    daemon = daemon_of(loaded.settings)
    Compose(name, out, daemon).down(delete_data=args.delete_data)
    left = leftovers(name, daemon)
    kept = "; data volumes kept (--delete-data removes them)" if not args.delete_data else ""
    print(f"{name}: down{kept}" + (f"; left: {left}" if left and args.delete_data else ""))
    return EXIT_FAILED if left and args.delete_data else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """What runs of a stack: a line per unit (Docker), or its objects and how to see them (Kubernetes)."""
    from maestro_deploy.status import docker_status, kubernetes_status

    loaded = _load(args)
    if loaded.settings.platform == "docker":
        return docker_status(loaded)
    return kubernetes_status(loaded)


def _docker_only(loaded: Loaded, command: str) -> None:
    if loaded.settings.platform != "docker":
        raise ConfigError([Problem("maestro:platform", f"`{command}` is for Docker stacks; see docs/operations.md for a cluster")])


def cmd_backup(args: argparse.Namespace) -> int:
    from maestro_deploy.local import daemon_of
    from maestro_deploy.operate.backup import PartFailed, take_backup

    loaded = _load(args)
    _docker_only(loaded, "backup")
    try:
        path = take_backup(loaded.name, Path(args.to), daemon_of(loaded.settings))
    except PartFailed as err:
        print(f"error: backup failed, nothing written: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{loaded.name}: backed up to")
    print(path)
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from maestro_deploy.local import daemon_of
    from maestro_deploy.operate.backup import PartFailed
    from maestro_deploy.operate.restore import restore

    loaded = _load(args)
    _docker_only(loaded, "restore")
    try:
        restore(loaded.name, Path(args.path), args.force, daemon_of(loaded.settings), print)
    except PartFailed as err:
        print(f"error: restore failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{loaded.name}: restored from {args.path}")
    return EXIT_OK


def cmd_logs(args: argparse.Namespace) -> int:
    from maestro_deploy.local import daemon_of
    from maestro_deploy.operate.logs import docker_logs, kubectl_logs, since_of

    loaded = _load(args)
    since = since_of(args.since)
    if loaded.settings.platform == "docker":
        return docker_logs(loaded.name, args.unit, args.follow, since, daemon_of(loaded.settings))
    k = loaded.settings.kubernetes
    print(kubectl_logs(k.namespace, loaded.name, args.unit, args.follow, since, k.context))
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from maestro_deploy.program.graph import mermaid

    loaded = _load(args)
    print(mermaid(loaded.name, run_loaded(loaded).outputs["wiring"]), end="")
    return EXIT_OK


def cmd_outputs(args: argparse.Namespace) -> int:
    """A stack's outputs as another stack's `--stack-outputs` file expects them."""
    from maestro_deploy.offline.compose import load_generated
    from maestro_deploy.offline.mock_run import GENERATED_SECRET, PROJECT

    loaded = _load(args)
    name = args.as_name or f"{DEFAULT_ORGANIZATION}/{PROJECT}/{loaded.name}"
    # Generated passwords as the last Compose export made them, where there was one.
    generated = load_generated(Path(args.state), loaded.name) or None
    run = run_loaded(loaded, generated=generated)
    if args.show_secrets:
        # Without an export, a generated value is the offline stand-in: shown, it would pass for the real one.
        missing = [k for k, v in run.outputs.items() if GENERATED_SECRET in json.dumps(v)]
        if missing:
            raise ConfigError(
                [
                    Problem(k, f"does not exist yet: it is generated when {loaded.name} is first brought up "
                            f"(maestro-deploy compose up {loaded.name}), and {args.state}/ holds no export of it")
                    for k in missing
                ]
            )
    print(json.dumps({name: run.shown_outputs(args.show_secrets)}, indent=2))
    return EXIT_OK


def ephemeral_config(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The throwaway stack's config, and the words its name is made of."""
    from urllib.parse import urlsplit

    from maestro_components.catalog import load_catalog
    from maestro_components.wiring import calls_of

    base = read_stack_config(resolve_stack_path(args.from_stack)[1]) if args.from_stack else {}
    given = base.get("maestro:components") or {}
    qf = {k: v for k, v in (given.get("quality-fabric") or {}).items() if k != "target"}
    components: dict[str, Any] = {}
    if args.api_base:
        # --api-base and --frontend-url give the URLs quality-fabric takes as those arguments,
        # under the settings the wiring table names for them (`quality-fabric.target.api_base` ...).
        given_urls = {"api_base": args.api_base, "frontend_url": args.frontend_url}
        for call in calls_of("quality-fabric"):
            if given_urls[call.arg]:
                section, field = call.setting.split(".")[1:]
                qf.setdefault(section, {})[field] = given_urls[call.arg]
        words = urlsplit(args.api_base).hostname or "target"
    else:
        known = set(load_catalog()) - {"quality-fabric"}
        for spec in args.deploy:
            product, _, version = spec.partition("@")
            if product not in known:
                raise ConfigError([Problem("--deploy", f"unknown product {product!r}; expected one of: {', '.join(sorted(known))}")])
            components[product] = {**(given.get(product) or {}), **({"version": version} if version else {})}
        for spec in args.image or []:
            product, _, image = spec.partition("=")
            if product not in components or not image:
                raise ConfigError([Problem("--image", f"expected PRODUCT=IMAGE for a product given with --deploy (got {spec!r})")])
            components[product]["image"] = image
        words = "-".join(components)
    if args.suites:
        qf["test_suites"] = [s for s in args.suites.split(",") if s]
    components["quality-fabric"] = qf
    config = {k: v for k, v in base.items() if k != "maestro:components"}
    config["maestro:components"] = components
    if args.driver == "docker":
        config = on_platform(config, "docker")
    return config, args.name or words


def default_owner() -> str:
    import getpass
    import re

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", user).strip("-._")[:63] or "unknown"


def make_driver(args: argparse.Namespace, docker_host: Optional[str] = None):
    """`docker_host`: a run's `maestro:docker.host`; the other commands find ephemeral stacks
    on the daemon DOCKER_HOST names, or the local one."""
    from maestro_deploy.ephemeral.drivers import DockerDriver, PulumiDriver

    if args.driver == "pulumi":
        return PulumiDriver(args.backend)
    return DockerDriver(daemon=Daemon(docker_host))


def cmd_ephemeral_run(args: argparse.Namespace) -> int:
    from maestro_deploy import ephemeral

    config, words = ephemeral_config(args)
    ttl = ephemeral.parse_ttl(args.ttl)
    # Checked before any stack exists: a config mistake creates nothing.
    checked = {**config, "maestro:ephemeral": {"owner": args.owner, "created": 0, "expires": ttl}}
    if checked.get("maestro:platform", "kubernetes") == "kubernetes":
        checked["maestro:kubernetes"] = {**(checked.get("maestro:kubernetes") or {}), "namespace": "qf-check"}
    check(checked, None)
    try:
        host = (config.get("maestro:docker") or {}).get("host")
        return ephemeral.run(make_driver(args, host), config, words, args.owner, ttl, Path(args.results))
    except ephemeral.Interrupted as err:  # before the run armed its own handling: nothing exists yet
        return err.exit_code


def cmd_ephemeral_list(args: argparse.Namespace) -> int:
    from maestro_deploy import ephemeral

    lines = ephemeral.listing(make_driver(args))
    print("\n".join(lines) if lines else "no ephemeral stacks")
    return EXIT_OK


def cmd_ephemeral_destroy(args: argparse.Namespace) -> int:
    from maestro_deploy import ephemeral

    return ephemeral.destroy(make_driver(args), args.name)


def cmd_ephemeral_reap(args: argparse.Namespace) -> int:
    from maestro_deploy import ephemeral

    return ephemeral.reap(make_driver(args), args.dry_run)


def cmd_schema(args: argparse.Namespace) -> int:
    from maestro_deploy.config.schema import stack_file_schema

    print(json.dumps(stack_file_schema(), indent=2))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    return _parser(default_owner())


# Built once per owner shown as `--owner`'s default: building it costs ~6 ms (argparse looks up
# a translation for every argument's strings), which the tests' thousands of calls paid each time.
@functools.cache
def _parser(owner: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maestro-deploy", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a stack's config; exit 2 with every error")
    check.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    check.set_defaults(func=cmd_check)
    stack_outputs = "offline values of referenced stacks' outputs: JSON {\"org/project/stack\": {\"engine_url\": ...}}"
    render = sub.add_parser("render", help="write what the stack registers (offline preview): every Kubernetes object, or a Docker stack's compose.yaml")
    render.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    render.add_argument("--out", required=True, help="directory for the YAML files (or compose.yaml)")
    render.add_argument(
        "--platform",
        choices=["kubernetes", "docker"],
        help="render the stack for this platform instead of its own; docker writes DIR/compose.yaml",
    )
    render.add_argument(
        "--state",
        default=str(STATE_DIR),
        help="where generated passwords are kept between renders (default: %(default)s)",
    )
    render.add_argument(
        "--without-secrets",
        action="store_true",
        help="for GitOps: no Secret object; those to supply are listed in DIR/expected-secrets.yaml (docs/recipes.md)",
    )
    render.set_defaults(func=cmd_render)
    graph = sub.add_parser("graph", help="print a Mermaid diagram of the stack's products and wiring")
    graph.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    graph.set_defaults(func=cmd_graph)
    compose = sub.add_parser("compose", help="run a stack on the local Docker engine through its Compose export")
    compose_sub = compose.add_subparsers(dest="action", required=True)
    up = compose_sub.add_parser("up", help="render for Docker, start, wait until healthy, print the URLs")
    down = compose_sub.add_parser("down", help="stop and remove the containers and network")
    down.add_argument("--delete-data", action="store_true", help="remove the stack's named volumes too")
    for command, func in ((up, cmd_compose_up), (down, cmd_compose_down)):
        command.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
        command.add_argument("--out", help="the Compose export's directory (default: out/<stack>-compose)")
        command.set_defaults(func=func)
    up.add_argument("--state", default=str(STATE_DIR), help="where generated passwords are kept")
    for command in (check, render, graph, up):
        command.add_argument("--stack-outputs", metavar="FILE", help=stack_outputs)
    backup = sub.add_parser("backup", help="back up a running Docker stack's database and data volumes; prints the backup's path last")
    backup.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    backup.add_argument("--to", default="backups", help="the directory the backup goes into (default: %(default)s)")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into a running Docker stack (every sha256 checked first)")
    restore.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    restore.add_argument("path", help="the backup's directory, as `backup` printed it")
    restore.add_argument("--force", action="store_true", help="restore another stack's backup into this one")
    restore.set_defaults(func=cmd_restore)
    logs = sub.add_parser("logs", help="a stack's logs by unit (Docker); the kubectl logs command (Kubernetes)")
    logs.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    logs.add_argument("unit", nargs="?", help="one unit (engine, engine-db, ...); omitted: every unit, each line prefixed")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    logs.add_argument("--since", metavar="D", help="only lines newer than this duration: 30s, 10m, 1h30m")
    logs.set_defaults(func=cmd_logs)
    status = sub.add_parser("status", help="what runs of a stack: a line per unit and its health (exit 0 all healthy, 1 not, 2 not running)")
    status.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    status.set_defaults(func=cmd_status)
    outputs = sub.add_parser("outputs", help="print a stack's outputs in the --stack-outputs format (offline chaining)")
    outputs.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    outputs.add_argument("--as", dest="as_name", metavar="NAME", help="its full name (default: organization/maestro/<stack>)")
    outputs.add_argument("--stack-outputs", metavar="FILE", help=stack_outputs)
    outputs.add_argument("--show-secrets", action="store_true", help="print secret outputs' values (masked otherwise)")
    outputs.add_argument("--state", default=str(STATE_DIR), help="where generated passwords are kept (default: %(default)s)")
    outputs.set_defaults(func=cmd_outputs)
    eph = sub.add_parser("ephemeral", help="throwaway quality-fabric test stacks that never leak")
    eph_sub = eph.add_subparsers(dest="action", required=True)
    run = eph_sub.add_parser("run", help="deploy a throwaway stack, run the suites, report, tear down")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("--api-base", help="test this external API base")
    target.add_argument("--deploy", action="append", metavar="PRODUCT[@VERSION]", help="deploy this product as the target (repeat)")
    run.add_argument("--frontend-url", help="with --api-base: the external frontend to test")
    run.add_argument(
        "--image", action="append", metavar="PRODUCT=IMAGE", help="a deployed product's image: a candidate build (repeat)"
    )
    run.add_argument("--from", dest="from_stack", metavar="STACK", help="take product settings (images, env) from this stack")
    run.add_argument("--suites", help="comma-separated test suites (default: the catalog's)")
    run.add_argument("--ttl", default="2h", help="expiry for the reaper (default: %(default)s)")
    run.add_argument("--owner", default=owner, help="the owner tag (default: %(default)s)")
    run.add_argument("--name", help="words for the stack's name (default: the target)")
    run.add_argument(
        "--results", default="out/ephemeral-results", help="where JUnit XML and the stack's name go (default: %(default)s)"
    )
    run.set_defaults(func=cmd_ephemeral_run)
    listed = eph_sub.add_parser("list", help="live ephemeral stacks with their age and expiry")
    listed.set_defaults(func=cmd_ephemeral_list)
    reaper = eph_sub.add_parser("reap", help="destroy and remove every expired ephemeral stack")
    reaper.add_argument("--dry-run", action="store_true", help="print what it would destroy")
    reaper.set_defaults(func=cmd_ephemeral_reap)
    destroyer = eph_sub.add_parser("destroy", help="destroy and remove one ephemeral stack now, before it expires")
    destroyer.add_argument("name", help="the stack's name, as `ephemeral list` shows it")
    destroyer.set_defaults(func=cmd_ephemeral_destroy)
    for command in (run, listed, reaper, destroyer):
        command.add_argument("--driver", choices=["docker", "pulumi"], default="docker", help="default: %(default)s")
        command.add_argument("--backend", help="with --driver pulumi: the state backend URL (default: file://.pulumi-state)")
    schema = sub.add_parser("schema", help="print the JSON Schema of stack files")
    schema.set_defaults(func=cmd_schema)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    # Whatever it prints passes the redaction set; only secrets asked for are shown.
    with redacted_output(reveal_results=getattr(args, "show_secrets", False)):
        try:
            return args.func(args)
        except ConfigError as err:
            for problem in err.problems:
                print(f"error: {problem}", file=sys.stderr)
            for line in err.skipped:
                print(f"note: {line}", file=sys.stderr)
            return EXIT_INVALID
        except (LocalRunError, DriverError) as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_INFRASTRUCTURE
        except BrokenPipeError:
            # The reader went away (`outputs | head`): nothing more to say to it.
            silence_stdout()
            return EXIT_OK
        except Exception:  # a bug: its traceback, through the redaction set like every line
            traceback.print_exc()
            return EXIT_BUG


if __name__ == "__main__":
    from maestro_deploy.entry import run

    run()
