"""The published JSON Schema (config/stack-config.schema.json) agrees with `check`: a stack that
`check` accepts is schema-valid, an encrypted `{secure: ...}` value is allowed exactly at the
keys that take a secret, and anywhere else both refuse it."""

import json

import jsonschema
import pytest
import yaml
from conftest import ROOT

from maestro_deploy import cli
from maestro_deploy.config.errors import ConfigError
from maestro_deploy.config.secure_values import SECRET_PATHS
from maestro_deploy.config.validation import parse_settings

SCHEMA = json.loads((ROOT / "config/stack-config.schema.json").read_text())
ENCRYPTED = {"secure": "v1:Z0FBQUFBQm1ZWJLZ0FBQUFBQm1ZWJL"}
STACK_FILES = sorted(
    [*(ROOT / "stacks").glob("Pulumi.*.yaml"), *(ROOT / "tests/fixtures").glob("Pulumi.*.yaml"), *(ROOT / "tests/corpus").glob("*.yaml")]
)
STACK_OUTPUTS = str(ROOT / "tests/corpus/stack-outputs.json")
WITH_SECRETS = ROOT / "tests/fixtures/Pulumi.with-secrets.yaml"


def schema_errors(document) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(document)]


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_stack_that_check_accepts_is_schema_valid(path, capsys):
    if cli.main(["check", str(path), "--stack-outputs", STACK_OUTPUTS]) != 0:
        pytest.skip("check refuses it")  # the schema cannot express every cross-check
    capsys.readouterr()
    assert schema_errors(yaml.safe_load(path.read_text())) == []


def test_the_shipped_and_fixture_stacks_are_accepted_in_number():
    """The parametrized test above skips what check refuses: enough must be left to mean something."""
    accepted = [p for p in STACK_FILES if cli.main(["check", str(p), "--stack-outputs", STACK_OUTPUTS]) == 0]
    assert WITH_SECRETS in accepted and len(accepted) >= 8


def test_each_secret_key_takes_the_encrypted_form():
    document = yaml.safe_load(WITH_SECRETS.read_text())
    config = document["config"]
    encrypted = {
        path
        for path in SECRET_PATHS
        if _get(config, path) == {"secure": _get(config, path).get("secure")} and _get(config, path)["secure"].startswith("v1:")
    }
    assert encrypted == set(SECRET_PATHS)
    assert schema_errors(document) == []


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif not isinstance(value, list):
        yield path


def _get(config, path: str):
    first, *rest = path.split(".")
    value = config[f"maestro:{first}"]
    for part in rest:
        value = value[part]
    return value


def _with(config, keys: tuple, value):
    copy = json.loads(json.dumps(config))
    node = copy
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return copy


PLAIN_LEAVES = [
    keys
    for keys in _leaves(yaml.safe_load(WITH_SECRETS.read_text())["config"])
    if ".".join(keys).removeprefix("maestro:") not in SECRET_PATHS
]


@pytest.mark.parametrize("keys", PLAIN_LEAVES, ids=lambda k: ".".join(k))
def test_an_encrypted_value_anywhere_else_is_refused_by_both(keys):
    config = _with(yaml.safe_load(WITH_SECRETS.read_text())["config"], keys, ENCRYPTED)
    assert schema_errors({"config": config}), f"the schema takes {{secure: ...}} at {'.'.join(keys)}"
    with pytest.raises(ConfigError):
        parse_settings(config)


def test_the_leaves_cover_every_kind_of_key():
    assert len(PLAIN_LEAVES) >= 6 and ("maestro:kubernetes", "tls", "certificate") in PLAIN_LEAVES
