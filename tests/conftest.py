import ast
import functools
import gc
import os
import sys
from pathlib import Path

import kubernetes_validate.utils
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import render_cache  # noqa: E402  (tests/ is on the path only now)

render_cache.install()

# kubernetes-validate reads and parses its 1 MB schema definitions again for every object it
# validates: the same files, read once per process.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)

def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse` with the collector off. On CPython 3.11, a collection during the parse can run a
    finalizer that formats a traceback (an asyncio future's unretrieved error, left by an earlier
    evaluation), which parses again and clobbers the first parse's shared recursion counter:
    "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename)
    finally:
        if enabled:
            gc.enable()


STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def _platform(stack: str) -> str:
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config.get("maestro:platform", "kubernetes")


KUBERNETES_STACKS = [s for s in STACKS if _platform(s) == "kubernetes"]
DOCKER_STACKS = [s for s in STACKS if _platform(s) == "docker"]


@pytest.fixture(scope="session")
def stack_outputs_file(tmp_path_factory):
    """The --stack-outputs file that stacks referring to engine-only need offline."""
    import json

    from harness import chained_outputs

    path = tmp_path_factory.mktemp("outputs") / "stack-outputs.json"
    path.write_text(json.dumps(chained_outputs()))
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def renders_shared_by_the_workers(tmp_path_factory):
    """Under pytest-xdist, each worker's base temporary directory is in the run's own one."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        render_cache.share(tmp_path_factory.getbasetemp().parent / "renders")


@pytest.fixture
def fresh_evaluations(monkeypatch):
    """Every run of the program in this test really runs: for tests that compare two runs."""
    monkeypatch.setattr(render_cache, "bypass", True)


@pytest.fixture
def nothing_registered(monkeypatch):
    """Fail the test if the program is ever evaluated: bad input registers nothing."""
    # Imported before patching: a first import would bind the patch for good.
    import maestro_deploy.offline.render as render
    from maestro_deploy.offline import mock_run

    def refuse(*args, **kwargs):
        raise AssertionError("the program ran despite invalid config")

    monkeypatch.setattr(mock_run, "run_program", refuse)
    monkeypatch.setattr(render, "run_program", refuse)
