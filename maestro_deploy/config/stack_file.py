"""Reading a Pulumi stack file (`stacks/Pulumi.<stack>.yaml`) the way the CLI does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

from maestro_components.catalog import SafeLoader

from maestro_deploy.config.errors import ConfigError, Problem


def project_root(start: Optional[Path] = None) -> Path:
    """The Pulumi project this runs in: the nearest directory up from the working directory
    that holds a Pulumi.yaml (Pulumi runs a program there), else the working directory."""
    here = (start or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if (d / "Pulumi.yaml").is_file()), here)


PROJECT_ROOT = project_root()
STACKS_DIR = PROJECT_ROOT / "stacks"


class _UniqueKeyLoader(SafeLoader):
    """PyYAML keeps the last of two equal keys; a stack file must not, or a
    second `engine:` silently replaces the first. Scalars that look like dates stay
    strings, as the Pulumi CLI reads them (a provider's config may hold one)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in SafeLoader.yaml_implicit_resolvers.items()
    }


# What a stack file may hold once its YAML aliases are expanded: anything beyond is an alias
# bomb or a recursive alias, which would hang or crash whatever walks it next.
MAX_DEPTH = 32
MAX_VALUES = 20_000
# What its YAML may hold before aliases are expanded, in parser events (a key, a value, the start
# and end of a map or list): counted as the parser streams them, before any document is built,
# so that 16 MiB of `[1,1,1,...]` costs a moment and not gigabytes.
MAX_EVENTS = 4 * MAX_VALUES


def _too_many_events(text: str) -> bool:
    try:
        for count, _ in enumerate(yaml.parse(text, Loader=_UniqueKeyLoader)):
            if count > MAX_EVENTS:
                return True
    except yaml.YAMLError:
        pass  # said, with its line, when the document is loaded
    return False


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults`: merged below, its keys overridden by the mapping's own
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or a mapping", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_int(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> int:
    # Python refuses to print an integer of more than 4300 digits: nothing later could say it.
    if len(node.value) > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(None, None, f"an integer of {len(node.value)} digits", node.start_mark)
    return SafeLoader.construct_yaml_int(loader, node)


def _refuse_tag(loader: _UniqueKeyLoader, node: yaml.Node) -> Any:
    # Bytes and dates are values no key takes, and a check reading strings would skip them.
    raise yaml.constructor.ConstructorError(
        None, None, f"a {node.tag.rsplit(':', 1)[-1]} value (a YAML tag); write it as a plain, quoted string", node.start_mark
    )


MAX_DIGITS = 100
_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    _UniqueKeyLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def _too_big(document: Any) -> bool:
    """Walks the document as every later step will, aliases expanded, but stops at the bounds:
    a billion laughs or a value that contains itself is caught in a few thousand steps."""
    budget = MAX_VALUES
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0 or depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def resolve_stack_path(stack: str) -> tuple[str, Path]:
    """`stack` is a stack name in stacks/ or a path to a stack file: (name, path)."""
    path = Path(stack)
    try:
        exists = path.exists()
    except OSError:  # a name the filesystem refuses (too long): not a file, so a stack name
        exists = False
    if path.suffix in (".yaml", ".yml") or exists:
        name = path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
        return name, path
    return stack, STACKS_DIR / f"Pulumi.{stack}.yaml"


def read_stack_config(path: Path) -> dict[str, Any]:
    """The `config:` map of a stack file, keys as written (`maestro:components`)."""
    from maestro_deploy.safety.files import read_user_file

    where = str(path)
    try:
        text = read_user_file(path, "stack file").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem(where, "not UTF-8 text")]) from None
    if _too_many_events(text):
        raise ConfigError([Problem(where, f"too large: more than {MAX_EVENTS} keys, values, maps and lists")])
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise ConfigError([Problem(where, "not UTF-8 text")]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        reason = (getattr(err, "problem", None) or str(err)).splitlines()[0]  # one line per problem
        raise ConfigError([Problem(f"{where}{line}", f"not valid YAML: {reason}")]) from None
    except RecursionError:
        raise ConfigError([Problem(where, "nested too deeply (a recursive YAML alias?)")]) from None
    if _too_big(document):
        raise ConfigError(
            [Problem(where, f"too large once YAML aliases are expanded (at most {MAX_DEPTH} levels and {MAX_VALUES} values)")]
        )
    if document is None:
        raise ConfigError([Problem(where, "the file is empty; expected a mapping with a `config:` key")])
    if not isinstance(document, dict):
        raise ConfigError([Problem(where, "expected a mapping with a `config:` key")])
    config = document.get("config")
    if config is None and any(":" in str(key) for key in document):
        keys = ", ".join(str(k) for k in document if ":" in str(k))
        raise ConfigError([Problem(where, f"the settings ({keys}) must sit under a top-level `config:` key, as Pulumi reads a stack file")])
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError([Problem("config", "expected a mapping of config keys")])
    return config
