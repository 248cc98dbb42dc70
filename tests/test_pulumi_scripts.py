"""scripts/up and scripts/down with the Pulumi CLI, as docs/pulumi.md describes: a file backend,
a passphrase generated once and kept owner-only (never empty), the stack selected or created,
and every Docker command on the stack's own daemon. There is no Pulumi CLI on this project's
machines: a stand-in `pulumi` on PATH records what it is given."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

from maestro_deploy.config.secure_values import SECRET_PATHS

HOST = "ssh://deploy@vm.example.com"
RECORDER = """\
#!{python}
import json, os, sys
from pathlib import Path
keys = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "DOCKER_HOST")
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": [Path(sys.argv[0]).name, *sys.argv[1:]], "env": {{k: os.environ.get(k) for k in keys}}}}) + "\\n")
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch copy of the project (its scripts, stacks and venv), so that .pulumi-state/
    is made there, and stand-ins for `pulumi` and Docker's commands on PATH."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("scripts", "stacks"):
        shutil.copytree(ROOT / name, copy / name)
    for name in ("Pulumi.yaml", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, copy / name)
    for name in (".venv", "reference", "images"):  # the venv, and the build contexts dev names
        (copy / name).symlink_to(ROOT / name)
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in ("pulumi", "docker", "dockerd", "docker-compose"):
        path = bin_dir / name
        path.write_text(RECORDER.format(python=sys.executable, log=str(log)))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)

    def run(script: str, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, list[dict]]:
        done = subprocess.run([str(copy / "scripts" / script), *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        return done, calls

    return copy, run


def pulumi_calls(calls: list[dict]) -> list[dict]:
    return [c for c in calls if c["argv"][0] == "pulumi"]


def test_up_generates_an_owner_only_passphrase_once_and_pulumi_reads_it(project):
    copy, run = project
    done, calls = run("up", "staging")
    assert done.returncode == 0, done.stderr
    passphrase = copy / ".pulumi-state/passphrase"
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert len(passphrase.read_text().strip()) >= 40  # 32 random bytes, base64
    assert "generated the stacks' passphrase" in done.stderr
    pulumi = pulumi_calls(calls)
    assert [c["argv"][1:] for c in pulumi] == [["stack", "select", "--create", "staging"], ["up", "--yes", "--stack", "staging"]]
    for call in pulumi:
        assert call["env"] == {
            "PULUMI_BACKEND_URL": f"file://{copy}/.pulumi-state",
            "PULUMI_CONFIG_PASSPHRASE": None,  # never an empty one beside the file
            "PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase),
            "DOCKER_HOST": None,
        }
    first = passphrase.read_text()
    done, calls = run("down", "staging")
    assert done.returncode == 0, done.stderr
    assert passphrase.read_text() == first and "generated" not in done.stderr
    assert [c["argv"][1:] for c in pulumi_calls(calls)] == [["destroy", "--yes", "--stack", "staging", "--exclude-protected"]]
    assert pulumi_calls(calls)[0]["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(passphrase)


def test_an_empty_passphrase_is_refused_and_a_given_one_is_taken(project):
    """As the Pulumi driver does (maestro_deploy/pulumi_passphrase.py): an empty one would encrypt with nothing."""
    copy, run = project
    done, calls = run("up", "staging", env={"PULUMI_CONFIG_PASSPHRASE": ""})
    assert done.returncode == 2 and "PULUMI_CONFIG_PASSPHRASE: is set but empty" in done.stderr, done.stderr
    assert not pulumi_calls(calls) and not (copy / ".pulumi-state/passphrase").exists()
    _, calls = run("up", "staging", env={"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/pulumi", "PULUMI_BACKEND_URL": "s3://team/state"})
    assert {(c["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"], c["env"]["PULUMI_BACKEND_URL"]) for c in pulumi_calls(calls)} == {("/run/secrets/pulumi", "s3://team/state")}


def test_a_passphrase_file_made_readable_by_others_is_made_owner_only_again(project):
    copy, run = project
    run("up", "staging")
    passphrase = copy / ".pulumi-state/passphrase"
    passphrase.chmod(0o644)
    run("up", "staging")
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600


def test_up_and_down_drive_the_stack_s_docker_daemon(project):
    copy, run = project
    dev = yaml.safe_load((copy / "stacks/Pulumi.dev.yaml").read_text())
    dev["config"]["maestro:docker"] = {"host": HOST}
    (copy / "stacks/Pulumi.remote.yaml").write_text(yaml.safe_dump(dev))
    done, calls = run("up", "remote")
    assert done.returncode == 0, done.stderr
    assert any(c["argv"][:3] == ["docker", "image", "inspect"] for c in calls)  # the base image, on that daemon
    assert calls and {c["env"]["DOCKER_HOST"] for c in calls} == {HOST}
    done, calls = run("down", "remote", "--delete-data")
    assert done.returncode == 0, done.stderr
    assert any(c["argv"][:2] == ["docker", "volume"] for c in calls) and {c["env"]["DOCKER_HOST"] for c in calls} == {HOST}


def test_docs_pulumi_md_sets_each_secret_the_config_takes():
    doc = (ROOT / "docs/pulumi.md").read_text()
    documented = set(re.findall(r"pulumi config set --secret --path 'maestro:([^']+)'", doc))
    assert documented == set(SECRET_PATHS)
