"""Deployed stacks are never replaced by a refactoring: every resource of every shipped stack,
on its platform and on the other, keeps the URN recorded in tests/fixtures/urns.json (taken
before the components became a library of their own). A rename must come with an alias, and
then this record changes with it. One change is on purpose: frontend-on-remote-engine moved
out of the namespace it shared with frontend-custom-backend (the two overwrote each other), so
its Namespace, named after it, is acme-dashboard."""

import json
import os

import pytest
from conftest import ROOT
from harness import REFERENCED_AS, render_env, stack_env

from maestro_deploy.offline.stack import on_platform
from maestro_deploy.config.stack_file import read_stack_config

RECORDED = json.loads((ROOT / "tests/fixtures/urns.json").read_text())
FILES = {os.path.basename(f)[len("Pulumi.") : -len(".yaml")]: f for f in [*map(str, (ROOT / "stacks").glob("Pulumi.*.yaml")), str(ROOT / "tests/fixtures/Pulumi.someone-else.yaml")]}


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_every_urn_is_as_recorded(key):
    name, _, platform = key.partition("@")
    config = read_stack_config(__import__("pathlib").Path(FILES[name]))
    if platform:
        config = on_platform(config, platform)
    run = render_env(config, name, stack_outputs={REFERENCED_AS: stack_env("engine-only").outputs}).run
    current = {r.urn for r in run.registered}
    # Added resources replace nothing; one missing from the record would be destroyed and created anew.
    assert set(RECORDED[key]) <= current, sorted(set(RECORDED[key]) - current)
