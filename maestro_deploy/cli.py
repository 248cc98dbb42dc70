"""`maestro-deploy`: check, render and describe stacks without the Pulumi CLI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from .errors import ConfigError
from .stack_file import read_stack_config, resolve_stack_path
from .validation import parse_settings, products, warnings

EXIT_INVALID = 2
STATE_DIR = Path(".maestro-state")


def _load(stack: str) -> tuple[str, dict[str, Any]]:
    name, path = resolve_stack_path(stack)
    config = read_stack_config(path)
    for warning in warnings(parse_settings(config)):
        print(f"warning: {warning}", file=sys.stderr)
    return name, config


def cmd_check(args: argparse.Namespace) -> int:
    name, config = _load(args.stack)
    settings = parse_settings(config)
    keys = [key for _, key, _ in products(settings)]
    print(f"{name}: valid ({settings.platform}; {', '.join(keys) or 'no products'})")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .render import manifests, run_stack, write_manifests

    name, config = _load(args.stack)
    if args.platform:
        config = on_platform(config, args.platform)
        parse_settings(config)
    if (args.platform or parse_settings(config).platform) == "docker":
        return render_compose(name, config, Path(args.out), Path(args.state))
    written = write_manifests(manifests(run_stack(name, config)), Path(args.out))
    print(f"{name}: wrote {len(written)} Kubernetes objects to {args.out}")
    return 0


def on_platform(config: dict[str, Any], platform: str) -> dict[str, Any]:
    """The same stack on another platform: only the platform's own keys change."""
    moved = {k: v for k, v in config.items() if k not in ("maestro:kubernetes", "maestro:docker")}
    moved["maestro:platform"] = platform
    if platform == "kubernetes" and "maestro:kubernetes" in config:
        moved["maestro:kubernetes"] = config["maestro:kubernetes"]
    if platform == "docker" and "maestro:docker" in config:
        moved["maestro:docker"] = config["maestro:docker"]
    return moved


def render_compose(name: str, config: dict[str, Any], out: Path, state: Path) -> int:
    from .compose import compose_export, load_generated, save_generated, write_export
    from .render import run_stack

    store = state / f"{name}.generated.json"
    generated = load_generated(store)
    export = compose_export(run_stack(name, config, generated=generated))
    save_generated(store, generated)
    compose = write_export(export, out)
    print(f"{name}: wrote {compose} ({len(export.compose['services'])} services); up: docker-compose -p maestro-{name} -f {compose} up -d")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from .graph import mermaid
    from .render import run_stack

    name, config = _load(args.stack)
    print(mermaid(name, run_stack(name, config).outputs["wiring"]), end="")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import stack_file_schema

    print(json.dumps(stack_file_schema(), indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="maestro-deploy", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a stack's config; exit 2 with every error")
    check.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    check.set_defaults(func=cmd_check)
    render = sub.add_parser("render", help="write every Kubernetes object the stack registers (offline preview)")
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
    render.set_defaults(func=cmd_render)
    graph = sub.add_parser("graph", help="print a Mermaid diagram of the stack's products and wiring")
    graph.add_argument("stack", help="a stack name in stacks/ or a path to a stack file")
    graph.set_defaults(func=cmd_graph)
    schema = sub.add_parser("schema", help="print the JSON Schema of stack files")
    schema.set_defaults(func=cmd_schema)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
