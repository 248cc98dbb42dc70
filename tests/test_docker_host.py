"""`maestro:docker.host` is where every Docker command of the stack goes: Compose up and down,
`status`, an ephemeral run from first listing to teardown. A fake `docker` and `docker-compose`
on PATH record the DOCKER_HOST each was called with, while the environment points elsewhere."""

import ast
import json
import os
import stat
import sys

import pytest
import yaml
from conftest import ROOT, parse_python

from maestro_deploy import cli

HOST = "ssh://deploy@vm.example.com"
ELSEWHERE = "unix:///var/run/not-this-one.sock"

# Answers what the tool asks, as a daemon with the stack's containers healthy (or, after `down`
# or `rm`, gone) would; records each call's DOCKER_HOST and arguments.
FAKE = """\
#!{python}
import json, os, sys
from pathlib import Path
state = Path({state!r})
with open(state / "calls.jsonl", "a") as log:
    log.write(json.dumps([os.environ.get("DOCKER_HOST"), Path(sys.argv[0]).name, *sys.argv[1:]]) + "\\n")
args, gone = sys.argv[1:], (state / "gone").exists()
if Path(sys.argv[0]).name == "docker-compose":
    if "down" in args:
        (state / "gone").touch()
elif args[:2] == ["compose", "version"]:
    sys.exit(1)  # a machine with Compose v1 only: `docker-compose` is what runs
elif args[:1] == ["rm"]:
    (state / "gone").touch()
elif args[:2] == ["inspect", "-f"] and args[2].startswith("{{{{.Name}}}} {{{{json .State}}}}"):
    for n in args[3:]:
        print("/" + n, json.dumps({{"Status": "running", "Health": {{"Status": "healthy"}}}}))
elif args[:3] == ["inspect", "-f", "{{{{.Name}}}} {{{{.Id}}}}"]:
    for n in args[3:]:
        print("/" + n, "sha256:1")
elif args[:2] == ["inspect", "-f"]:
    print({{"{{{{json .State}}}}": json.dumps({{"Status": "running", "Health": {{"Status": "healthy"}}}}),
           "{{{{.State.Status}}}}": "exited", "{{{{.State.ExitCode}}}}": "0"}}.get(args[2], "sha256:1"))
elif args[:1] == ["inspect"]:
    print(json.dumps([{{"Name": "/" + n, "State": {{"Status": "running", "Health": {{"Status": "healthy"}}, "StartedAt": ""}},
                       "Config": {{"Labels": {{"maestro.product": "registry"}}, "Image": "pypiserver"}}, "HostConfig": {{}}}}
                      for n in args[1:]]))
elif args[:1] == ["logs"]:
    print("::junit-xml-begin::<testsuite name='t' tests='1' failures='0'><testcase name='x'/></testsuite>::junit-xml-end::")
elif args[:1] == ["ps"] and not gone and "maestro.dev/ephemeral=true" not in " ".join(args):
    print("maestro-remote-registry")
"""


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name in ("docker", "docker-compose"):
        path = bin_dir / name
        path.write_text(FAKE.format(python=sys.executable, state=str(state)))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", ELSEWHERE)

    def calls() -> list[list[str]]:
        log = state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls


@pytest.fixture
def remote_stack(tmp_path):
    path = tmp_path / "Pulumi.remote.yaml"
    config = {
        "maestro:platform": "docker",
        "maestro:docker": {"host": HOST},
        "maestro:components": {"registry": {}, "quality-fabric": {"target": {"api_base": "https://api.example.com/api"}, "test_suites": ["unit"]}},
    }
    path.write_text(yaml.safe_dump({"config": config}))
    return str(path)


def test_compose_up_status_and_down_all_go_to_the_stack_s_daemon(fake_docker, remote_stack, tmp_path, capsys):
    out, state = str(tmp_path / "out"), str(tmp_path / "state-dir")
    assert cli.main(["compose", "up", remote_stack, "--out", out, "--state", state]) == 0
    assert f"on {HOST}" in capsys.readouterr().out
    assert cli.main(["status", remote_stack]) == 0
    assert cli.main(["compose", "down", remote_stack, "--out", out, "--delete-data"]) == 0
    calls = fake_docker()
    commands = {tuple(c[1:3]) for c in calls}
    assert {("docker-compose", "-p"), ("docker", "inspect"), ("docker", "ps")} <= commands
    assert {c[0] for c in calls} == {HOST}, [c for c in calls if c[0] != HOST]


def test_an_ephemeral_run_goes_to_the_daemon_its_stack_names(fake_docker, remote_stack, tmp_path):
    results = str(tmp_path / "results")
    assert cli.main(["ephemeral", "run", "--from", remote_stack, "--api-base", "https://api.example.com/api", "--suites", "unit", "--results", results]) == 0
    calls = fake_docker()
    assert any(c[1:3] == ["docker-compose", "-p"] for c in calls) and any(c[1:3] == ["docker", "rm"] for c in calls)
    assert {c[0] for c in calls} == {HOST}, [c for c in calls if c[0] != HOST]


def test_without_a_host_the_environment_s_daemon_is_used(fake_docker, tmp_path):
    """The documented default: DOCKER_HOST, else the local daemon."""
    assert cli.main(["ephemeral", "list"]) == 0
    assert {c[0] for c in fake_docker()} == {ELSEWHERE}


def test_render_says_where_compose_must_run(remote_stack, tmp_path, capsys):
    assert cli.main(["render", remote_stack, "--out", str(tmp_path / "out"), "--state", str(tmp_path / "s")]) == 0
    assert f"up: DOCKER_HOST={HOST} docker compose -p maestro-remote" in capsys.readouterr().out


def direct_docker_calls(source: str) -> list[int]:
    """Lines that start `docker` or `docker-compose` with subprocess themselves."""
    found = []
    for node in ast.walk(parse_python(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", None) == "subprocess":
            command = node.args[0] if node.args and isinstance(node.args[0], ast.List) and node.args[0].elts else None
            first = command.elts[0] if command else None
            if isinstance(first, ast.Constant) and first.value in ("docker", "docker-compose"):
                found.append(node.lineno)
    return found


def test_only_the_runner_starts_docker():
    """One place runs `docker` and `docker-compose` (maestro_deploy/local's `_run`, reached
    through `Daemon.run`): a subprocess call elsewhere could miss the stack's daemon."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "maestro_deploy").rglob("*.py"))
        for line in direct_docker_calls(path.read_text())
    ]
    assert not wrong, f"docker started outside maestro_deploy/local's runner: {wrong}"


def test_the_scan_sees_a_direct_call():
    assert direct_docker_calls('import subprocess\nsubprocess.run(["docker", "ps"])\n') == [2]
    assert direct_docker_calls('import subprocess\nsubprocess.run(["kubectl", "get"])\n') == []
